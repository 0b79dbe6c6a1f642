package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/testreport"
)

// The monolith reaches PostgreSQL through a fault proxy, every connection
// of it (owner, modules, LISTEN), while customers read products, fill
// carts, check out and sign up. Under added latency every request still
// succeeds within its deadline. When the database resets its connections
// or refuses new ones, requests fail at once with 503 and succeed on
// retry. When it hangs, every request answers 503 before its deadline and
// readiness fails. After each fault the shop is ready, and a checkout is
// confirmed, within 10 s of the fault's end; and nothing is half-written:
// every order placed meanwhile settles as confirmed, with its stock and
// payment matching, and carts hold whole lines.
func TestDatabaseFaults(t *testing.T) {
	t.Parallel()
	direct := dbtest.NewURL(t)
	proxy := startFaultProxy(t, hostOf(t, direct))
	s := &shop{t: t, dbURL: throughProxy(t, direct, proxy.addr()), topo: monolith}
	// Short deadlines keep the hang quick. Under added latency the cart
	// waits for catalog prices (several round trips) longer than its
	// default 500 ms, after which it would refuse to price an addition.
	s.start(append(fastLogins,
		"SHOP_HTTP_REQUEST_TIMEOUT="+dbFaultDeadline.String(),
		"SHOP_DB_CONNECT_TIMEOUT=1s", "SHOP_DB_STATEMENT_TIMEOUT=2s", "SHOP_CART_CATALOG_TIMEOUT=3s",
		"SHOP_EVENTS_BACKOFF_BASE=200ms", "SHOP_EVENTS_BACKOFF_MAX=1s")...)
	f := newFaultRun(s, direct)

	f.fillCarts()
	f.round("normal", nil)

	f.fillCarts()
	proxy.delay(dbLatency)
	f.round("latency", func(c faultCall) {
		if c.err != nil || c.resp.Status >= 300 {
			t.Errorf("%s with %s latency = %d %v %s, want success", c.what, dbLatency, c.resp.Status, c.err, c.resp.Body)
		}
	})
	proxy.delay(0)
	f.recovered("latency")

	// Every open connection reset, and new ones too while the fault lasts.
	f.fillCarts()
	proxy.refuse(true)
	proxy.reset()
	failed := f.round("refused", func(c faultCall) { f.unavailable(c, dbFaultDeadline/2) })
	proxy.refuse(false)
	f.recovered("refused")
	f.retry(failed)

	// Connections reset once, while queries are under way (slowed down so
	// that they are): each request fails at once or succeeds, and succeeds
	// when tried again.
	f.fillCarts()
	proxy.delay(dbLatency)
	failed = f.round("reset", func(c faultCall) {
		if c.err == nil && c.resp.Status < 300 {
			return
		}
		f.unavailable(c, dbFaultDeadline)
	}, func() {
		proxy.awaitTraffic(t)
		proxy.reset()
		proxy.delay(0)
	})
	f.recovered("reset")
	f.retry(failed)

	f.fillCarts()
	proxy.hang(true)
	ready := make(chan faultCall, 1)
	go func() {
		ready <- f.timed("readiness", func() (response, error) { return s.send(time.Minute, "GET", "/readyz", "", nil) })
	}()
	f.round("hang", func(c faultCall) { f.unavailable(c, dbFaultDeadline+time.Second) })
	if c := <-ready; c.err != nil || c.resp.Status != http.StatusServiceUnavailable || c.took > 3*time.Second {
		t.Errorf("readiness while the database hangs = %d %v after %s, want 503 within its 2 s check", c.resp.Status, c.err, c.took)
	}
	proxy.hang(false)
	f.recovered("hang")

	f.checkWhole()
}

const (
	// SHOP_HTTP_REQUEST_TIMEOUT of the test's shop: short, to keep the hang
	// quick, but above what a checkout's twenty round trips take under the
	// added latency on a busy machine (3–4 s seen in race builds).
	dbFaultDeadline = 8 * time.Second
	dbLatency       = 50 * time.Millisecond // added each way under latency
	faultBuyers     = 4                     // customers checking out in every round
	faultCarts      = 2                     // customers only filling their carts
)

