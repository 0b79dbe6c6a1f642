package domain

import (
	"context"
	"time"
)

// Record is one consumed event as the journal keeps it. The payload is the
// event as published, opaque here: a Decoder gives it its meaning, so the
// journal can be replayed into figures that did not exist when it was
// written.
type Record struct {
	EventID    string
	Type       string
	OrderID    string // the decoded fact's order
	OccurredAt time.Time
	Payload    []byte
	Seq        int64 // the journal's handling order; set by the journal
}

// Decoder turns a journal record into its fact. It returns KindInvalid for
// a malformed event and an error for a type it does not know.
type Decoder func(Record) (Fact, error)

// DayFilter selects the day rows of a report.
type DayFilter struct {
	From, To time.Time // inclusive, midnight UTC
	Currency string    // empty: every currency
}

// TopFilter selects the best-selling products.
type TopFilter struct {
	Limit    int
	Currency string // empty: every currency
}

// Repository is the storage the Service needs. Methods wrap storage
// failures as KindInternal.
type Repository interface {
	// InTx runs fn in one transaction; fn's error rolls it back.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Days returns the day rows in f with sales (orders > 0), by day, then
	// currency.
	Days(ctx context.Context, f DayFilter) ([]DayRow, error)
	// TopProducts returns up to f.Limit product rows with sales (orders > 0),
	// by revenue descending, then units descending, then product id.
	TopProducts(ctx context.Context, f TopFilter) ([]ProductRow, error)
}

// Tx is the journal and the figures inside one transaction: an event
// handler's, or a rebuild's.
type Tx interface {
	// Lock takes the journal's write lock until the transaction ends. Event
	// handlers and rebuilds all take it first, so they never interleave
	// (and journal order is handling order).
	Lock(ctx context.Context) error
	// Append journals rec and returns its seq; added is false (and nothing
	// is written) when the event is journalled already.
	Append(ctx context.Context, rec Record) (seq int64, added bool, err error)
	// History returns the order's records journalled before seq, in seq
	// order.
	History(ctx context.Context, orderID string, before int64) ([]Record, error)
	// Apply adds a change to the stored figures.
	Apply(ctx context.Context, d Delta) error
	// Replay calls fn with every journal record, by order id and then seq,
	// and returns how many there were.
	Replay(ctx context.Context, fn func(Record) error) (int, error)
	// Replace deletes every figure and stores p's instead.
	Replace(ctx context.Context, p *Projection) error
}
