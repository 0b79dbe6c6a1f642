package ordersmodule_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/orders/orderstest"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/auth/authtest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// shop is the real orders module on a fresh database with a running bus,
// and fakes for its neighbours.
type shop struct {
	orders *ordersmodule.Module
	inv    *fakeInventory
	pay    *fakePayments
	cart   *fakeCart
	cfg    config.Config
}

func newShop(t *testing.T) *shop {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.PollInterval, cfg.Events.BackoffBase, cfg.Events.BackoffMax = 50*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "orders")
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := newFakeInventory()
	s := &shop{inv: inv, pay: newFakePayments(), cart: &fakeCart{inv: inv, prices: map[string]int64{}, lines: map[string][]cart.Item{}}, cfg: cfg}
	if s.orders, err = ordersmodule.New(ctx, dbs, log, cfg, bus, s.cart, s.inv, s.pay); err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Stop(context.Background()) })
	return s
}

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: uuid.NewString(), Email: "c@example.com", Role: auth.RoleCustomer})
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: uuid.NewString(), Email: "a@example.com", Role: auth.RoleAdmin})
}

func (s *shop) contractShop() orderstest.Shop {
	return orderstest.Shop{
		Customer: func(*testing.T) context.Context { return customer() },
		Admin:    func(*testing.T) context.Context { return admin() },
		Stock: func(_ *testing.T, price int64, onHand int) string {
			id := uuid.NewString()
			s.inv.mu.Lock()
			s.inv.onHand[id] = onHand
			s.inv.mu.Unlock()
			s.cart.mu.Lock()
			s.cart.prices[id] = price
			s.cart.mu.Unlock()
			return id
		},
		AddToCart: func(t *testing.T, ctx context.Context, product string, quantity int) {
			if _, err := s.cart.AddItem(ctx, product, quantity); err != nil {
				t.Fatal(err)
			}
		},
		Available: func(_ *testing.T, product string) int {
			s.inv.mu.Lock()
			defer s.inv.mu.Unlock()
			return s.inv.available(product)
		},
	}
}

// customerWith returns a new customer whose cart holds quantity of a new
// product of price with onHand in stock, and that product.
func (s *shop) customerWith(t *testing.T, price int64, onHand, quantity int) (context.Context, string) {
	t.Helper()
	cs, ctx := s.contractShop(), customer()
	product := cs.Stock(t, price, onHand)
	cs.AddToCart(t, ctx, product, quantity)
	return ctx, product
}

// checkout checks out ctx's cart with an approving card.
func (s *shop) checkout(ctx context.Context, key string) (orders.Order, error) {
	return s.orders.API().Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: key, CardNumber: payments.CardApprove})
}

// available is the stock of product not reserved.
func (s *shop) available(t *testing.T, product string) int {
	return s.contractShop().Available(t, product)
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	orderstest.Contract(t, s.orders.API(), s.contractShop())
	// Whatever the suite retried, nothing was captured or refunded twice.
	s.pay.mu.Lock()
	defer s.pay.mu.Unlock()
	for id, n := range s.pay.captures {
		if n != 1 {
			t.Errorf("order %s captured %d times", id, n)
		}
	}
	for id, n := range s.pay.refunds {
		if n != 1 {
			t.Errorf("order %s refunded %d times", id, n)
		}
	}
}

func TestCheckoutClearsTheCartAndRefusesStalePrices(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	cs := s.contractShop()
	ctx := customer()
	cs.AddToCart(t, ctx, cs.Stock(t, 100, 3), 1)
	s.cart.mu.Lock()
	s.cart.stale = true
	s.cart.mu.Unlock()
	_, err := s.orders.API().Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: "k1", CardNumber: payments.CardApprove})
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || e.RetryAfter <= 0 {
		t.Fatalf("checkout at stale prices: %v, want unavailable with a time to retry after", err)
	}
	s.cart.mu.Lock()
	s.cart.stale = false
	s.cart.mu.Unlock()
	if _, err := s.orders.API().Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: "k1", CardNumber: payments.CardApprove}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.cart.Cart(ctx); len(c.Items) != 0 {
		t.Errorf("cart after checkout = %+v, want empty", c.Items)
	}
}

