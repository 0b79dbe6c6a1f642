package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
)

// The process hosting orders is killed (kill -9) while the orders of
// several customers are in their sagas, at the worst moment: it has asked
// payments, in a process of its own, to authorize a payment, payments
// committed it, and orders never recorded the answer. Three processes share
// the database, with events over NATS: S hosts identity, catalog,
// inventory and cart, and is where customers shop; O hosts orders with the
// modules that follow it (notifications, reporting); P hosts payments,
// which O reaches through a fault proxy. While O is down S goes on serving
// customers and says when to come back for orders. Started again on the
// same address, O settles every order as its card says, each payment
// authorized and captured exactly once, the stock adds up, and no event is
// dead-lettered.
func TestSplitOrdersKilledMidSaga(t *testing.T) {
	t.Parallel()
	broker := natstest.Start(t)
	dbURL := dbtest.NewURL(t)
	events := []string{"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL=" + broker.URL()}
	// S's and O's internal addresses are known before they start: P checks
	// sessions at S, S forwards to O, and O comes back on its own.
	shopAddr, ordersAddr := freeAddr(t), freeAddr(t)
	reserveShops(t, processConns(1)+processConns(4)+processConns(3))
	_, payURL := startOwner(t, dbURL, append(events, "SHOP_MODULES=payments", moduleConns(1),
		"SHOP_MODULE_URLS=identity=http://"+shopAddr)...)
	proxy := startFaultProxy(t, strings.TrimPrefix(payURL, "http://"))
	s := &shop{t: t, dbURL: dbURL, partial: true}
	s.start(append(events, "SHOP_MODULES=identity,catalog,inventory,cart", moduleConns(4), "SHOP_HTTP_INTERNAL_ADDR="+shopAddr,
		fmt.Sprintf("SHOP_MODULE_URLS=orders=http://%[1]s,notifications=http://%[1]s,reporting=http://%[1]s,payments=%[2]s", ordersAddr, payURL))...)
	// A saga step's lease (one and a half handler timeouts) outlives the
	// killed process by 10 s; the saga retries for longer than O is away.
	ordersEnv := append(events, "SHOP_MODULES=orders,notifications,reporting", moduleConns(3), "SHOP_HTTP_INTERNAL_ADDR="+ordersAddr,
		fmt.Sprintf("SHOP_MODULE_URLS=identity=http://%[1]s,cart=http://%[1]s,inventory=http://%[1]s,payments=http://%[2]s", shopAddr, proxy.addr()),
		"SHOP_EVENTS_HANDLER_TIMEOUT=7s", "SHOP_SMTP_TIMEOUT=2s", "SHOP_NATS_ACK_WAIT=3s",
		"SHOP_EVENTS_BACKOFF_MAX=4s", "SHOP_EVENTS_MAX_ATTEMPTS=30")
	o := &shop{t: t, dbURL: dbURL, partial: true}
	o.start(ordersEnv...)

	r := newCheckoutRush(s, "SAGA-1")
	// From now on orders never hears payments' answer to an authorization.
	proxy.holdAnswers("Authorize")
	r.placeAll()
	select {
	case <-proxy.held:
	case <-time.After(60 * time.Second):
		t.Fatal("payments answered no authorization")
	}
	o.kill()
	proxy.holdAnswers()
	t.Logf("killed orders with %d committed authorizations it does not know of", unheardAuthorizations(t, dbURL))

	// Customers still shop at S; orders' routes say when to come back.
	s.must(http.StatusOK, s.call("GET", "/api/products", "", nil))
	s.must(http.StatusOK, s.call("GET", "/api/cart", r.buyers[1].token, nil))
	checkUnavailable(t, "an order while orders' process is down", s.call("GET", "/api/orders/"+r.buyers[1].order, r.buyers[1].token, nil))

	o.start(ordersEnv...)
	r.checkSettled()
}
