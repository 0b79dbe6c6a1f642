// Package domain is the orders module's core: the order aggregate with its
// state machine and timeline, the checkout, and the saga that moves an order
// through stock reservation, payment and fulfilment. It knows its neighbours
// only through the narrow interfaces in ports.go.
package domain

import (
	"fmt"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// Statuses (the public package re-exports them).
const (
	StatusPlaced        = "placed"
	StatusStockReserved = "stock_reserved"
	StatusConfirmed     = "confirmed"
	StatusShipped       = "shipped"
	StatusRejected      = "rejected"
	StatusFailed        = "failed"
	StatusCancelled     = "cancelled"
)

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

// Item is one ordered line, priced when the order was placed.
type Item struct {
	ProductID string
	SKU       string
	Name      string
	Quantity  int
	UnitPrice int64 // minor units of the order's currency
}

// LineTotal is the line's amount.
func (i Item) LineTotal() int64 { return i.UnitPrice * int64(i.Quantity) }

// Step is one entry of the timeline.
type Step struct {
	Step   string
	Detail string
	At     time.Time
}

// Order is the aggregate. Its fields change only through the transition
// methods below, each of which appends to the timeline.
type Order struct {
	id, userID, email  string
	status, reason     string
	items              []Item
	total              int64
	currency           string
	cardToken, last4   string
	stockCommitted     bool
	paymentCaptured    bool
	confirmedAt        time.Time
	timeline           []Step
	saved              int // timeline entries already stored
	createdAt, updated time.Time
}

// NewOrder is a placed order. The lines come from the customer's cart, which
// the cart module validated; an order without lines or with mixed
// currencies is still refused here.
func NewOrder(id, userID, email string, items []Item, currency, cardToken, last4 string, now time.Time) (*Order, error) {
	if len(items) == 0 {
		return nil, errs.E(errs.KindConflict, "the cart is empty").WithField("cart", "not_empty", "must hold at least one product")
	}
	total, err := totalOf(items)
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	o := &Order{
		id: id, userID: userID, email: email, status: StatusPlaced, items: items, total: total, currency: currency,
		cardToken: cardToken, last4: last4, createdAt: now, updated: now,
	}
	o.step(StepPlaced, fmt.Sprintf("%d item(s), %s", len(items), FormatMoney(total, currency)), now)
	return o, nil
}

// totalOf is what items cost together: more than 0 (no payment can be
// authorized for nothing: such an order would hold its stock until the
// payment step gave up).
func totalOf(items []Item) (int64, error) {
	var total int64
	for _, it := range items {
		if it.Quantity < 1 || it.UnitPrice < 0 {
			return 0, errs.Internal(fmt.Errorf("cart line %s: quantity %d, price %d", it.ProductID, it.Quantity, it.UnitPrice), "read cart")
		}
		total += it.LineTotal()
	}
	if total == 0 {
		return 0, errs.E(errs.KindConflict, "the cart's total is 0; an order must cost something").
			WithField("cart", "total", "must be more than 0")
	}
	return total, nil
}

// Restore rebuilds a stored order; the store is trusted.
func Restore(id, userID, email, status, reason string, items []Item, total int64, currency, cardToken, last4 string,
	stockCommitted, paymentCaptured bool, confirmedAt time.Time, timeline []Step, createdAt, updatedAt time.Time) *Order {
	return &Order{
		id: id, userID: userID, email: email, status: status, reason: reason, items: items, total: total,
		currency: currency, cardToken: cardToken, last4: last4, stockCommitted: stockCommitted,
		paymentCaptured: paymentCaptured, confirmedAt: confirmedAt, timeline: timeline, saved: len(timeline),
		createdAt: createdAt, updated: updatedAt,
	}
}

func (o *Order) step(name, detail string, now time.Time) {
	now = now.UTC().Truncate(time.Microsecond)
	o.timeline = append(o.timeline, Step{Step: name, Detail: detail, At: now})
	o.updated = now
}

// StockReserved records that inventory holds the order's stock.
func (o *Order) StockReserved(now time.Time) {
	o.status = StatusStockReserved
	o.step(StepStockReserved, "", now)
}

// Reject ends an order that could not get its stock.
func (o *Order) Reject(reason string, now time.Time) {
	o.status, o.reason = StatusRejected, reason
	o.step(StepStockRejected, reason, now)
	o.step(StepRejected, "", now)
}

// Confirm records the authorized payment: the sale is made.
func (o *Order) Confirm(now time.Time) {
	o.status = StatusConfirmed
	o.confirmedAt = now.UTC().Truncate(time.Microsecond)
	o.step(StepPaymentAuthorized, "", now)
	o.step(StepConfirmed, "", now)
}

// PaymentRejected records a declined or failed payment whose stock was
// given back: the order failed.
func (o *Order) PaymentRejected(reason string, now time.Time) {
	o.status, o.reason = StatusFailed, reason
	o.step(StepPaymentRejected, reason, now)
	o.step(StepStockReleased, "", now)
	o.step(StepFailed, "", now)
}

// StockCommitted records that the reserved stock was taken for good.
func (o *Order) StockCommitted(now time.Time) {
	o.stockCommitted = true
	o.step(StepStockCommitted, "", now)
}

// PaymentCaptured records that the authorized amount was taken.
func (o *Order) PaymentCaptured(now time.Time) {
	o.paymentCaptured = true
	o.step(StepPaymentCaptured, "", now)
}

// Cancel cancels an order that has not shipped. It reports false when the
// order was cancelled already (nothing changes).
func (o *Order) Cancel(reason string, now time.Time) (bool, error) {
	switch o.status {
	case StatusCancelled:
		return false, nil
	case StatusPlaced, StatusStockReserved, StatusConfirmed:
		o.status, o.reason = StatusCancelled, reason
		o.step(StepCancelled, reason, now)
		return true, nil
	default:
		return false, errs.E(errs.KindConflict, "a %s order cannot be cancelled", o.status).WithField("status", "cancellable", "must be placed, stock_reserved or confirmed")
	}
}

// Ship records that the order left the warehouse; false when it had
// shipped already.
func (o *Order) Ship(now time.Time) (bool, error) {
	switch {
	case o.status == StatusShipped:
		return false, nil
	case o.status != StatusConfirmed:
		return false, errs.E(errs.KindConflict, "a %s order cannot be shipped", o.status).WithField("status", "confirmed", "must be confirmed")
	case !o.paymentCaptured || !o.stockCommitted:
		return false, errs.E(errs.KindConflict, "the order's payment or stock is still being settled; try again in a moment").WithField("status", "settled", "payment must be captured and stock committed")
	}
	o.status = StatusShipped
	o.step(StepShipped, "", now)
	return true, nil
}

// Compensated records the give-backs of a cancellation.
func (o *Order) Compensated(step, detail string, now time.Time) { o.step(step, detail, now) }

func (o *Order) ID() string             { return o.id }
func (o *Order) UserID() string         { return o.userID }
func (o *Order) Email() string          { return o.email }
func (o *Order) Status() string         { return o.status }
func (o *Order) Reason() string         { return o.reason }
func (o *Order) Items() []Item          { return o.items }
func (o *Order) Total() int64           { return o.total }
func (o *Order) Currency() string       { return o.currency }
func (o *Order) CardToken() string      { return o.cardToken }
func (o *Order) CardLast4() string      { return o.last4 }
func (o *Order) StockIsCommitted() bool { return o.stockCommitted }
func (o *Order) PaymentIsCaptured() bool {
	return o.paymentCaptured
}
func (o *Order) ConfirmedAt() time.Time { return o.confirmedAt }
func (o *Order) Timeline() []Step       { return o.timeline }
func (o *Order) CreatedAt() time.Time   { return o.createdAt }
func (o *Order) UpdatedAt() time.Time   { return o.updated }

// NewSteps are the timeline entries not stored yet.
func (o *Order) NewSteps() (first int, steps []Step) { return o.saved, o.timeline[o.saved:] }

// MarkSaved records that the timeline is stored.
func (o *Order) MarkSaved() { o.saved = len(o.timeline) }

// FormatMoney renders minor units as "12.34 EUR" (two decimals: every
// currency the shop sells in has them).
func FormatMoney(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency)
}