// Two checkouts of one cart sent at once with different keys (a double
// click) make one order: the second is refused while the first runs, and a
// third, after it, finds the cart empty.
func TestCheckoutsOfOneCartSentAtOnceMakeOneOrder(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, _ := s.customerWith(t, 100, 3, 1)
	var reads atomic.Int32
	reading, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	s.cart.mu.Lock()
	s.cart.gate = func() {
		if reads.Add(1) == 1 { // the first checkout reads the cart and waits there
			close(reading)
			<-release
		}
	}
	s.cart.mu.Unlock()
	checkout := func(key string) (orders.Order, error) { return s.checkout(ctx, key) }
	first := make(chan error, 1)
	go func() {
		_, err := checkout("click-1")
		first <- err
	}()
	<-reading
	if o, err := checkout("click-2"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("a second checkout while the first runs: %+v, %v; want a conflict", o, err)
	}
	releaseOnce()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := checkout("click-3"); !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("a checkout after the first: %v, want the cart is empty", err)
	}
	page, err := s.orders.API().Orders(ctx, orders.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Errorf("orders = %d, want 1", len(page.Items))
	}
}

// A retry with the first checkout's key runs beside it, and holds the cart
// as long as it runs: when the first fails meanwhile, a checkout with
// another key (a double click) is still refused.
func TestARetryStillRunningHoldsTheCartWhenTheFirstFails(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, _ := s.customerWith(t, 100, 3, 1)
	var reads atomic.Int32
	reading := []chan struct{}{make(chan struct{}), make(chan struct{})}
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	releases := []func(){sync.OnceFunc(func() { close(release[0]) }), sync.OnceFunc(func() { close(release[1]) })}
	t.Cleanup(func() { releases[0](); releases[1]() })
	s.cart.mu.Lock()
	s.cart.gate = func() { // the first two reads of the cart wait, each for its turn
		if n := reads.Add(1); n <= 2 {
			close(reading[n-1])
			<-release[n-1]
		}
	}
	s.cart.mu.Unlock()
	done := []chan error{make(chan error, 1), make(chan error, 1)}
	go func() { _, err := s.checkout(ctx, "k"); done[0] <- err }()
	<-reading[0]
	go func() { _, err := s.checkout(ctx, "k"); done[1] <- err }() // a retry of the same request
	<-reading[1]
	s.cart.mu.Lock()
	s.cart.stale = true // the first fails: its prices cannot be confirmed
	s.cart.mu.Unlock()
	releases[0]()
	if err := <-done[0]; !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("the first checkout: %v, want unavailable", err)
	}
	if o, err := s.checkout(ctx, "k2"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("another key while the retry runs: %+v, %v; want a conflict", o, err)
	}
	s.cart.mu.Lock()
	s.cart.stale = false
	s.cart.mu.Unlock()
	releases[1]()
	if err := <-done[1]; err != nil {
		t.Fatal(err)
	}
	if page, _ := s.orders.API().Orders(ctx, orders.Query{}); len(page.Items) != 1 {
		t.Errorf("orders = %d, want 1", len(page.Items))
	}
}

// A cart whose total is 0 is not ordered: no payment could be authorized,
// and the order would hold its stock until the payment step gave up.
func TestACartTotallingNothingIsNotOrdered(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, product := s.customerWith(t, 0, 3, 1)
	if _, err := s.checkout(ctx, "k"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("checkout of a free cart: %v, want a conflict", err)
	}
	if page, _ := s.orders.API().Orders(ctx, orders.Query{}); len(page.Items) != 0 {
		t.Errorf("orders = %+v, want none", page.Items)
	}
	if got := s.available(t, product); got != 3 {
		t.Errorf("available = %d, want 3", got)
	}
	s.pay.mu.Lock()
	defer s.pay.mu.Unlock()
	if len(s.pay.cards) != 0 {
		t.Errorf("cards kept for the refused checkout: %d, want none", len(s.pay.cards))
	}
}

