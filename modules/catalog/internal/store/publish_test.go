package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// Facts are published inside the write's transaction: a failing publish
// undoes the write.
func TestPublishSharesTheTransaction(t *testing.T) {
	t.Parallel()
	s, rec := newRecordingStore(t)
	ctx := context.Background()
	p := createProduct(t, s, domain.ProductSpec{SKU: "A", Name: "A"})
	if got := rec.recorded(); len(got) != 0 {
		t.Fatalf("CreateProduct without facts published %v", got)
	}
	rec.err = errors.New("outbox down")
	q, _ := domain.NewProduct(domain.ProductSpec{SKU: "B", Name: "B", Currency: "EUR"}, now)
	if err := s.CreateProduct(ctx, q, domain.ProductCreated{Product: q}); err == nil {
		t.Fatal("CreateProduct succeeded although publishing failed")
	}
	if _, err := s.Product(ctx, q.ID(), true); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("product stored although publishing failed: %v", err)
	}
	name := "renamed"
	_, err := s.UpdateProduct(ctx, p.ID(), func(p *domain.Product) ([]any, error) {
		return []any{"fact"}, p.Apply(domain.ProductChanges{Name: &name}, now.Add(time.Hour))
	})
	if err == nil {
		t.Fatal("UpdateProduct succeeded although publishing failed")
	}
	if got, _ := s.Product(ctx, p.ID(), true); got.Name() != "A" {
		t.Fatalf("update kept although publishing failed: %+v", got)
	}
}

func TestAnnounceDealsWindows(t *testing.T) {
	t.Parallel()
	s, rec := newRecordingStore(t)
	ctx := context.Background()
	p := createProduct(t, s, domain.ProductSpec{SKU: "A", Name: "A"})
	mk := func(name string, start, end time.Duration) domain.Deal {
		d, err := domain.NewDeal(domain.DealSpec{Name: name, Kind: domain.DealPercent, Value: 10,
			ProductID: p.ID(), StartsAt: now.Add(start), EndsAt: now.Add(end)}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDeal(ctx, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	mk("passed unseen", -2*time.Hour, -time.Hour)
	running := mk("running", -time.Hour, time.Hour)
	mk("future", 2*time.Hour, 3*time.Hour)
	n, err := s.AnnounceDeals(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("announced %d, %v; want 1", n, err)
	}
	if f, ok := rec.recorded()[0].(domain.DealStarted); !ok || f.Deal.ID() != running.ID() {
		t.Fatalf("facts = %v", rec.recorded())
	}
	next, ok, err := s.NextDealChange(ctx, now)
	if err != nil || !ok || !next.Equal(now.Add(time.Hour)) {
		t.Fatalf("next change = %v, %v, %v; want the running deal's end", next, ok, err)
	}
	if n, err := s.AnnounceDeals(ctx, now); err != nil || n != 0 {
		t.Fatalf("announced again: %d, %v", n, err)
	}
}
