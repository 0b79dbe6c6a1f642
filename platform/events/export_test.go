package events

// MarkDoneSQL is markDoneSQL, for the plan test.
const MarkDoneSQL = markDoneSQL
