package orders

import (
	"context"
	"time"
)

// Order statuses.
// An order moves placed → stock_reserved → confirmed → shipped, or ends
// rejected (not enough stock), failed (payment declined or failed) or
// cancelled (by the customer or an admin, before shipping).
const (
	StatusPlaced        = "placed"
	StatusStockReserved = "stock_reserved"
	StatusConfirmed     = "confirmed"
	StatusShipped       = "shipped"
	StatusRejected      = "rejected"
	StatusFailed        = "failed"
	StatusCancelled     = "cancelled"
)

// API is the orders module as other modules and remote adapters see it.
// Every method needs a signed-in user (KindUnauthenticated otherwise). A
// customer sees and cancels only their own orders: another user's order is
// KindNotFound, never KindForbidden, so ids cannot be probed. Admins see all
// orders; only admins mark orders shipped (KindForbidden for others). Any
// method may also return KindInternal.
type API interface {
	// Checkout turns the caller's cart into an order and starts its saga;
	// the order comes back placed, and its status moves on asynchronously.
	// A request repeated with the same idempotency key returns the order
	// the first one created (Replayed set) and creates nothing.
	// KindInvalid names idempotency_key (missing, longer than 200
	// characters) or card_number; KindConflict names idempotency_key when
	// it was used with a different request, or cart when the cart is empty
	// or holds unavailable products; KindUnavailable when the cart's prices
	// cannot be confirmed right now (retry later).
	//shop:idempotent
	Checkout(ctx context.Context, r CheckoutRequest) (Order, error)
	// Order returns one order; KindNotFound.
	//shop:idempotent
	Order(ctx context.Context, id string) (Order, error)
	// Orders returns one page of orders, newest first: the caller's own, or
	// for admins everyone's (optionally one user's). KindInvalid names
	// limit (outside 1..100; 0 means 20), after, status or user_id.
	//shop:idempotent
	Orders(ctx context.Context, q Query) (Page, error)
	// Cancel cancels an order that has not shipped: its stock is released
	// and its payment voided or refunded (asynchronously). Cancelling a
	// cancelled order returns it unchanged. KindNotFound; KindConflict when
	// the order shipped, was rejected or failed.
	//shop:idempotent
	Cancel(ctx context.Context, id string) (Order, error)
	// MarkShipped records that a confirmed order left the warehouse.
	// Marking a shipped order again returns it unchanged. KindNotFound;
	// KindConflict unless the order is confirmed and its payment captured.
	//shop:idempotent
	MarkShipped(ctx context.Context, id string) (Order, error)
}

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// CheckoutRequest is what a customer sends to buy their cart.
type CheckoutRequest struct {
	IdempotencyKey string `json:"idempotency_key"` // the Idempotency-Key header over HTTP
	CardNumber     string `json:"card_number"`
}

// Query selects a page of orders.
type Query struct {
	UserID string `json:"user_id,omitempty"` // admins only; empty means everyone's
	Status string `json:"status,omitempty"`
	After  string `json:"after,omitempty"` // NextCursor of the previous page
	Limit  int    `json:"limit,omitempty"`
}

// Page is one page of orders; NextCursor is empty on the last page.
type Page struct {
	Items      []Order `json:"items"`
	NextCursor string  `json:"next_cursor" description:"empty on the last page"`
}

// Order is an order with the snapshot of what was bought at which price.
// Reason says why it was rejected, failed or cancelled; an order failed on
// its payment carries the payment's reason (payments.ReasonCardDeclined,
// ReasonProcessingError, ReasonGatewayTimeout, or the issuer's own), or
// payment_refused when payments refused the request itself (an amount it
// cannot take). Timeline lists every
// step of the order's life in order.
type Order struct {
	ID              string    `json:"id"`
	UserID          string    `json:"user_id"`
	Email           string    `json:"email"`
	Status          string    `json:"status" enum:"placed,stock_reserved,confirmed,shipped,rejected,failed,cancelled"`
	Reason          string    `json:"reason,omitempty"`
	Items           []Item    `json:"items"`
	Total           Money     `json:"total"`
	CardLast4       string    `json:"card_last4"`
	PaymentCaptured bool      `json:"payment_captured"`
	Timeline        []Step    `json:"timeline"`
	Replayed        bool      `json:"replayed,omitempty"` // Checkout: the order of an earlier request with the same key
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Item is one ordered line, with the price it was bought at.
type Item struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	UnitPrice Money  `json:"unit_price"`
	LineTotal Money  `json:"line_total"`
}

