package domain

import "context"

// What the orders module needs from its neighbours, in its own terms. The
// module root adapts the neighbours' public APIs to these interfaces; tests
// use small fakes.

// CartLine is one line of the customer's cart as checkout sees it.
type CartLine struct {
	ProductID   string
	SKU         string
	Name        string
	Quantity    int
	UnitPrice   int64
	Currency    string
	InStock     bool
	Unavailable bool
}

// CartSnapshot is the customer's cart; Stale means some prices are last
// known values, which an order must not be placed at.
type CartSnapshot struct {
	Lines []CartLine
	Stale bool
}

// Cart is the signed-in customer's cart (the principal in ctx).
type Cart interface {
	Snapshot(ctx context.Context) (CartSnapshot, error)
	Clear(ctx context.Context) error
}

// StockLine is a quantity of a product to reserve.
type StockLine struct {
	ProductID string
	Quantity  int
}

// Reservation is inventory's answer; Shortages explain a rejection.
type Reservation struct {
	Held      bool
	Shortages []Shortage
}

// Shortage is a product that lacked stock.
type Shortage struct {
	ProductID            string
	Requested, Available int
}

// Stock is the inventory. Every method is idempotent per reservation id
// (the order id).
type Stock interface {
	Reserve(ctx context.Context, id string, lines []StockLine) (Reservation, error)
	// Commit returns KindConflict when the stock is gone (an expired
	// reservation whose stock was sold meanwhile).
	Commit(ctx context.Context, id string) error
	Release(ctx context.Context, id string) error
}

// Card is a tokenized card.
type Card struct {
	Token string
	Last4 string
}

// Authorization is the payment provider's answer: Approved, or the reason
// it was declined or failed, which becomes the order's reason as it is
// spelled on the payment (payments.Reason…).
type Authorization struct {
	Approved bool
	Reason   string
}

// Payments is the payments module. Authorize, Capture and Refund are
// idempotent per order.
type Payments interface {
	Tokenize(ctx context.Context, cardNumber string) (Card, error)
	// Authorize names the order's customer (userID), who may then read
	// the payment from the payments module.
	Authorize(ctx context.Context, orderID, userID string, amount int64, currency, cardToken string) (Authorization, error)
	Capture(ctx context.Context, orderID string) error
	// Refund voids or refunds; it reports what happened ("voided",
	// "refunded", or "" when there was nothing to give back).
	Refund(ctx context.Context, orderID string) (string, error)
}