// A payment request that payments refuses as invalid (an amount it cannot
// take) fails the order and gives its stock back: no retry changes the
// answer, and a dead-lettered step would leave the stock held.
func TestAPaymentRequestRefusedAsInvalidFailsTheOrder(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, product := s.customerWith(t, 100, 3, 2)
	s.pay.mu.Lock()
	s.pay.refuse = errs.Invalid(errs.Field("amount", "max", "is more than a payment may be"))
	s.pay.mu.Unlock()
	o, err := s.checkout(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Eventually(t, 10*time.Second, "order failed", func() bool {
		o, _ = s.orders.API().Order(ctx, o.ID)
		return o.Status == orders.StatusFailed
	})
	if o.Reason != "payment_refused" {
		t.Errorf("reason = %q, want payment_refused", o.Reason)
	}
	if got := s.available(t, product); got != 3 {
		t.Errorf("available = %d, want 3 (released)", got)
	}
}

// A saga step whose neighbour fails is retried until it succeeds: the order
// waits in placed, and gets its stock once inventory answers again.
func TestSagaStepRetriedUntilTheNeighbourAnswers(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, product := s.customerWith(t, 100, 3, 1)
	s.inv.mu.Lock()
	s.inv.failReserve = errs.E(errs.KindUnavailable, "inventory is down")
	s.inv.mu.Unlock()
	o, err := s.checkout(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ = s.orders.API().Order(ctx, o.ID); o.Status != orders.StatusPlaced {
		t.Fatalf("status while inventory is down = %s, want placed", o.Status)
	}
	s.inv.mu.Lock()
	s.inv.failReserve = nil
	s.inv.mu.Unlock()
	eventstest.Eventually(t, 10*time.Second, "order confirmed after inventory recovers", func() bool {
		o, _ = s.orders.API().Order(ctx, o.ID)
		return o.Status == orders.StatusConfirmed && o.PaymentCaptured
	})
	if got := s.available(t, product); got != 2 {
		t.Errorf("available = %d, want 2 (reserved once)", got)
	}
}

// The saga holds no lock on an order across a call to a neighbour: while
// inventory or the card gateway hangs on a step's call, the customer's
// cancel answers at once. When the call comes back after all, its outcome
// is not recorded on the cancelled order, and the cancellation gives back
// whatever the call took: the reservation released, the authorization
// voided, the capture refunded (and the committed stock put back).
func TestCancelAnswersWhileASagaCallHangs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		call      string // the neighbour's command that hangs
		unwritten string // the step the late outcome would have recorded
		payment   string // the payment's final status
	}{
		{"reserve", "stock_reserved", ""}, // never authorized
		{"authorize", "confirmed", payments.StatusVoided},
		{"capture", "payment_captured", payments.StatusRefunded},
	} {
		t.Run(tc.call, func(t *testing.T) {
			t.Parallel()
			s := newShop(t)
			cs := s.contractShop()
			ctx := customer()
			product := cs.Stock(t, 100, 3)
			cs.AddToCart(t, ctx, product, 2)
			entered, release := make(chan struct{}), make(chan struct{})
			var once, freed sync.Once
			gate := func(call string) {
				if call == tc.call {
					once.Do(func() { close(entered) })
					<-release
				}
			}
			s.inv.mu.Lock()
			s.inv.gate = gate
			s.inv.mu.Unlock()
			s.pay.mu.Lock()
			s.pay.gate = gate
			s.pay.mu.Unlock()
			free := func() { freed.Do(func() { close(release) }) }
			t.Cleanup(free) // before the bus stops (cleanups run last first)

			o, err := s.orders.API().Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: "k", CardNumber: payments.CardApprove})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatalf("the saga never called %s", tc.call)
			}
			// The deadline only keeps a cancel stuck behind a lock from hanging
			// the test: it fires only if the cancel waits for the call.
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			got, err := s.orders.API().Cancel(cctx, o.ID)
			if err != nil {
				t.Fatalf("cancel while %s is in flight: %v", tc.call, err)
			}
			if got.Status != orders.StatusCancelled {
				t.Fatalf("status after cancel = %s, want cancelled", got.Status)
			}
			free()

			eventstest.Eventually(t, 10*time.Second, "stock and money given back", func() bool {
				o, _ = s.orders.API().Order(ctx, o.ID)
				return hasStep(o, "stock_released") && (tc.payment == "") == !hasStep(o, "payment_refunded")
			})
			if o.Status != orders.StatusCancelled || hasStep(o, tc.unwritten) {
				t.Errorf("order = %s with timeline %+v, want cancelled without %s", o.Status, o.Timeline, tc.unwritten)
			}
			if got := cs.Available(t, product); got != 3 {
				t.Errorf("available = %d, want 3 (all stock given back)", got)
			}
			s.inv.mu.Lock()
			onHand := s.inv.onHand[product]
			s.inv.mu.Unlock()
			if onHand != 3 {
				t.Errorf("on hand = %d, want 3", onHand)
			}
			s.pay.mu.Lock()
			defer s.pay.mu.Unlock()
			if p := s.pay.payments[o.ID]; p.Status != tc.payment {
				t.Errorf("payment = %q, want %q", p.Status, tc.payment)
			}
		})
	}
}

