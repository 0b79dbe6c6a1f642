package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/orders/internal/domain"
	"github.com/shopmonolith/shop/modules/orders/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

func newStore(t *testing.T) (*store.Store, domain.Transactor) {
	t.Helper()
	db := dbtest.Open(t, "orders")
	s := store.New(db, func(context.Context, *gorm.DB, ...domain.Fact) error { return nil })
	return s, s.Transactor(db)
}

func newOrder(t *testing.T, userID string, now time.Time) *domain.Order {
	t.Helper()
	items := []domain.Item{
		{ProductID: uuid.NewString(), SKU: "MUG-1", Name: "Mug", Quantity: 2, UnitPrice: 1250},
		{ProductID: uuid.NewString(), SKU: "TEA-1", Name: "Tea", Quantity: 1, UnitPrice: 499},
	}
	o, err := domain.NewOrder(uuid.NewString(), userID, "ada@example.com", items, "EUR", "tok_1", "4242", now)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func insert(t *testing.T, inTx domain.Transactor, o *domain.Order) {
	t.Helper()
	err := inTx(context.Background(), func(r domain.Repository) error {
		_, err := r.Insert(context.Background(), o, uuid.NewString(), "hash")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// advance applies step to the locked order and saves it, in one
// transaction, as the saga does.
func advance(inTx domain.Transactor, id string, step func(*domain.Order)) error {
	ctx := context.Background()
	return inTx(ctx, func(r domain.Repository) error {
		o, err := r.Order(ctx, id, true)
		if err != nil {
			return err
		}
		step(o)
		return r.Save(ctx, o)
	})
}

// TestOrderReadsBackWhatWasStored: the items in line order, the timeline
// in step order, and every field of the order; an unknown id is not found,
// locked or not.
func TestOrderReadsBackWhatWasStored(t *testing.T) {
	t.Parallel()
	s, inTx := newStore(t)
	ctx := context.Background()
	o := newOrder(t, uuid.NewString(), time.Now())
	insert(t, inTx, o)
	if err := advance(inTx, o.ID(), func(o *domain.Order) { o.StockReserved(time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if err := advance(inTx, o.ID(), func(o *domain.Order) { o.Confirm(time.Now()) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.Order(ctx, o.ID(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status() != domain.StatusConfirmed || got.ConfirmedAt().IsZero() || got.Total() != o.Total() ||
		got.UserID() != o.UserID() || got.Email() != o.Email() || got.Currency() != "EUR" ||
		got.CardToken() != "tok_1" || got.CardLast4() != "4242" || !got.CreatedAt().Equal(o.CreatedAt()) {
		t.Errorf("order = %+v", got)
	}
	if len(got.Items()) != 2 || got.Items()[0] != o.Items()[0] || got.Items()[1] != o.Items()[1] {
		t.Errorf("items = %+v, want %+v", got.Items(), o.Items())
	}
	want := []string{domain.StepPlaced, domain.StepStockReserved, domain.StepPaymentAuthorized, domain.StepConfirmed}
	tl := got.Timeline()
	if len(tl) != len(want) {
		t.Fatalf("timeline = %+v, want steps %v", tl, want)
	}
	for i, st := range tl {
		if st.Step != want[i] || st.At.IsZero() || st.At.Location() != time.UTC {
			t.Errorf("step %d = %+v, want %s at a UTC time", i, st, want[i])
		}
	}
	if tl[0].Detail != o.Timeline()[0].Detail || !tl[0].At.Equal(o.Timeline()[0].At) {
		t.Errorf("first step = %+v, want %+v", tl[0], o.Timeline()[0])
	}
	page, err := s.Orders(ctx, domain.Filter{UserID: o.UserID(), Limit: 10})
	if err != nil || len(page) != 1 || len(page[0].Timeline()) != len(want) || len(page[0].Items()) != 2 {
		t.Errorf("Orders = %+v, %v", page, err)
	}
	if _, err := s.Order(ctx, uuid.NewString(), false); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown order: %v", err)
	}
	if err := advance(inTx, uuid.NewString(), func(*domain.Order) {}); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown order, locked: %v", err)
	}
}

// TestReadsSeeOneStateOfAnOrder: a writer moves orders through placed,
// stock_reserved and confirmed, each step one transaction that changes the
// status and appends to the timeline together, while readers read the
// order being moved and the customer's list. Every order read must have
// the status its timeline's last step names: a read made of several
// statements sees a status from before a step and a timeline from after it.
func TestReadsSeeOneStateOfAnOrder(t *testing.T) {
	t.Parallel()
	s, inTx := newStore(t)
	user := uuid.NewString()
	const orders = 40

	var (
		current atomic.Pointer[string] // the order being moved
		reads   atomic.Int64
		torn    atomic.Int64
		first   sync.Once
		done    = make(chan struct{})
		read    = make(chan struct{}, 1) // a read finished
	)
	check := func(o *domain.Order) {
		tl := o.Timeline()
		if len(tl) == 0 || tl[len(tl)-1].Step != o.Status() {
			torn.Add(1)
			first.Do(func() { t.Errorf("order %s read as %s with timeline %+v", o.ID(), o.Status(), tl) })
		}
	}
	reader := func(ctx context.Context) error {
		for {
			select {
			case <-done:
				return nil
			default:
			}
			if id := current.Load(); id != nil {
				o, err := s.Order(ctx, *id, false)
				if err != nil {
					return err
				}
				check(o)
			}
			list, err := s.Orders(ctx, domain.Filter{UserID: user, Limit: 5})
			if err != nil {
				return err
			}
			for _, o := range list {
				check(o)
			}
			reads.Add(1)
			select {
			case read <- struct{}{}:
			default:
			}
		}
	}
	var wg sync.WaitGroup
	failed := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			if err := reader(context.Background()); err != nil {
				failed <- err
			}
		})
	}
	stop := sync.OnceFunc(func() { close(done); wg.Wait() })
	defer stop()

	steps := []func(*domain.Order){
		func(o *domain.Order) { o.StockReserved(time.Now()) },
		func(o *domain.Order) { o.Confirm(time.Now()) },
	}
	for range orders {
		o := newOrder(t, user, time.Now())
		insert(t, inTx, o)
		id := o.ID()
		current.Store(&id)
		for _, step := range steps {
			select { // a read ran since the last step: readers and writer interleave
			case <-read:
			case err := <-failed:
				t.Fatal(err)
			}
			if err := advance(inTx, id, step); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop()
	select {
	case err := <-failed:
		t.Fatal(err)
	default:
	}
	if n := torn.Load(); n > 0 {
		t.Errorf("%d orders read torn in %d rounds of reads", n, reads.Load())
	}
}

// A customer's checkouts of one key run at a time: another key is refused
// while one runs, the same key (a retry running beside the first) is let
// in, and the row is free only once every holder ended — or, left by a
// process that stopped, once it is stale. Ending is for the ender's key only.
func TestOneCheckoutKeyAtATimePerCustomer(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx, user := context.Background(), uuid.NewString()
	const fresh, stale = time.Hour, 0 // as the window: nothing is stale, everything is
	start := func(key string, window time.Duration) bool {
		t.Helper()
		ok, err := s.StartCheckout(ctx, user, key, window)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	end := func(key string) {
		t.Helper()
		if err := s.EndCheckout(ctx, user, key); err != nil {
			t.Fatal(err)
		}
	}
	if !start("a", fresh) {
		t.Fatal("the first checkout was refused")
	}
	if start("b", fresh) {
		t.Error("another key was let in while the first checkout runs")
	}
	if !start("a", fresh) {
		t.Error("the same key was refused")
	}
	end("a") // one of the two holders of a ended
	if start("b", fresh) {
		t.Error("another key was let in while a retry of the first still runs")
	}
	end("a")
	if !start("b", fresh) {
		t.Error("another key was refused after every holder of the first ended")
	}
	end("a") // a's holders are gone: nothing of b's changes
	if start("c", fresh) {
		t.Error("ending a key that no longer holds the row freed it")
	}
	if !start("c", stale) {
		t.Error("a stale row held back another checkout")
	}
	end("c")
	if other, err := s.StartCheckout(ctx, uuid.NewString(), "c", fresh); err != nil || !other {
		t.Errorf("another customer's checkout: %v, %v; want started", other, err)
	}
}
