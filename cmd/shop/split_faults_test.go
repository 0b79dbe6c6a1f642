package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/remote"
)

// paymentsSplit is a shop of two processes on one database, with events on
// an embedded NATS server: payments alone, and the rest of the modules,
// which reach payments through a fault proxy. Customers talk to the rest.
type paymentsSplit struct {
	pay, rest *shop
	proxy     *faultProxy
	payEnv    []string // payments' environment, but for its internal address
	internal  string   // payments' internal address, kept across restarts
}

func startPaymentsSplit(t *testing.T, restEnv ...string) *paymentsSplit {
	t.Helper()
	broker := natstest.Start(t)
	dbURL := dbtest.NewURL(t)
	events := []string{"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL=" + broker.URL()}
	reserveShops(t, processConns(1)+processConns(7))
	sp := &paymentsSplit{pay: &shop{t: t, dbURL: dbURL, partial: true}, rest: &shop{t: t, dbURL: dbURL, partial: true}}
	// Payments checks the sessions of its own routes at the rest's identity.
	restInternal := freeAddr(t)
	sp.payEnv = append([]string{"SHOP_MODULES=payments", "SHOP_MODULE_URLS=identity=http://" + restInternal,
		moduleConns(1)}, events...)
	sp.pay.start(append(sp.payEnv, "SHOP_HTTP_INTERNAL_ADDR=127.0.0.1:0")...)
	sp.internal = sp.pay.loggedAddr("internal server listening")
	sp.proxy = startFaultProxy(t, sp.internal)
	env := append([]string{"SHOP_MODULES=identity,catalog,inventory,cart,orders,notifications,reporting",
		"SHOP_MODULE_URLS=payments=http://" + sp.proxy.addr(), "SHOP_HTTP_INTERNAL_ADDR=" + restInternal,
		moduleConns(7)}, events...)
	sp.rest.start(append(env, restEnv...)...)
	return sp
}

// The payments process is killed (kill -9) while the orders of several
// customers are in their sagas, at the worst moment: it has authorized a
// payment and committed it, and orders never got the answer. Started again
// on the same address, every order settles as its card says, each payment
// authorized and captured exactly once, the stock adds up, and no event is
// dead-lettered.
func TestSplitModuleKilledMidCheckout(t *testing.T) {
	t.Parallel()
	// The saga retries a failed step for longer than payments is away.
	sp := startPaymentsSplit(t, "SHOP_EVENTS_BACKOFF_MAX=4s", "SHOP_EVENTS_MAX_ATTEMPTS=30")
	s := sp.rest
	r := newCheckoutRush(s, "KILL-1")

	// From now on orders never hears payments' answer to an authorization.
	sp.proxy.holdAnswers("Authorize")
	r.placeAll()
	select {
	case <-sp.proxy.held:
	case <-time.After(60 * time.Second):
		t.Fatal("payments answered no authorization")
	}
	sp.pay.kill()
	sp.proxy.holdAnswers()
	t.Logf("killed payments with %d committed authorizations unknown to orders", unheardAuthorizations(t, s.dbURL))
	sp.pay.start(append(sp.payEnv, "SHOP_HTTP_INTERNAL_ADDR="+sp.internal)...)

	r.checkSettled()
	if s.remoteCalls("orders", "payments", "unavailable")+s.remoteCalls("orders", "payments", "circuit_open") == 0 {
		t.Error("orders counted no failed call to payments: no saga step met the dead process")
	}
}

// checkoutRush is several customers checking out at once, one of them with
// a card that is declined, each buying a few units of one product.
type checkoutRush struct {
	s       *shop
	product string
	buyers  []rushBuyer
}

type rushBuyer struct{ token, card, order string }

const (
	rushBuyers = 8
	rushOnHand = 50 // units of the product in stock
	rushEach   = 2  // units each buyer orders
)

// newCheckoutRush creates the product (with sku) and the buyers, and fills
// their carts.
func newCheckoutRush(s *shop, sku string) *checkoutRush {
	s.t.Helper()
	admin := s.login(adminEmail, adminPassword)
	r := &checkoutRush{s: s, product: s.product(admin, sku, 1000, rushOnHand), buyers: make([]rushBuyer, rushBuyers)}
	for i := range r.buyers {
		r.buyers[i] = rushBuyer{token: s.register(fmt.Sprintf("%s-buyer%d@example.com", strings.ToLower(sku), i)), card: payments.CardApprove}
		s.addToCart(r.buyers[i].token, r.product, rushEach)
	}
	r.buyers[0].card = payments.CardDecline
	return r
}

