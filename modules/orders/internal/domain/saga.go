package domain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// The saga moves an order along. Each step is the handler of one of the
// order's own events, which the event pipeline runs with no transaction
// open, since no transaction or row lock may be held across a call to
// another module: the step reads the order, calls a neighbour's idempotent
// command (keyed by the order id), and then, in one transaction of this
// module, locks the order, checks that it is still where the step expects it
// and records the outcome together with the next event. A failure leaves
// the event to be retried with backoff, so every step happens; a step run
// again (the pipeline delivers at least once) repeats idempotent calls and
// finds its outcome recorded, so it happens once.
//
//	placed          → Reserve stock      → stock_reserved | rejected
//	stock_reserved  → Authorize payment  → confirmed | failed (stock released)
//	confirmed       → Commit stock, Capture payment (no status change)
//	cancelled       → Release stock, Refund payment
//
// An order that moved while a call was in flight (the customer cancelled it
// during the authorization) records nothing of the call: the event of the
// move comes after the step's in the order's stream, so its own step runs
// after this one and gives back whatever the call took — Release and Refund
// undo a reservation and an authorization or capture, whenever they were
// made.

// OnPlaced reserves the order's stock.
func (s *Service) OnPlaced(ctx context.Context, orderID string) error {
	return s.step(ctx, orderID, StatusPlaced, func(o *Order) (record, error) {
		lines := make([]StockLine, len(o.Items()))
		for i, it := range o.Items() {
			lines[i] = StockLine{ProductID: it.ProductID, Quantity: it.Quantity}
		}
		res, err := s.stock.Reserve(ctx, o.ID(), lines)
		if err != nil {
			return nil, fmt.Errorf("reserve stock: %w", err)
		}
		return func(o *Order) ([]Fact, error) {
			if !res.Held {
				o.Reject(shortageReason(o, res.Shortages), s.now())
				return []Fact{{Kind: FactRejected, Order: o, At: o.UpdatedAt()}}, nil
			}
			o.StockReserved(s.now())
			return []Fact{{Kind: FactStockReserved, Order: o, At: o.UpdatedAt()}}, nil
		}, nil
	})
}

// ReasonPaymentRefused is the reason of an order whose payment request
// payments refused as invalid (no payment was made).
const ReasonPaymentRefused = "payment_refused"

// OnStockReserved authorizes the payment; a declined or failed payment, or
// a request payments refuses, gives the stock back and fails the order.
func (s *Service) OnStockReserved(ctx context.Context, orderID string) error {
	return s.step(ctx, orderID, StatusStockReserved, func(o *Order) (record, error) {
		a, err := s.payments.Authorize(ctx, o.ID(), o.UserID(), o.Total(), o.Currency(), o.CardToken())
		switch {
		case errs.Is(err, errs.KindInvalid):
			// Payments refuses the request itself (an amount it cannot
			// take, say): no retry changes that, and the order fails as on
			// a declined card instead of holding its stock.
			s.log.WarnContext(ctx, "payments refused the order's authorization", slog.String("order_id", o.ID()), slog.String("error", err.Error()))
			a = Authorization{Reason: ReasonPaymentRefused}
		case err != nil:
			return nil, fmt.Errorf("authorize payment: %w", err)
		}
		if a.Approved {
			return func(o *Order) ([]Fact, error) {
				o.Confirm(s.now())
				return []Fact{{Kind: FactConfirmed, Order: o, At: o.UpdatedAt()}}, nil
			}, nil
		}
		if err := s.stock.Release(ctx, o.ID()); err != nil {
			return nil, fmt.Errorf("release stock: %w", err)
		}
		return func(o *Order) ([]Fact, error) {
			o.PaymentRejected(a.Reason, s.now())
			return []Fact{{Kind: FactFailed, Order: o, At: o.UpdatedAt()}}, nil
		}, nil
	})
}

// OnConfirmed takes the stock for good and captures the payment. Should the
// stock have gone meanwhile (a reservation that expired while the pipeline
// was down, its stock sold to someone else), the sale is undone: the stock
// and the payment are given back and the order cancelled.
func (s *Service) OnConfirmed(ctx context.Context, orderID string) error {
	return s.step(ctx, orderID, StatusConfirmed, func(o *Order) (record, error) {
		if !o.StockIsCommitted() {
			err := s.stock.Commit(ctx, o.ID())
			if errs.Is(err, errs.KindConflict) {
				return s.undoSale(ctx, o)
			}
			if err != nil {
				return nil, fmt.Errorf("commit stock: %w", err)
			}
		}
		if !o.PaymentIsCaptured() {
			if err := s.payments.Capture(ctx, o.ID()); err != nil {
				return nil, fmt.Errorf("capture payment: %w", err)
			}
		}
		return func(o *Order) ([]Fact, error) {
			if !o.StockIsCommitted() {
				o.StockCommitted(s.now())
			}
			if !o.PaymentIsCaptured() {
				o.PaymentCaptured(s.now())
			}
			return nil, nil
		}, nil
	})
}