// hostOf is the host:port of a database URL.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// throughProxy is raw with its host:port replaced by addr.
func throughProxy(t *testing.T, raw, addr string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// faultRun is the customers of TestDatabaseFaults and what they did.
type faultRun struct {
	s       *shop
	t       *testing.T
	direct  string // the database, not through the proxy
	admin   string
	product string
	extra   string            // the product carts are filled with
	buyers  []string          // tokens of the customers who check out
	carts   []string          // tokens of the customers who only fill carts
	probe   string            // token of the customer who checks that the shop is back
	added   map[string][2]int // per cart customer: adds answered 2xx, adds tried
	signups map[string]int    // email → status of its sign-up
	mu      sync.Mutex
	n       int // rounds so far
}

// A faultCall is one request of a round.
type faultCall struct {
	what  string
	resp  response
	err   error
	took  time.Duration
	retry func() faultCall // the same request again (the same checkout key)
}

func newFaultRun(s *shop, direct string) *faultRun {
	t := s.t
	f := &faultRun{s: s, t: t, direct: direct, admin: s.login(adminEmail, adminPassword),
		added: map[string][2]int{}, signups: map[string]int{}}
	f.product = s.product(f.admin, "FAULT-1", 700, 500)
	f.extra = s.product(f.admin, "FAULT-2", 300, 500)
	for i := range faultBuyers {
		f.buyers = append(f.buyers, s.register(fmt.Sprintf("fault-buyer%d@example.com", i)))
	}
	for i := range faultCarts {
		f.carts = append(f.carts, s.register(fmt.Sprintf("fault-cart%d@example.com", i)))
	}
	f.probe = s.register("fault-probe@example.com")
	return f
}

func (f *faultRun) timed(what string, do func() (response, error)) faultCall {
	start := time.Now()
	r, err := do()
	return faultCall{what: what, resp: r, err: err, took: time.Since(start).Round(time.Millisecond)}
}

// fillCarts puts one unit of the product in each buyer's cart, alone.
func (f *faultRun) fillCarts() {
	f.t.Helper()
	for _, b := range f.buyers {
		f.s.must(http.StatusNoContent, f.s.call("DELETE", "/api/cart", b, nil))
		f.s.addToCart(b, f.product, 1)
	}
}

// round runs at once, for each buyer a product read and a checkout,
// for each cart customer an item added, and two sign-ups; during, if set,
// runs while they are under way. check judges each call; round returns
// the calls that failed, to retry once the fault is over.
func (f *faultRun) round(name string, check func(faultCall), during ...func()) (failed []faultCall) {
	f.t.Helper()
	f.n++
	var calls []faultCall
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(what string, do func() (response, error)) faultCall {
		c := f.timed(what, do)
		c.retry = func() faultCall { return f.timed(what, do) }
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, c)
		return c
	}
	for _, b := range f.buyers {
		key := uuid.NewString()
		wg.Go(func() {
			run("product read", func() (response, error) {
				return f.s.send(time.Minute, "GET", "/api/products/"+f.product, "", nil)
			})
			run("checkout", func() (response, error) {
				return f.s.send(time.Minute, "POST", "/api/orders", b, map[string]any{"card_number": payments.CardApprove}, "Idempotency-Key: "+key)
			})
		})
	}
	for _, c := range f.carts {
		wg.Go(func() {
			run("cart write", func() (response, error) {
				r, err := f.s.send(time.Minute, "POST", "/api/cart/items", c, map[string]any{"product_id": f.extra, "quantity": 1})
				f.mu.Lock()
				defer f.mu.Unlock()
				n := f.added[c]
				n[1]++
				if err == nil && r.Status == http.StatusOK {
					n[0]++
				}
				f.added[c] = n
				return r, err
			})
		})
	}
	for i := range 2 {
		email := fmt.Sprintf("fault-%s%d@example.com", name, i)
		wg.Go(func() {
			run("sign-up", func() (response, error) {
				r, err := f.s.send(time.Minute, "POST", "/api/identity/register", "",
					map[string]any{"email": email, "password": "a long enough password", "name": "Fault Customer"})
				f.mu.Lock()
				defer f.mu.Unlock()
				if err == nil && (f.signups[email] == 0 || r.Status < 300) {
					f.signups[email] = r.Status
				}
				return r, err
			})
		})
	}
	for _, fn := range during {
		fn()
	}
	wg.Wait()
	var took []string
	var slowest time.Duration
	for _, c := range calls {
		took = append(took, fmt.Sprintf("%s %d %s", c.what, c.resp.Status, c.took))
		slowest = max(slowest, c.took)
		if check != nil {
			check(c)
		}
		if c.err != nil || c.resp.Status >= 300 {
			failed = append(failed, c)
		}
	}
	f.t.Logf("%s: %v", name, took)
	testreport.Print(f.t, "%s: %d requests, %d answered 2xx, %d failed, the slowest in %s", name, len(calls), len(calls)-len(failed), len(failed), slowest)
	return failed
}

// unavailable asserts that a call failed as one whose database is
// unavailable does: 503 problem+json saying when to retry, within within.
func (f *faultRun) unavailable(c faultCall, within time.Duration) {
	f.t.Helper()
	if c.err != nil {
		f.t.Errorf("%s got no answer: %v", c.what, c.err)
		return
	}
	checkUnavailable(f.t, c.what, c.resp)
	if c.took > within {
		f.t.Errorf("%s answered after %s, want within %s", c.what, c.took, within)
	}
}

// retry sends the failed calls again (a checkout with the same key): each
// succeeds now.
func (f *faultRun) retry(failed []faultCall) {
	f.t.Helper()
	for _, c := range failed {
		if again := c.retry(); again.err != nil || again.resp.Status >= 300 {
			f.t.Errorf("%s tried again after the fault = %d %v %s", c.what, again.resp.Status, again.err, again.resp.Body)
		}
	}
}

