package domain

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// memRepo is an in-memory Repository.
type memRepo struct {
	mu          sync.Mutex
	carts       map[string]Cart
	updates     int
	remembered  [][]Line
	rememberErr error
}

var _ Repository = (*memRepo)(nil)

func newMemRepo() *memRepo { return &memRepo{carts: map[string]Cart{}} }

func (r *memRepo) Cart(_ context.Context, userID string) (Cart, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.carts[userID]
	if !ok {
		return NewCart(userID), nil
	}
	return RestoreCart(userID, c.currency, c.updatedAt, c.lines), nil
}

func (r *memRepo) Update(ctx context.Context, userID string, change func(c *Cart) error) (Cart, error) {
	c, _ := r.Cart(ctx, userID)
	if err := change(&c); err != nil {
		return Cart{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates++
	r.carts[userID] = RestoreCart(userID, c.currency, c.updatedAt, c.lines)
	return c, nil
}

func (r *memRepo) Remember(_ context.Context, userID string, lines []Line) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remembered = append(r.remembered, lines)
	if r.rememberErr != nil {
		return r.rememberErr
	}
	c := r.carts[userID]
	for _, l := range lines {
		if i := c.index(l.productID); i >= 0 {
			l.quantity, l.stale, l.unavailable = c.lines[i].quantity, false, false
			c.lines[i] = l
		}
	}
	return nil
}

func (r *memRepo) Clear(_ context.Context, userID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.carts, userID)
	return nil
}

// fakePrices and fakeStock are the neighbours, one function each.
type fakePrices struct {
	products func(ctx context.Context, ids []string) (map[string]ProductInfo, error)
}

var _ Prices = fakePrices{}

func (f fakePrices) Products(ctx context.Context, ids []string) (map[string]ProductInfo, error) {
	return f.products(ctx, ids)
}

type fakeStock struct {
	available func(ctx context.Context, ids []string) (map[string]int, error)
}

var _ Stock = fakeStock{}

func (f fakeStock) Available(ctx context.Context, ids []string) (map[string]int, error) {
	return f.available(ctx, ids)
}

// catalogOf answers from a fixed set of products.
func catalogOf(ps ...ProductInfo) fakePrices {
	byID := map[string]ProductInfo{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	return fakePrices{products: func(_ context.Context, ids []string) (map[string]ProductInfo, error) {
		out := map[string]ProductInfo{}
		for _, id := range ids {
			if p, ok := byID[id]; ok {
				out[id] = p
			}
		}
		return out, nil
	}}
}

func stockOf(levels map[string]int) fakeStock {
	return fakeStock{available: func(context.Context, []string) (map[string]int, error) { return maps.Clone(levels), nil }}
}

func blockedUntilDone[T any](ctx context.Context) (T, error) {
	<-ctx.Done()
	var zero T
	return zero, ctx.Err()
}

func newTestService(repo Repository, p Prices, s Stock, timeout time.Duration) *Service {
	return NewService(repo, p, s, timeout, func() time.Time { return t0 }, slog.New(slog.DiscardHandler))
}

func customerCtx() (context.Context, string) {
	id := uuid.NewString()
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: id, Role: auth.RoleCustomer}), id
}

func TestOwner(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	with := func(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }
	cases := []struct {
		name string
		ctx  context.Context
		kind errs.Kind
	}{
		{"anonymous", context.Background(), errs.KindUnauthenticated},
		{"module acting on its own", auth.AsService(context.Background(), "orders"), errs.KindForbidden},
		{"user id that is no user's", with(auth.Principal{UserID: "u-1", Role: auth.RoleCustomer}), errs.KindForbidden},
		{"customer", with(auth.Principal{UserID: id, Role: auth.RoleCustomer}), 0},
		{"admin", with(auth.Principal{UserID: id, Role: auth.RoleAdmin}), 0},
	}
	svc := newTestService(newMemRepo(), catalogOf(), stockOf(nil), time.Second)
	for _, tc := range cases {
		c, err := svc.Cart(tc.ctx)
		switch {
		case tc.kind == 0 && (err != nil || c.UserID() != id):
			t.Errorf("%s: cart of %q, %v; want %s's", tc.name, c.UserID(), err, id)
		case tc.kind != 0 && !errs.Is(err, tc.kind):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.kind)
		}
	}
}

