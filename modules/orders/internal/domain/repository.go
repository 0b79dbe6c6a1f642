package domain

import (
	"context"
	"time"
)

// Fact is something that happened to an order which other modules hear
// about: the module root turns each into the public event of its kind.
type Fact struct {
	Kind  string // one of the Fact* constants
	Order *Order
	At    time.Time
}

// Fact kinds.
const (
	FactPlaced        = "placed"
	FactStockReserved = "stock_reserved"
	FactConfirmed     = "confirmed"
	FactRejected      = "rejected"
	FactFailed        = "failed"
	FactCancelled     = "cancelled"
	FactShipped       = "shipped"
)

// Filter selects a page of orders, newest first.
type Filter struct {
	UserID string
	Status string
	Before *Cursor // exclusive; nil: from the newest
	Limit  int
}

// Cursor is a position in the newest-first order.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Repository is the storage of orders, working inside one transaction when
// it was made for one. Storage failures are KindInternal.
type Repository interface {
	// Idempotent returns the order and request hash recorded for a
	// customer's idempotency key; found is false when there is none.
	Idempotent(ctx context.Context, userID, key string) (orderID, requestHash string, found bool, err error)
	// Insert stores a new order with its idempotency key. When the key was
	// taken meanwhile (a concurrent duplicate), it stores nothing and
	// reports false.
	Insert(ctx context.Context, o *Order, key, requestHash string) (bool, error)
	// StartCheckout records that a checkout of the customer's with key
	// runs, and reports false when one with another key does (started less
	// than stale ago, by the database's clock); EndCheckout records that it
	// ended.
	StartCheckout(ctx context.Context, userID, key string, stale time.Duration) (bool, error)
	EndCheckout(ctx context.Context, userID, key string) error
	// Order returns KindNotFound; forUpdate locks the row until the
	// transaction ends.
	Order(ctx context.Context, id string, forUpdate bool) (*Order, error)
	// Save stores the order's changed fields and new timeline entries.
	Save(ctx context.Context, o *Order) error
	// Orders returns up to f.Limit orders.
	Orders(ctx context.Context, f Filter) ([]*Order, error)
	// Publish records facts in the outbox of the transaction.
	Publish(ctx context.Context, facts ...Fact) error
	// Handled records, with the transaction's commit, the event whose saga
	// step runs in ctx as handled, so the step's last transaction is also
	// its record in the event pipeline (no commit of its own); outside a
	// step it does nothing.
	Handled(ctx context.Context)
}

// Transactor runs fn in one transaction with a repository bound to it.
type Transactor func(ctx context.Context, fn func(Repository) error) error