// recovered waits until the shop is ready and a checkout is confirmed,
// and asserts it took less than 10 s from the fault's end (now).
func (f *faultRun) recovered(fault string) {
	f.t.Helper()
	end := time.Now()
	deadline := end.Add(10 * time.Second)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	await := func(what string, ok func() bool) time.Duration {
		for !ok() {
			if time.Now().After(deadline) {
				f.t.Fatalf("after the %s fault: %s not within 10 s", fault, what)
			}
			<-poll.C
		}
		return time.Since(end).Round(time.Millisecond)
	}
	ready := await("ready", func() bool {
		r, err := f.s.send(time.Second, "GET", "/readyz", "", nil)
		return err == nil && r.Status == http.StatusOK
	})
	await("cart filled", func() bool {
		r, err := f.s.send(5*time.Second, "PUT", "/api/cart/items/"+f.product, f.probe, map[string]any{"quantity": 1})
		if err == nil && r.Status == http.StatusNotFound {
			r, err = f.s.send(5*time.Second, "POST", "/api/cart/items", f.probe, map[string]any{"product_id": f.product, "quantity": 1})
		}
		return err == nil && r.Status == http.StatusOK
	})
	key := uuid.NewString()
	var placed order
	await("checkout placed", func() bool {
		r, err := f.s.send(5*time.Second, "POST", "/api/orders", f.probe, map[string]any{"card_number": payments.CardApprove}, "Idempotency-Key: "+key)
		if err != nil || r.Status != http.StatusCreated {
			return false
		}
		r.json(f.t, &placed)
		return true
	})
	confirmed := await("checkout confirmed", func() bool {
		r, err := f.s.send(5*time.Second, "GET", "/api/orders/"+placed.ID, f.probe, nil)
		var o order
		if err != nil || r.Status != http.StatusOK {
			return false
		}
		r.json(f.t, &o)
		return o.settled()
	})
	testreport.Print(f.t, "after the %s fault: ready in %s, a checkout confirmed in %s", fault, ready, confirmed)
}

// checkWhole asserts that nothing is half-written: every order settled as
// confirmed, its payment authorized and captured once, the stock of what
// they bought committed and none left reserved; every cart line whole,
// holding what was added; every answered sign-up able to log in.
func (f *faultRun) checkWhole() {
	t, s := f.t, f.s
	t.Helper()
	sold := 0
	for _, b := range append(append([]string{}, f.buyers...), f.probe) {
		var page struct {
			Items []order `json:"items"`
		}
		s.must(http.StatusOK, s.call("GET", "/api/orders?limit=100", b, nil)).json(t, &page)
		for _, o := range page.Items {
			o = s.awaitOrder(b, o.ID, order.settled)
			if o.Status != "confirmed" {
				t.Errorf("order %s = %s %q %v, want confirmed", o.ID, o.Status, o.Reason, o.steps())
			}
			payment, ledger, _ := paymentRecords(t, f.direct, o.ID)
			if payment+" "+ledger != "captured authorize,capture" {
				t.Errorf("order %s's payment = %s %s, want captured authorize,capture", o.ID, payment, ledger)
			}
			for _, it := range o.Items {
				sold += it.Quantity
			}
		}
	}
	if onHand, reserved, _ := s.stock(f.product); onHand != 500-sold || reserved != 0 {
		t.Errorf("stock = %d on hand, %d reserved; want %d on hand (%d sold), none reserved", onHand, reserved, 500-sold, sold)
	}
	var carts []string
	for _, c := range f.carts {
		var cart struct {
			Items []struct {
				ProductID string `json:"product_id"`
				Quantity  int    `json:"quantity"`
				UnitPrice struct {
					Amount int `json:"amount"`
				} `json:"unit_price"`
				LineTotal struct {
					Amount int `json:"amount"`
				} `json:"line_total"`
			} `json:"items"`
		}
		s.must(http.StatusOK, s.call("GET", "/api/cart", c, nil)).json(t, &cart)
		n := f.added[c]
		if len(cart.Items) != 1 || cart.Items[0].Quantity < n[0] || cart.Items[0].Quantity > n[1] ||
			cart.Items[0].LineTotal.Amount != cart.Items[0].Quantity*cart.Items[0].UnitPrice.Amount {
			t.Errorf("cart after %d adds of one unit, %d answered = %+v", n[1], n[0], cart.Items)
		}
		carts = append(carts, fmt.Sprintf("%d of %d tried, %d answered", cart.Items[0].Quantity, n[1], n[0]))
	}
	var users int
	queryOwner(t, f.direct, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT count(*) FROM identity.users WHERE email LIKE 'fault-%'`).Scan(&users)
	})
	for email, status := range f.signups {
		if status < 300 {
			s.login(email, "a long enough password")
		}
	}
	testreport.Print(t, "%d units sold in %s; carts: %v; %d users (%d sign-ups tried)", sold, strconv.Itoa(f.n)+" rounds", carts, users, len(f.signups))
}
