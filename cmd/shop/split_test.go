package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// Catalog in a process of its own: process A hosts catalog alone and serves
// its internal endpoints; process B hosts every other module but identity
// and reaches catalog at A's internal address; process I hosts identity,
// which both check sessions with (so that stopping A leaves B's sessions
// alone). A customer of B shops and checks out with the prices B's cart
// asked A for; when A stops, the cart still answers with the last known
// prices and checkout says to retry; when A is back on the same address,
// checkout works again once B's circuit to catalog lets a call through.
//
// The demo catalog is seeded before any starts, by `shop seed` in a
// process hosting catalog and inventory on the shared database, so that no
// admin is needed.
func TestSplitCatalogInItsOwnProcess(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	seedBudget := int32(database.OwnerConns + database.ListenConns + 2*database.MinModuleConns)
	release, err := holdConns(seedBudget)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = realMain(context.Background(), []string{"seed", "--products", "3"}, &out, &out, mapEnv("DATABASE_URL="+dbURL,
		"SHOP_LOG_LEVEL=warn", "SHOP_MODULES=catalog,inventory", fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", seedBudget)))
	release()
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}

	// I: identity; A: catalog, sessions checked at I; one module's share
	// of connections each.
	reserveShops(t, processConns(1)+processConns(1)+processConns(6))
	_, identityURL := startOwner(t, dbURL, "SHOP_MODULES=identity", moduleConns(1))
	catalogEnv := []string{"SHOP_MODULES=catalog", moduleConns(1), "SHOP_MODULE_URLS=identity=" + identityURL}
	a := &shop{t: t, dbURL: dbURL, partial: true}
	a.start(append(catalogEnv, "SHOP_HTTP_INTERNAL_ADDR=127.0.0.1:0")...)
	internal := a.loggedAddr("internal server listening")
	var page struct {
		Items []struct {
			ID             string `json:"id"`
			EffectivePrice struct {
				Amount int64 `json:"amount"`
			} `json:"effective_price"`
		} `json:"items"`
	}
	a.must(http.StatusOK, a.call("GET", "/api/products", "", nil)).json(t, &page)
	if len(page.Items) == 0 {
		t.Fatal("A lists no products")
	}
	product, price := page.Items[0].ID, page.Items[0].EffectivePrice.Amount
	// The internal endpoints are not public routes.
	a.must(http.StatusNotFound, a.call("POST", "/internal/catalog/Products", "", map[string]any{"ids": []string{product}}))

	// B: the rest, catalog at A's internal address. Its cart waits long
	// enough for A's first answer on a loaded machine; a refused connection
	// fails at once, whatever the wait.
	b := &shop{t: t, dbURL: dbURL, partial: true}
	b.start("SHOP_MODULES=inventory,cart,payments,orders,notifications,reporting",
		"SHOP_MODULE_URLS=catalog=http://"+internal+",identity="+identityURL, "SHOP_CART_CATALOG_TIMEOUT=5s", moduleConns(6))
	b.must(http.StatusNotFound, b.call("POST", "/internal/cart/Cart", "", map[string]any{}))
	customer := b.register("split@example.com")

	before := b.catalogCalls("ok")
	b.addToCart(customer, product, 2)
	c := b.cart(customer)
	if c.Stale || len(c.Items) != 1 || c.Items[0].UnitPrice.Amount != price {
		t.Fatalf("cart = %+v, want one fresh line at A's price %d", c, price)
	}
	if after := b.catalogCalls("ok"); after <= before {
		t.Fatalf("B's cart made %v successful calls to catalog, then %v: the prices did not come from A", before, after)
	}
	var placed order
	b.must(http.StatusCreated, b.checkout(customer, payments.CardApprove)).json(t, &placed)
	o := b.awaitOrder(customer, placed.ID, order.settled)
	if o.Status != "confirmed" || o.Total.Amount != 2*price {
		t.Fatalf("order = %s, total %d; want confirmed at %d", o.Status, o.Total.Amount, 2*price)
	}

	// A stops: the cart shows the last known price, checkout says when to
	// come back, and nothing is ordered.
	b.addToCart(customer, product, 1)
	if err := a.stop(); err != nil {
		t.Fatalf("A's shutdown: %v", err)
	}
	c = b.cart(customer)
	if !c.Stale || len(c.Items) != 1 || c.Items[0].UnitPrice.Amount != price {
		t.Errorf("cart while catalog is down = %+v, want the stale line at %d", c, price)
	}
	r := b.must(http.StatusServiceUnavailable, b.checkout(customer, payments.CardApprove))
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("checkout while catalog is down: Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
	}
	if b.catalogCalls("unavailable")+b.catalogCalls("circuit_open") == 0 {
		t.Error("B counted no failed call to catalog")
	}

	// A is back on the same internal address. B's circuit to catalog opened
	// while A was down; once its open time (5 s) has passed, a trial call
	// goes through and closes it, and checkout works again: within 10 s of
	// A's return.
	a.start(append(catalogEnv, "SHOP_HTTP_INTERNAL_ADDR="+internal)...)
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	for r = b.checkout(customer, payments.CardApprove); r.Status != http.StatusCreated; r = b.checkout(customer, payments.CardApprove) {
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("checkout with catalog back = %d %s", r.Status, r.Body)
		}
		<-poll.C
	}
	r.json(t, &placed)
	if o := b.awaitOrder(customer, placed.ID, order.settled); o.Status != "confirmed" || o.Total.Amount != price {
		t.Errorf("order after catalog came back = %s, total %d; want confirmed at %d", o.Status, o.Total.Amount, price)
	}
}

// loggedAddr returns the addr of the first log line with message msg.
func (s *shop) loggedAddr(msg string) string {
	s.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg {
			return rec.Addr
		}
	}
	s.t.Fatalf("no log line %q", msg)
	return ""
}

// catalogCalls sums the calls of this process's cart to catalog that ended
// with outcome, from its /metrics.
func (s *shop) catalogCalls(outcome string) float64 {
	s.t.Helper()
	return s.remoteCalls("cart", "catalog", outcome)
}

// remoteCalls sums the calls of this process's caller module to callee
// that ended with outcome, from its /metrics.
func (s *shop) remoteCalls(caller, callee, outcome string) float64 {
	s.t.Helper()
	body := s.must(http.StatusOK, s.call("GET", "/metrics", "", nil)).Body
	prefix := `shop_remote_calls_total{callee="` + callee + `",caller="` + caller + `",`
	var sum float64
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(series, prefix) || !strings.HasSuffix(series, `outcome="`+outcome+`"}`) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			s.t.Fatalf("metric %q", line)
		}
		sum += v
	}
	return sum
}