func (s *Service) undoSale(ctx context.Context, o *Order) (record, error) {
	refunded, err := s.compensate(ctx, o)
	if err != nil {
		return nil, err
	}
	return func(o *Order) ([]Fact, error) {
		if _, err := o.Cancel("the stock was no longer available", s.now()); err != nil {
			return nil, err
		}
		recordCompensation(o, refunded, s.now())
		return []Fact{{Kind: FactCancelled, Order: o, At: o.UpdatedAt()}}, nil
	}, nil
}

// OnCancelled gives back what a cancelled order holds: its stock (held or
// taken) and its money (authorized or captured). Both calls are idempotent,
// and releasing stock that was never reserved keeps a later reservation
// from taking it.
func (s *Service) OnCancelled(ctx context.Context, orderID string) error {
	return s.step(ctx, orderID, StatusCancelled, func(o *Order) (record, error) {
		if compensated(o) {
			return nil, nil
		}
		refunded, err := s.compensate(ctx, o)
		if err != nil {
			return nil, err
		}
		return func(o *Order) ([]Fact, error) {
			if !compensated(o) {
				recordCompensation(o, refunded, s.now())
			}
			return nil, nil
		}, nil
	})
}

// compensate releases the order's stock and gives its money back; it
// reports what became of the payment ("voided", "refunded", or "" when
// there was nothing to give back).
func (s *Service) compensate(ctx context.Context, o *Order) (string, error) {
	if err := s.stock.Release(ctx, o.ID()); err != nil {
		return "", fmt.Errorf("release stock: %w", err)
	}
	refunded, err := s.payments.Refund(ctx, o.ID())
	if err != nil {
		return "", fmt.Errorf("refund payment: %w", err)
	}
	return refunded, nil
}

// recordCompensation puts the give-backs of a cancellation on the timeline.
func recordCompensation(o *Order, refunded string, now time.Time) {
	o.Compensated(StepStockReleased, "", now)
	if refunded != "" {
		o.Compensated(StepPaymentRefunded, refunded, now)
	}
}

// compensated reports whether the timeline already records the give-back
// after the cancellation.
func compensated(o *Order) bool {
	tl := o.Timeline()
	for i := len(tl) - 1; i >= 0 && tl[i].Step != StepCancelled; i-- {
		if tl[i].Step == StepStockReleased {
			return true
		}
	}
	return false
}

// record applies a step's outcome to the locked order and returns the facts
// to publish with it.
type record func(*Order) ([]Fact, error)

// step runs one saga step as every call to another module must go: call,
// then lock, check and record. It reads the order without a lock; when the
// order is in the status the step expects, call makes the step's calls and
// returns how to record their outcome (nil: nothing to record). That record
// runs in one transaction on the locked order, and only if the order is
// still in that status: an order that moved meanwhile records nothing, and
// the step of its move gives back what the calls took. That transaction
// also records the step's event handled (Repository.Handled).
func (s *Service) step(ctx context.Context, orderID, want string, call func(*Order) (record, error)) error {
	o, err := s.repo.Order(ctx, orderID, false)
	if err != nil {
		return err
	}
	if o.Status() != want {
		return nil // a stale event: the order moved on
	}
	rec, err := call(o)
	if err != nil || rec == nil {
		return err
	}
	return s.tx(ctx, func(r Repository) error {
		// This transaction is the step's last: whatever it records (nothing,
		// for an order that moved meanwhile), its commit also marks the
		// step's event handled.
		r.Handled(ctx)
		o, err := r.Order(ctx, orderID, true)
		if err != nil {
			return err
		}
		if o.Status() != want {
			return nil
		}
		facts, err := rec(o)
		if err != nil {
			return err
		}
		if _, steps := o.NewSteps(); len(steps) == 0 {
			return nil
		}
		if err := r.Save(ctx, o); err != nil {
			return err
		}
		return r.Publish(ctx, facts...)
	})
}

// shortageReason names what was missing in the customer's terms.
func shortageReason(o *Order, shortages []Shortage) string {
	names := map[string]string{}
	for _, it := range o.Items() {
		names[it.ProductID] = it.Name
	}
	parts := make([]string, 0, len(shortages))
	for _, sh := range shortages {
		parts = append(parts, fmt.Sprintf("%s (%d wanted, %d available)", names[sh.ProductID], sh.Requested, sh.Available))
	}
	if len(parts) == 0 {
		return "not enough stock"
	}
	return "not enough stock: " + strings.Join(parts, ", ")
}
