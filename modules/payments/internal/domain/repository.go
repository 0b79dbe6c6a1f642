package domain

import (
	"context"
	"time"
)

// Repository is the storage the Service needs. Methods wrap storage
// failures as KindInternal. Facts passed to a write are published in the
// transaction of that write.
type Repository interface {
	// AddCard stores a tokenized card.
	AddCard(ctx context.Context, c Card) error
	// Card returns KindNotFound for an unknown token.
	Card(ctx context.Context, token string) (Card, error)
	// Payment returns the payment of an order; KindNotFound.
	Payment(ctx context.Context, orderID string) (Payment, error)
	// AddPayment stores p and publishes facts, unless the order has a
	// payment already: then it returns that one with added false and
	// publishes nothing. Of two concurrent calls for one order exactly one
	// adds.
	AddPayment(ctx context.Context, p Payment, facts ...any) (stored Payment, added bool, err error)
	// UpdatePayment locks the order's payment, lets fn change it, and
	// saves it (when fn changed it) with the facts fn returns, in one
	// transaction; an error from fn rolls back and is returned.
	// KindNotFound when the order has no payment.
	UpdatePayment(ctx context.Context, orderID string, fn func(*Payment) ([]any, error)) (Payment, error)
	// ClaimPending claims the payment whose pending operation was taken up
	// longest ago, at due or before, by stamping it taken up at now, and
	// returns its order; ok is false when no payment is due. It passes
	// over payments other transactions hold rather than waiting for them,
	// and of concurrent calls each claims another payment.
	ClaimPending(ctx context.Context, due, now time.Time) (orderID string, ok bool, err error)
}