// placeAll checks every buyer out at once; each order is placed.
func (r *checkoutRush) placeAll() {
	r.s.t.Helper()
	placed := make([]response, len(r.buyers))
	var wg sync.WaitGroup
	for i, b := range r.buyers {
		wg.Go(func() { placed[i] = r.s.checkout(b.token, b.card) })
	}
	wg.Wait()
	for i, resp := range placed {
		var o order
		r.s.must(http.StatusCreated, resp).json(r.s.t, &o)
		r.buyers[i].order = o.ID
	}
}

// checkSettled waits for every order to settle as its card says, each
// payment authorized and captured exactly once (or declined once), each
// step recorded once, the stock adding up, and every event delivered with
// none dead-lettered.
func (r *checkoutRush) checkSettled() {
	s, t := r.s, r.s.t
	t.Helper()
	confirmed := []string{"placed", "stock_reserved", "payment_authorized", "confirmed", "stock_committed", "payment_captured"}
	sold := 0
	for _, b := range r.buyers {
		o := s.awaitOrder(b.token, b.order, order.settled)
		if steps := o.steps(); len(slices.Compact(slices.Clone(steps))) != len(steps) {
			t.Errorf("order %s: a step recorded twice: %v", o.ID, steps)
		}
		payment, ledger, published := paymentRecords(t, s.dbURL, o.ID)
		if b.card == payments.CardDecline {
			if o.Status != "failed" || o.Reason != payments.ReasonCardDeclined || !o.has("stock_released") {
				t.Errorf("declined order = %s %q %v, want failed: card_declined, stock released", o.Status, o.Reason, o.steps())
			}
			if want := "declined authorize payments.payment_rejected.v1"; payment+" "+ledger+" "+published != want {
				t.Errorf("declined order's payment records = %s %s %s, want %s", payment, ledger, published, want)
			}
			continue
		}
		sold += rushEach
		if o.Status != "confirmed" || !slices.Equal(o.steps(), confirmed) {
			t.Errorf("order = %s %v, want confirmed %v", o.Status, o.steps(), confirmed)
		}
		if want := "captured authorize,capture payments.payment_authorized.v1,payments.payment_captured.v1"; payment+" "+ledger+" "+published != want {
			t.Errorf("order %s's payment records = %s %s %s, want %s", o.ID, payment, ledger, published, want)
		}
	}
	if got, _, _ := s.stock(r.product); got != rushOnHand-sold {
		t.Errorf("on hand = %d, want %d", got, rushOnHand-sold)
	}
	if _, reserved, _ := s.stock(r.product); reserved != 0 {
		t.Errorf("reserved = %d after every order settled, want 0", reserved)
	}
	// Nothing is left behind: every event delivered, none dead-lettered.
	eventstest.Eventually(t, 60*time.Second, "every inbox drained", func() bool {
		pending, _ := inboxes(t, s.dbURL)
		return pending == 0
	})
	if _, dead := inboxes(t, s.dbURL); dead != 0 {
		t.Errorf("%d events dead-lettered", dead)
	}
}

// unheardAuthorizations counts the payments authorized (and committed by
// payments) for orders that do not know of them yet, and fails the test
// when there is none: the kill that came before came at no particular
// moment.
func unheardAuthorizations(t *testing.T, url string) int {
	t.Helper()
	var unheard int
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT count(*) FROM orders.orders o
			JOIN payments.payments p ON p.order_id = o.id::text WHERE o.status = 'stock_reserved'`).Scan(&unheard)
	})
	if unheard == 0 {
		t.Fatal("no authorization committed by payments is unknown to orders: the kill came at no particular moment")
	}
	return unheard
}

// paymentRecords returns, for an order, the status of its payments (one
// word per payment row), the gateway operations made for it, and the
// events payments published about it, in order.
func paymentRecords(t *testing.T, url, orderID string) (payment, ledger, published string) {
	t.Helper()
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT
			(SELECT coalesce(string_agg(status, ','), '') FROM payments.payments WHERE order_id = $1),
			(SELECT coalesce(string_agg(kind, ',' ORDER BY created_at, kind), '') FROM payments.gateway_operations
				WHERE split_part(idempotency_key, ':', 2) = $1),
			(SELECT coalesce(string_agg(type, ',' ORDER BY seq), '') FROM payments.event_outbox WHERE key = $1)`, orderID).
			Scan(&payment, &ledger, &published)
	})
	return payment, ledger, published
}

