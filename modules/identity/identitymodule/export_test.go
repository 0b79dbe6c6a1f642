package identitymodule

// NewWithClock is New with a replaceable clock, for tests of expiry and
// rate-limit windows.
var NewWithClock = newModule