func hasStep(o orders.Order, step string) bool {
	for _, st := range o.Timeline {
		if st.Step == step {
			return true
		}
	}
	return false
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	cs := s.contractShop()
	ctx := customer()
	cs.AddToCart(t, ctx, cs.Stock(t, 100, 3), 2)
	p, _ := auth.FromContext(ctx)
	srv := httpapi.New(s.cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), authtest.Tokens{"ok": p}, nil)
	s.orders.Routes(srv.Router("orders"))
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)

	call := func(method, path, token, key, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var doc map[string]any
		_ = json.Unmarshal(raw, &doc)
		return res, doc
	}
	body := `{"card_number":"4242 4242 4242 4242"}`
	for _, tc := range []struct {
		name, token, key, body string
		status                 int
	}{
		{"anonymous", "", "k", body, http.StatusUnauthorized},
		{"no key", "ok", "", body, http.StatusUnprocessableEntity},
		{"unknown field (a price)", "ok", "k", `{"card_number":"4242424242424242","total":1}`, http.StatusUnprocessableEntity},
		{"key in the body", "ok", "", `{"card_number":"4242424242424242","idempotency_key":"k"}`, http.StatusUnprocessableEntity},
		{"bad card", "ok", "k", `{"card_number":"1234"}`, http.StatusUnprocessableEntity},
	} {
		if res, doc := call(http.MethodPost, "/api/orders", tc.token, tc.key, tc.body); res.StatusCode != tc.status ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s %v, want %d problem", tc.name, res.StatusCode, res.Header.Get("Content-Type"), doc, tc.status)
		}
	}
	res, doc := call(http.MethodPost, "/api/orders", "ok", "key-1", body)
	if _, ok := doc["replayed"]; res.StatusCode != http.StatusCreated || doc["status"] != orders.StatusPlaced || res.Header.Get("Location") == "" || ok {
		t.Fatalf("checkout: %d %v", res.StatusCode, doc)
	}
	id := doc["id"].(string)
	res, doc = call(http.MethodPost, "/api/orders", "ok", "key-1", body)
	if res.StatusCode != http.StatusOK || doc["id"] != id || res.Header.Get("Idempotent-Replayed") != "true" || doc["replayed"] != true {
		t.Errorf("retry: %d %v %v %v, want 200 with the same order, replayed", res.StatusCode, doc["id"], doc["replayed"], res.Header)
	}
	if res, _ := call(http.MethodGet, "/api/orders/"+id, "ok", "", ""); res.StatusCode != http.StatusOK {
		t.Errorf("get: %d", res.StatusCode)
	}
	if res, _ := call(http.MethodPost, "/api/orders/"+id+"/ship", "ok", "", ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("customer ships: %d, want 403", res.StatusCode)
	}
	for _, limit := range []string{"0x", "0", "-1", "101"} {
		if res, _ := call(http.MethodGet, "/api/orders?limit="+limit, "ok", "", ""); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("limit=%s: %d, want 422", limit, res.StatusCode)
		}
	}
}
