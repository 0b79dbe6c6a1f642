package domain

import (
	"context"
	"fmt"
	"strings"

	"github.com/shopmonolith/shop/platform/errs"
)

// The saga moves an order along. Each step is the handler of one of the
// order's own events, run by the event pipeline in a transaction of this
// module: it locks the order, checks that the order is still where the step
// expects it (a cancelled order's pending steps do nothing), calls a
// neighbour's idempotent command, and records the outcome together with the
// next event. A failure rolls the step back and the pipeline retries it
// with backoff, so every step happens, and happens once.
//
//	placed          → Reserve stock      → stock_reserved | rejected
//	stock_reserved  → Authorize payment  → confirmed | failed (stock released)
//	confirmed       → Commit stock, Capture payment (no status change)
//	cancelled       → Release stock, Refund payment

// OnPlaced reserves the order's stock.
func (s *Service) OnPlaced(ctx context.Context, r Repository, orderID string) error {
	return s.step(ctx, r, orderID, StatusPlaced, func(o *Order) ([]Fact, error) {
		lines := make([]StockLine, len(o.Items()))
		for i, it := range o.Items() {
			lines[i] = StockLine{ProductID: it.ProductID, Quantity: it.Quantity}
		}
		res, err := s.stock.Reserve(ctx, o.ID(), lines)
		if err != nil {
			return nil, fmt.Errorf("reserve stock: %w", err)
		}
		if !res.Held {
			o.Reject(shortageReason(o, res.Shortages), s.now())
			return []Fact{{Kind: FactRejected, Order: o, At: o.UpdatedAt()}}, nil
		}
		o.StockReserved(s.now())
		return []Fact{{Kind: FactStockReserved, Order: o, At: o.UpdatedAt()}}, nil
	})
}

// OnStockReserved authorizes the payment; a declined or failed payment
// gives the stock back and fails the order.
func (s *Service) OnStockReserved(ctx context.Context, r Repository, orderID string) error {
	return s.step(ctx, r, orderID, StatusStockReserved, func(o *Order) ([]Fact, error) {
		a, err := s.payments.Authorize(ctx, o.ID(), o.UserID(), o.Total(), o.Currency(), o.CardToken())
		if err != nil {
			return nil, fmt.Errorf("authorize payment: %w", err)
		}
		if a.Approved {
			o.Confirm(s.now())
			return []Fact{{Kind: FactConfirmed, Order: o, At: o.UpdatedAt()}}, nil
		}
		if err := s.stock.Release(ctx, o.ID()); err != nil {
			return nil, fmt.Errorf("release stock: %w", err)
		}
		o.PaymentRejected(a.Reason, s.now())
		return []Fact{{Kind: FactFailed, Order: o, At: o.UpdatedAt()}}, nil
	})
}

// OnConfirmed takes the stock for good and captures the payment. Should the
// stock have gone meanwhile (a reservation that expired while the pipeline
// was down, its stock sold to someone else), the sale is undone: the payment
// is given back and the order cancelled.
func (s *Service) OnConfirmed(ctx context.Context, r Repository, orderID string) error {
	return s.step(ctx, r, orderID, StatusConfirmed, func(o *Order) ([]Fact, error) {
		if !o.StockIsCommitted() {
			err := s.stock.Commit(ctx, o.ID())
			if errs.Is(err, errs.KindConflict) {
				return s.undoSale(ctx, o)
			}
			if err != nil {
				return nil, fmt.Errorf("commit stock: %w", err)
			}
			o.StockCommitted(s.now())
		}
		if !o.PaymentIsCaptured() {
			if err := s.payments.Capture(ctx, o.ID()); err != nil {
				return nil, fmt.Errorf("capture payment: %w", err)
			}
			o.PaymentCaptured(s.now())
		}
		return nil, nil
	})
}

func (s *Service) undoSale(ctx context.Context, o *Order) ([]Fact, error) {
	if _, err := o.Cancel("the stock was no longer available", s.now()); err != nil {
		return nil, err
	}
	if err := s.compensate(ctx, o); err != nil {
		return nil, err
	}
	return []Fact{{Kind: FactCancelled, Order: o, At: o.UpdatedAt()}}, nil
}

// OnCancelled gives back what a cancelled order holds: its stock (held or
// taken) and its money (authorized or captured). Both calls are idempotent,
// and releasing stock that was never reserved keeps a later reservation
// from taking it.
func (s *Service) OnCancelled(ctx context.Context, r Repository, orderID string) error {
	return s.step(ctx, r, orderID, StatusCancelled, func(o *Order) ([]Fact, error) {
		if compensated(o) {
			return nil, nil
		}
		return nil, s.compensate(ctx, o)
	})
}

func (s *Service) compensate(ctx context.Context, o *Order) error {
	if err := s.stock.Release(ctx, o.ID()); err != nil {
		return fmt.Errorf("release stock: %w", err)
	}
	o.Compensated(StepStockReleased, "", s.now())
	done, err := s.payments.Refund(ctx, o.ID())
	if err != nil {
		return fmt.Errorf("refund payment: %w", err)
	}
	if done != "" {
		o.Compensated(StepPaymentRefunded, done, s.now())
	}
	return nil
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

// step runs fn on the locked order when it is in the status the step
// expects, and stores the result; otherwise the event is stale and does
// nothing.
func (s *Service) step(ctx context.Context, r Repository, orderID, want string, fn func(*Order) ([]Fact, error)) error {
	o, err := r.Order(ctx, orderID, true)
	if err != nil {
		return err
	}
	if o.Status() != want {
		return nil
	}
	facts, err := fn(o)
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
