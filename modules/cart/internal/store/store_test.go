package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/cart/internal/store"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func product(priceMinor int64) domain.ProductInfo {
	id := uuid.NewString()
	return domain.ProductInfo{ID: id, SKU: "SKU-" + id[:8], Name: "Product " + id[:8], PriceMinor: priceMinor, Currency: "EUR"}
}

func add(p domain.ProductInfo, quantity int, at time.Time) func(c *domain.Cart) error {
	return func(c *domain.Cart) error { return c.Add(p, quantity, at) }
}

func rowCount(t *testing.T, db *database.DB, table, userID string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sameLines(a, b []domain.Line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ProductID() != y.ProductID() || x.Quantity() != y.Quantity() || x.SKU() != y.SKU() || x.Name() != y.Name() ||
			x.UnitPrice() != y.UnitPrice() || x.Available() != y.Available() ||
			!x.RefreshedAt().Equal(y.RefreshedAt()) || !x.AddedAt().Equal(y.AddedAt()) {
			return false
		}
	}
	return true
}

func TestUpdateRoundTrip(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx, user := store.New(db), context.Background(), uuid.NewString()
	a, b := product(100), product(250)

	if c, err := s.Cart(ctx, user); err != nil || len(c.Lines()) != 0 || c.UserID() != user {
		t.Fatalf("unknown user's cart = %+v, %v; want empty", c, err)
	}
	// Added in the same microsecond: the product id keeps the order stable.
	if _, err := s.Update(ctx, user, add(b, 2, t0)); err != nil {
		t.Fatal(err)
	}
	changed, err := s.Update(ctx, user, add(a, 1, t0.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Cart(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if !sameLines(got.Lines(), changed.Lines()) || got.Currency() != "EUR" || !got.UpdatedAt().Equal(t0.Add(time.Second)) {
		t.Fatalf("stored %+v, want what Update returned: %+v", got, changed)
	}
	if got.Lines()[0].ProductID() != b.ID || got.Lines()[0].Quantity() != 2 {
		t.Errorf("lines %+v, want b first (added first)", got.Lines())
	}

	// The last line removed takes the cart row with it.
	for _, p := range []domain.ProductInfo{a, b} {
		if _, err := s.Update(ctx, user, func(c *domain.Cart) error { c.Remove(p.ID, t0); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := rowCount(t, db, "carts", user) + rowCount(t, db, "cart_items", user); n != 0 {
		t.Fatalf("%d rows left for an emptied cart", n)
	}
	// A change that changes nothing on a missing cart stores nothing.
	if _, err := s.Update(ctx, user, func(c *domain.Cart) error { c.Remove(a.ID, t0); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, db, "carts", user); n != 0 {
		t.Fatalf("a no-op change created a cart row")
	}
}

func TestUpdateErrorStoresNothing(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx, user := store.New(db), context.Background(), uuid.NewString()
	a := product(100)
	if _, err := s.Update(ctx, user, add(a, 1, t0)); err != nil {
		t.Fatal(err)
	}
	boom := errs.E(errs.KindConflict, "no")
	_, err := s.Update(ctx, user, func(c *domain.Cart) error {
		if err := c.Add(product(5), 1, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the change's own error", err)
	}
	if n := rowCount(t, db, "cart_items", user); n != 1 {
		t.Fatalf("%d lines after a failed change, want 1", n)
	}
}

// TestConcurrentChangesAreNotLost: many adds to one new cart at once, each
// a read-modify-write of the same line, all count.
func TestConcurrentChangesAreNotLost(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx, user := store.New(db), context.Background(), uuid.NewString()
	a := product(100)
	const n = 12
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.Update(ctx, user, add(a, 1, time.Now()))
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Cart(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := c.Line(a.ID); !ok || l.Quantity() != n {
		t.Fatalf("line %+v, want quantity %d", l, n)
	}
}

// TestConcurrentCreation: two first adds to a cart that does not exist yet
// both find no cart row to lock; the primary key lets one create it and
// the other makes its change again on the created cart.
func TestConcurrentCreation(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx, user := store.New(db), context.Background(), uuid.NewString()
	a := product(100)
	var bothRead sync.WaitGroup // both transactions have looked for the cart
	bothRead.Add(2)
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			first := true
			_, err := s.Update(ctx, user, func(c *domain.Cart) error {
				if first {
					first = false
					bothRead.Done()
					bothRead.Wait()
				}
				return c.Add(a, 1, t0)
			})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Cart(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := c.Line(a.ID); !ok || l.Quantity() != 2 {
		t.Fatalf("line %+v, want quantity 2", l)
	}
}

func TestRememberKeepsQuantities(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx, user := store.New(db), context.Background(), uuid.NewString()
	a, b := product(100), product(200)
	for _, p := range []domain.ProductInfo{a, b} {
		if _, err := s.Update(ctx, user, add(p, 3, t0)); err != nil {
			t.Fatal(err)
		}
	}
	// What a read saw: a repriced and renamed, b since removed by a
	// concurrent change; the read's quantity of a is older than the store's.
	if _, err := s.Update(ctx, user, func(c *domain.Cart) error {
		if err := c.SetQuantity(a.ID, 5, t0); err != nil {
			return err
		}
		c.Remove(b.ID, t0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := t0.Add(time.Hour)
	lines := []domain.Line{
		domain.RestoreLine(a.ID, "SKU-NEW", "New name", 3, 90, "EUR", 7, seen, t0),
		domain.RestoreLine(b.ID, b.SKU, b.Name, 3, 1, "EUR", 1, seen, t0),
	}
	if err := s.Remember(ctx, user, lines); err != nil {
		t.Fatal(err)
	}
	c, err := s.Cart(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Line{domain.RestoreLine(a.ID, "SKU-NEW", "New name", 5, 90, "EUR", 7, seen, t0)}
	if !sameLines(c.Lines(), want) {
		t.Fatalf("lines %+v, want %+v: values remembered, quantity kept, removed line not back", c.Lines(), want)
	}
	if err := s.Remember(ctx, uuid.NewString(), lines); err != nil {
		t.Fatalf("remembering for a user without a cart: %v", err)
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "cart")
	s, ctx := store.New(db), context.Background()
	user, other := uuid.NewString(), uuid.NewString()
	for _, u := range []string{user, other} {
		if _, err := s.Update(ctx, u, add(product(1), 1, t0)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // clearing an empty cart is fine too
		if err := s.Clear(ctx, user); err != nil {
			t.Fatal(err)
		}
	}
	if n := rowCount(t, db, "carts", user) + rowCount(t, db, "cart_items", user); n != 0 {
		t.Fatalf("%d rows left after Clear", n)
	}
	if n := rowCount(t, db, "cart_items", other); n != 1 {
		t.Fatalf("Clear touched another user's cart: %d lines left, want 1", n)
	}
}