// inboxes counts the events every module's inbox still has to handle, and
// those dead-lettered.
func inboxes(t *testing.T, url string) (pending, dead int) {
	t.Helper()
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead')
			FROM (`+everyInbox(t, "status")+`) AS inbox WHERE status <> 'done'`).Scan(&pending, &dead)
	})
	return pending, dead
}

// everyInbox is a query of columns of every module's inbox, as one table.
func everyInbox(t *testing.T, columns string) string {
	t.Helper()
	names, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(names))
	for i, m := range names {
		parts[i] = `SELECT ` + columns + ` FROM ` + pgx.Identifier{m, "event_inbox"}.Sanitize()
	}
	return strings.Join(parts, " UNION ALL ")
}

// A neighbour that accepts connections and never answers: checkouts
// (which tokenize the card at payments) answer 503 with Retry-After within
// their deadline; once enough have failed, orders' circuit to payments
// opens and checkouts fail at once; when payments answers again, checkout
// works within 10 s.
func TestSplitHungNeighbour(t *testing.T) {
	t.Parallel()
	const deadline = 3 * time.Second // SHOP_HTTP_REQUEST_TIMEOUT
	sp := startPaymentsSplit(t, append(fastLogins, "SHOP_HTTP_REQUEST_TIMEOUT="+deadline.String())...)
	s := sp.rest
	admin := s.login(adminEmail, adminPassword)
	product := s.product(admin, "HANG-1", 500, 100)
	hung := int(remote.DefaultOptions.BreakerFailures) // failures that open the circuit
	customers := make([]string, hung+1)
	for i := range customers {
		customers[i] = s.register(fmt.Sprintf("hang%d@example.com", i))
		s.addToCart(customers[i], product, 1)
	}
	var first order
	s.must(http.StatusCreated, s.checkout(customers[hung], payments.CardApprove)).json(t, &first)
	s.awaitOrder(customers[hung], first.ID, order.settled) // no saga call is in flight when payments hangs
	s.addToCart(customers[hung], product, 1)

	sp.proxy.hang(true)
	timed := func(token string) (response, time.Duration) {
		start := time.Now()
		r := s.checkout(token, payments.CardApprove)
		return r, time.Since(start).Round(time.Millisecond)
	}
	answers := make([]response, hung)
	took := make([]time.Duration, hung)
	var wg sync.WaitGroup
	for i := range hung {
		wg.Go(func() { answers[i], took[i] = timed(customers[i]) })
	}
	wg.Wait()
	for i, r := range answers {
		checkUnavailable(t, "checkout while payments hangs", r)
		if took[i] > deadline+2*time.Second {
			t.Errorf("checkout while payments hangs answered after %s, past its %s deadline", took[i], deadline)
		}
	}
	// The circuit is open: the next checkout does not wait for payments.
	before := s.remoteCalls("orders", "payments", "circuit_open")
	r, fast := timed(customers[hung])
	checkUnavailable(t, "checkout with the circuit open", r)
	if fast > deadline/4 {
		t.Errorf("checkout with the circuit open took %s, want far less than the %s deadline", fast, deadline)
	}
	if after := s.remoteCalls("orders", "payments", "circuit_open"); after <= before {
		t.Errorf("circuit_open calls to payments: %v, then %v; want one more", before, after)
	}
	t.Logf("hung checkouts answered in %v; with the circuit open in %s", took, fast)

	// Payments answers again: within 10 s a checkout goes through.
	sp.proxy.hang(false)
	back := time.Now()
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	r = s.checkout(customers[hung], payments.CardApprove)
	for ; r.Status != http.StatusCreated; r = s.checkout(customers[hung], payments.CardApprove) {
		if r.Status != http.StatusServiceUnavailable || time.Since(back) > 10*time.Second {
			t.Fatalf("checkout with payments answering again = %d %s (after %s)", r.Status, r.Body, time.Since(back))
		}
		<-poll.C
	}
	t.Logf("checkout back %s after payments answered again", time.Since(back).Round(time.Millisecond))
	var placed order
	r.json(t, &placed)
	if o := s.awaitOrder(customers[hung], placed.ID, order.settled); o.Status != "confirmed" {
		t.Errorf("order after payments came back = %s %v", o.Status, o.steps())
	}
}

// checkUnavailable asserts the shop's answer for a neighbour that is not
// available: 503 problem+json saying when to retry.
func checkUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s = %d %s %s, want 503 problem+json", what, r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds", what, r.Header.Get("Retry-After"))
	}
}