func TestAddItemNeedsTheCatalog(t *testing.T) {
	t.Parallel()
	p := product(500, "EUR")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cases := []struct {
		name     string
		id       string
		quantity int
		prices   func(ctx context.Context, ids []string) (map[string]ProductInfo, error)
		kind     errs.Kind
		field    string
		asks     bool // whether the catalog must be asked at all
	}{
		{name: "malformed id", id: "nope", quantity: 1, kind: errs.KindNotFound, field: "product_id"},
		{name: "bad quantity", id: p.ID, quantity: 0, kind: errs.KindInvalid, field: "quantity"},
		{name: "unknown product", id: p.ID, quantity: 1, asks: true, kind: errs.KindNotFound, field: "product_id",
			prices: func(context.Context, []string) (map[string]ProductInfo, error) {
				return map[string]ProductInfo{}, nil
			}},
		{name: "catalog answering about another product", id: p.ID, quantity: 1, asks: true, kind: errs.KindInternal,
			prices: func(context.Context, []string) (map[string]ProductInfo, error) {
				return map[string]ProductInfo{p.ID: product(500, "EUR")}, nil
			}},
		{name: "catalog failing", id: p.ID, quantity: 1, asks: true, kind: errs.KindUnavailable,
			prices: func(context.Context, []string) (map[string]ProductInfo, error) {
				return nil, errors.New("connection refused")
			}},
		{name: "catalog slow", id: p.ID, quantity: 1, asks: true, kind: errs.KindUnavailable,
			prices: func(ctx context.Context, _ []string) (map[string]ProductInfo, error) {
				return blockedUntilDone[map[string]ProductInfo](ctx)
			}},
		// A catalog that ignores its deadline is given up on all the same.
		{name: "catalog stuck", id: p.ID, quantity: 1, asks: true, kind: errs.KindUnavailable,
			prices: func(context.Context, []string) (map[string]ProductInfo, error) {
				<-release
				return map[string]ProductInfo{p.ID: p}, nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			prices := fakePrices{products: func(ctx context.Context, ids []string) (map[string]ProductInfo, error) {
				n.Add(1)
				if len(ids) != 1 || ids[0] != tc.id {
					t.Errorf("catalog asked for %v, want just %s", ids, tc.id)
				}
				return tc.prices(ctx, ids)
			}}
			repo := newMemRepo()
			ctx, _ := customerCtx()
			_, err := newTestService(repo, prices, stockOf(nil), 20*time.Millisecond).AddItem(ctx, tc.id, tc.quantity)
			if kind, field := fieldOf(err); err == nil || kind != tc.kind || field != tc.field {
				t.Fatalf("err = %v, want %v naming %q", err, tc.kind, tc.field)
			}
			if (n.Load() > 0) != tc.asks {
				t.Errorf("catalog asked %d times, want asked: %v", n.Load(), tc.asks)
			}
			if repo.updates != 0 {
				t.Errorf("a refused add stored the cart %d times", repo.updates)
			}
		})
	}
}

