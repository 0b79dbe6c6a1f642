package domain

import (
	"context"
	"time"
)

// Repository is the storage the Service needs. Methods wrap storage
// failures as KindInternal.
type Repository interface {
	// InTx runs fn in one transaction: committed when fn returns nil,
	// rolled back otherwise. Whatever fn publishes commits with it.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Levels returns the stored levels of the products that have one.
	Levels(ctx context.Context, productIDs []string) ([]Level, error)
	// Reservation returns KindNotFound for an unknown id.
	Reservation(ctx context.Context, id string) (Reservation, error)
	// SeedLevels stores the levels whose product has none yet and publishes
	// StockChanged (set) for each one it stored, in one transaction.
	SeedLevels(ctx context.Context, levels []Level) (int, error)
}

// Tx is the storage inside one transaction. Locks are taken in one order
// everywhere, reservation rows first and stock rows after them in product
// order, so concurrent transactions queue instead of deadlocking.
type Tx interface {
	// Reservation reads a reservation; lock takes its row lock (FOR
	// UPDATE). found is false when there is none.
	Reservation(ctx context.Context, id string, lock bool) (r Reservation, found bool, err error)
	// LockLevels locks the stock rows of the products in product order and
	// returns them in a ledger. A product without a row is not locked
	// (there is nothing to hold) and counts as zero.
	LockLevels(ctx context.Context, productIDs []string) (*Ledger, error)
	// LockLevelCreating locks one product's stock row, creating it at zero
	// first when there is none (the row lives on only if the transaction
	// commits).
	LockLevelCreating(ctx context.Context, productID string, now time.Time) (*Ledger, error)
	// InsertReservation stores a new reservation with its lines; inserted
	// is false, and nothing is stored, when the id is taken (perhaps by a
	// transaction that just committed).
	InsertReservation(ctx context.Context, r Reservation) (inserted bool, err error)
	// UpdateReservation stores r's status, expiry, shortages and time.
	UpdateReservation(ctx context.Context, r Reservation) error
	// InsertLines stores r's lines, for a reservation stored without any
	// (a tombstone turned into a rejection).
	InsertLines(ctx context.Context, r Reservation) error
	// SaveLevels writes the levels back to their rows.
	SaveLevels(ctx context.Context, levels []Level) error
	// DueReservations claims up to limit held reservations whose expiry is
	// at or before now, skipping those another transaction has locked.
	DueReservations(ctx context.Context, now time.Time, limit int) ([]Reservation, error)
	// Publish records facts as events of this transaction.
	Publish(ctx context.Context, facts ...any) error
}
