package store_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/modules/payments/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

// counting is a publisher that counts the facts it is given.
type counting struct{ n atomic.Int64 }

func (c *counting) publish(_ context.Context, _ *gorm.DB, facts ...any) error {
	c.n.Add(int64(len(facts)))
	return nil
}

func newPayment(t *testing.T, s *store.Store, orderID string) domain.Payment {
	t.Helper()
	card, err := domain.NewCard("4242424242424242", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddCard(context.Background(), card); err != nil {
		t.Fatal(err)
	}
	r, err := domain.NewAuthorizeRequest(domain.AuthorizeInput{OrderID: orderID, Amount: 100, Currency: "EUR", CardToken: card.Token()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := domain.NewPayment(r, card, domain.Outcome{Status: domain.StatusAuthorized, ProviderRef: "sim_1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAddPaymentOncePerOrder: the order's unique row keeps the first
// payment; a second one is not stored and publishes nothing.
func TestAddPaymentOncePerOrder(t *testing.T) {
	t.Parallel()
	pub := &counting{}
	s, ctx := store.New(dbtest.Open(t, "payments"), pub.publish), context.Background()
	orderID := uuid.NewString()
	first := newPayment(t, s, orderID)
	stored, added, err := s.AddPayment(ctx, first, domain.Authorized{Payment: first})
	if err != nil || !added || stored != first || pub.n.Load() != 1 {
		t.Fatalf("first AddPayment = %+v, %v, %v (%d facts)", stored, added, err, pub.n.Load())
	}
	second := newPayment(t, s, orderID)
	stored, added, err = s.AddPayment(ctx, second, domain.Authorized{Payment: second})
	if err != nil || added || stored != first || pub.n.Load() != 1 {
		t.Fatalf("second AddPayment = %+v, %v, %v (%d facts); want the first, not added", stored, added, err, pub.n.Load())
	}
	if got, err := s.Payment(ctx, orderID); err != nil || got != first {
		t.Errorf("Payment = %+v, %v", got, err)
	}
	if _, err := s.Payment(ctx, uuid.NewString()); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown order: %v", err)
	}
	if _, err := s.Card(ctx, "tok_"+strings.Repeat("0", 32)); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown card: %v", err)
	}
}

// TestUpdatePayment: fn's change is saved with its facts; fn's error rolls
// back; an unknown order is KindNotFound.
func TestUpdatePayment(t *testing.T) {
	t.Parallel()
	pub := &counting{}
	s, ctx := store.New(dbtest.Open(t, "payments"), pub.publish), context.Background()
	p := newPayment(t, s, uuid.NewString())
	if _, _, err := s.AddPayment(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdatePayment(ctx, p.OrderID(), func(p *domain.Payment) ([]any, error) {
		p.BeginRefund(time.Now())
		return nil, errs.E(errs.KindConflict, "no")
	})
	if !errs.Is(err, errs.KindConflict) {
		t.Fatalf("fn's error: %v", err)
	}
	if got, _ := s.Payment(ctx, p.OrderID()); got != p {
		t.Fatalf("rolled back change stored: %+v", got)
	}
	var fact any
	got, err := s.UpdatePayment(ctx, p.OrderID(), func(p *domain.Payment) ([]any, error) {
		if op := p.BeginRefund(time.Now()); op != domain.OpVoid {
			t.Errorf("op %q", op)
		}
		fact = p.Settle(domain.OpVoid, time.Now())
		return []any{fact}, nil
	})
	if err != nil || got.Status() != domain.StatusVoided || pub.n.Load() != 1 {
		t.Fatalf("UpdatePayment = %+v, %v (%d facts)", got, err, pub.n.Load())
	}
	if stored, _ := s.Payment(ctx, p.OrderID()); stored != got || stored.RefundedAt().IsZero() {
		t.Errorf("stored %+v, want %+v", stored, got)
	}
	if _, err := s.UpdatePayment(ctx, uuid.NewString(), func(*domain.Payment) ([]any, error) { return nil, nil }); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown order: %v", err)
	}
}

// TestClaimPending: payments whose pending operation was taken up at due
// or before are claimed oldest first, one per call, each stamped with the
// claim's time, which takes it out of the running; payments with nothing
// pending are never claimed.
func TestClaimPending(t *testing.T) {
	t.Parallel()
	s, ctx := store.New(dbtest.Open(t, "payments"), (&counting{}).publish), context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	add := func(started time.Time) domain.Payment {
		p := newPayment(t, s, uuid.NewString())
		if _, _, err := s.AddPayment(ctx, p); err != nil {
			t.Fatal(err)
		}
		if started.IsZero() {
			return p
		}
		got, err := s.UpdatePayment(ctx, p.OrderID(), func(p *domain.Payment) ([]any, error) {
			_, err := p.BeginCapture(started)
			return nil, err
		})
		if err != nil || got.Pending() != domain.OpCapture || !got.AttemptedAt().Equal(started) {
			t.Fatalf("begin capture: %+v, %v", got, err)
		}
		return got
	}
	newer, older := add(t0.Add(time.Second)), add(t0)
	add(time.Time{}) // nothing pending
	claim := func(due, now time.Time, want string) {
		t.Helper()
		got, ok, err := s.ClaimPending(ctx, due, now)
		if err != nil || ok != (want != "") || got != want {
			t.Fatalf("ClaimPending(%v) = %q, %v, %v; want %q", due, got, ok, err, want)
		}
	}
	claim(t0.Add(-time.Microsecond), t0, "")
	later := t0.Add(time.Hour)
	claim(t0.Add(time.Second), later, older.OrderID())
	if p, err := s.Payment(ctx, older.OrderID()); err != nil || !p.AttemptedAt().Equal(later) || p.Pending() != domain.OpCapture {
		t.Fatalf("claimed payment %+v, %v; want still pending, taken up at %v", p, err, later)
	}
	claim(t0.Add(time.Second), later.Add(time.Second), newer.OrderID())
	claim(t0.Add(time.Second), later, "")
	claim(later, later, older.OrderID()) // due again once due reaches its claim
}