// Timeline steps.
const (
	StepPlaced            = "placed"
	StepStockReserved     = "stock_reserved"
	StepStockRejected     = "stock_rejected"
	StepPaymentAuthorized = "payment_authorized"
	StepPaymentRejected   = "payment_rejected"
	StepConfirmed         = "confirmed"
	StepStockCommitted    = "stock_committed"
	StepPaymentCaptured   = "payment_captured"
	StepShipped           = "shipped"
	StepCancelled         = "cancelled"
	StepStockReleased     = "stock_released"
	StepPaymentRefunded   = "payment_refunded"
	StepFailed            = "failed"
	StepRejected          = "rejected"
)

// Step is one entry of an order's timeline.
type Step struct {
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Events the orders module publishes, each in the transaction of the change,
// keyed by the order id. The saga that moves an order along is a subscriber
// of these same events (orders.saga), so every step is durable and retried.

// OrderPlaced is published when a checkout creates an order.
type OrderPlaced struct {
	OrderID  string    `json:"order_id"`
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Items    []Item    `json:"items"`
	Total    Money     `json:"total"`
	PlacedAt time.Time `json:"placed_at"`
}

// EventType implements events.Event.
func (OrderPlaced) EventType() string { return "orders.order_placed.v1" }

// EventKey implements events.Event.
func (e OrderPlaced) EventKey() string { return e.OrderID }

// OrderStockReserved is published when inventory held the order's stock.
type OrderStockReserved struct {
	OrderID    string    `json:"order_id"`
	ReservedAt time.Time `json:"reserved_at"`
}

// EventType implements events.Event.
func (OrderStockReserved) EventType() string { return "orders.order_stock_reserved.v1" }

// EventKey implements events.Event.
func (e OrderStockReserved) EventKey() string { return e.OrderID }

// OrderConfirmed is published when the payment was authorized: the sale is
// made.
type OrderConfirmed struct {
	OrderID     string    `json:"order_id"`
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Items       []Item    `json:"items"`
	Total       Money     `json:"total"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

// EventType implements events.Event.
func (OrderConfirmed) EventType() string { return "orders.order_confirmed.v1" }

// EventKey implements events.Event.
func (e OrderConfirmed) EventKey() string { return e.OrderID }

// OrderRejected is published when there was not enough stock.
type OrderRejected struct {
	OrderID    string    `json:"order_id"`
	UserID     string    `json:"user_id"`
	Email      string    `json:"email"`
	Reason     string    `json:"reason"`
	RejectedAt time.Time `json:"rejected_at"`
}

// EventType implements events.Event.
func (OrderRejected) EventType() string { return "orders.order_rejected.v1" }

// EventKey implements events.Event.
func (e OrderRejected) EventKey() string { return e.OrderID }

// OrderFailed is published when the payment was declined or failed; the
// order's stock has been released by then.
type OrderFailed struct {
	OrderID  string    `json:"order_id"`
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failed_at"`
}

// EventType implements events.Event.
func (OrderFailed) EventType() string { return "orders.order_failed.v1" }

// EventKey implements events.Event.
func (e OrderFailed) EventKey() string { return e.OrderID }

// OrderCancelled is published when an order is cancelled. WasConfirmed says
// whether it had been confirmed (a sale that is taken back).
type OrderCancelled struct {
	OrderID      string    `json:"order_id"`
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	Items        []Item    `json:"items"`
	Total        Money     `json:"total"`
	WasConfirmed bool      `json:"was_confirmed"`
	ConfirmedAt  time.Time `json:"confirmed_at,omitzero"`
	CancelledAt  time.Time `json:"cancelled_at"`
}

// EventType implements events.Event.
func (OrderCancelled) EventType() string { return "orders.order_cancelled.v1" }

// EventKey implements events.Event.
func (e OrderCancelled) EventKey() string { return e.OrderID }

// OrderShipped is published when an admin marks an order shipped.
type OrderShipped struct {
	OrderID   string    `json:"order_id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	ShippedAt time.Time `json:"shipped_at"`
}

// EventType implements events.Event.
func (OrderShipped) EventType() string { return "orders.order_shipped.v1" }

// EventKey implements events.Event.
func (e OrderShipped) EventKey() string { return e.OrderID }