// TestReadAsksTheCatalogOnce: a full cart is priced by one catalog call
// for all its lines, and when that call misses the deadline every line
// keeps its last known price, stale.
func TestReadAsksTheCatalogOnce(t *testing.T) {
	t.Parallel()
	ps := make([]ProductInfo, MaxLines)
	want := make([]string, MaxLines)
	for i := range ps {
		ps[i] = product(10, "EUR")
		want[i] = ps[i].ID
	}
	repo := newMemRepo()
	ctx, user := customerCtx()
	repo.carts[user] = cartWith(t, ps...)
	var mu sync.Mutex
	var asked [][]string
	slow := fakePrices{products: func(ctx context.Context, ids []string) (map[string]ProductInfo, error) {
		mu.Lock()
		asked = append(asked, slices.Clone(ids))
		mu.Unlock()
		return blockedUntilDone[map[string]ProductInfo](ctx)
	}}
	c, err := newTestService(repo, slow, stockOf(nil), 50*time.Millisecond).Cart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || !slices.Equal(asked[0], want) {
		t.Errorf("catalog asked %d times (%v), want once for every line in line order", len(asked), asked)
	}
	if !c.Stale() || len(c.Lines()) != MaxLines {
		t.Fatalf("cart stale %v with %d lines, want stale with %d", c.Stale(), len(c.Lines()), MaxLines)
	}
	for _, l := range c.Lines() {
		if !l.Stale() || l.Unavailable() || l.UnitPrice().Amount() != 10 {
			t.Fatalf("line %+v, want stale at its last known price", l)
		}
	}
}

// TestReadGivesUpOnStuckNeighbours: a catalog and an inventory that ignore
// their context still cannot hold a read past the deadline.
func TestReadGivesUpOnStuckNeighbours(t *testing.T) {
	t.Parallel()
	p := product(300, "EUR")
	repo := newMemRepo()
	ctx, user := customerCtx()
	c := cartWith(t, p)
	c.lines[0].available = 7
	repo.carts[user] = c
	release := make(chan struct{})
	var returned atomic.Bool
	stuck := fakePrices{products: func(context.Context, []string) (map[string]ProductInfo, error) {
		defer returned.Store(true)
		select {
		case <-release:
		case <-time.After(time.Minute): // a bound for a broken test, not a pace
		}
		return map[string]ProductInfo{p.ID: p}, nil
	}}
	stuckStock := fakeStock{available: func(context.Context, []string) (map[string]int, error) {
		<-release
		return nil, nil
	}}
	got, err := newTestService(repo, stuck, stuckStock, 20*time.Millisecond).Cart(ctx)
	if returned.Load() {
		t.Fatal("the read waited for the stuck catalog")
	}
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	l := got.Lines()[0]
	if !got.Stale() || !l.Stale() || l.UnitPrice().Amount() != 300 || l.Available() != 7 {
		t.Fatalf("line %+v (cart stale %v), want its last known values, stale", l, got.Stale())
	}
}

func TestReadRemembersWhatChanged(t *testing.T) {
	t.Parallel()
	a, b := product(100, "EUR"), product(200, "EUR")
	repo := newMemRepo()
	ctx, user := customerCtx()
	repo.carts[user] = cartWith(t, a, b)
	aNow := a
	aNow.PriceMinor = 120
	svc := newTestService(repo, catalogOf(aNow, b), stockOf(map[string]int{a.ID: 0, b.ID: 0}), time.Second)
	c, err := svc.Cart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Stale() || c.Total().Amount() != 320 {
		t.Fatalf("cart stale %v total %d, want fresh 320", c.Stale(), c.Total().Amount())
	}
	if len(repo.remembered) != 1 || len(repo.remembered[0]) != 1 || repo.remembered[0][0].ProductID() != a.ID {
		t.Fatalf("remembered %+v, want only the repriced line", repo.remembered)
	}
	if _, err := svc.Cart(ctx); err != nil || len(repo.remembered) != 1 {
		t.Fatalf("a read with nothing new remembered again (%d times), %v", len(repo.remembered), err)
	}

	// Remembering is best effort: the answer stands without it.
	repo.rememberErr = errs.Internal(errors.New("disk full"), "remember")
	aNow.PriceMinor = 130
	svc = newTestService(repo, catalogOf(aNow, b), stockOf(map[string]int{}), time.Second)
	if c, err := svc.Cart(ctx); err != nil || c.Total().Amount() != 330 {
		t.Fatalf("read with a failing store: total %d, %v; want 330", c.Total().Amount(), err)
	}
}
