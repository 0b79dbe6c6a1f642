package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/remote"
)

// moduleConns is the SHOP_DB_MAX_CONNS of a process hosting n modules:
// three connections each, the least serve accepts.
func moduleConns(n int) string {
	return fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", processConns(n))
}

// processConns is the connections of a process hosting n modules with
// moduleConns.
func processConns(n int) int32 {
	return database.OwnerConns + database.ListenConns + 3*int32(n)
}

// startOwner starts a process on db that serves its modules' internal
// endpoints (and their public routes, for edges) too, and returns it with
// the URL of its internal listener.
func startOwner(t *testing.T, dbURL string, env ...string) (*shop, string) {
	t.Helper()
	s := &shop{t: t, dbURL: dbURL, partial: true}
	s.start(append(env, "SHOP_HTTP_INTERNAL_ADDR=127.0.0.1:0")...)
	return s, "http://" + s.loggedAddr("internal server listening")
}

// The edge: four processes on one database, the events between them over
// NATS. P1 hosts identity, P2 catalog and inventory, P3 the rest, and E no
// module at all. A customer and an admin who talk to E alone sign up, sign
// in, create a product, stock it, fill a cart and check out, and see the
// order confirmed: every request forwarded to its module's process, every
// session checked at P1. A logout at E is refused at once at P2 and P3. E
// describes the whole API, exactly as one process hosting every module
// does; when P2 stops, E says so promptly.
func TestEdgeServesEveryRoute(t *testing.T) {
	t.Parallel()
	broker := natstest.Start(t)
	// The whole API's description, as the monolith serves it: composed
	// (and its connections given back) before the shops reserve theirs.
	var want []byte
	t.Run("monolith", func(t *testing.T) {
		var err error
		if want, err = inProcessMonolith(t).Server.OpenAPI(); err != nil {
			t.Fatal(err)
		}
	})
	dbURL := dbtest.NewURL(t)
	reserveShops(t, processConns(1)+processConns(2)+processConns(5)+5)
	nats := []string{"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL=" + broker.URL()}
	_, p1 := startOwner(t, dbURL, append(nats, "SHOP_MODULES=identity", moduleConns(1))...)
	p2, p2URL := startOwner(t, dbURL, append(nats, "SHOP_MODULES=catalog,inventory", moduleConns(2), "SHOP_MODULE_URLS=identity="+p1)...)
	_, p3 := startOwner(t, dbURL, append(nats, "SHOP_MODULES=cart,payments,orders,notifications,reporting", moduleConns(5),
		fmt.Sprintf("SHOP_MODULE_URLS=identity=%s,catalog=%s,inventory=%s", p1, p2URL, p2URL))...)
	// E serves the whole API: its answers are checked against its
	// description, like a monolith's.
	e := &shop{t: t, dbURL: dbURL}
	e.start(append(nats, "SHOP_MODULES=none", "SHOP_DB_MAX_CONNS=5", "SHOP_HTTP_REQUEST_TIMEOUT=5s",
		fmt.Sprintf("SHOP_MODULE_URLS=identity=%s,catalog=%s,inventory=%s,cart=%s,payments=%s,orders=%s,notifications=%s,reporting=%s",
			p1, p2URL, p2URL, p3, p3, p3, p3, p3))...)

	admin := e.login(adminEmail, adminPassword)
	customer := e.register("edge@example.com")
	product := e.product(admin, "EDGE-1", 1250, 5)
	e.addToCart(customer, product, 2)
	var placed order
	e.must(http.StatusCreated, e.checkout(customer, payments.CardApprove)).json(t, &placed)
	if o := e.awaitOrder(customer, placed.ID, order.settled); o.Status != "confirmed" || o.Total.Amount != 2*1250 {
		t.Fatalf("order through the edge = %s, total %d; want confirmed at 2500", o.Status, o.Total.Amount)
	}
	if _, _, available := e.stock(product); available != 3 {
		t.Errorf("available after the order = %d, want 3", available)
	}
	// Route metrics keep the module and route of what E forwarded.
	metrics := string(e.must(http.StatusOK, e.call("GET", "/metrics", "", nil)).Body)
	if !strings.Contains(metrics, `code="201",method="POST",module="catalog",route="/api/products"`) {
		t.Errorf("E's metrics lack the forwarded product creation by module and route:\n%s", metrics)
	}

	// A logout at E ends the session everywhere at once.
	e.must(http.StatusNoContent, e.call("POST", "/api/identity/logout", customer, nil))
	e.must(http.StatusUnauthorized, e.call("GET", "/api/cart", customer, nil)) // P3
	e.must(http.StatusNoContent, e.call("POST", "/api/identity/logout", admin, nil))
	e.must(http.StatusUnauthorized, e.call("PUT", "/api/inventory/"+product, admin, map[string]any{"on_hand": 9})) // P2

	if got := e.must(http.StatusOK, e.call("GET", httpapi.OpenAPIPath, "", nil)).Body; string(got) != string(want) {
		t.Errorf("E's API description differs from the monolith's")
	}
	// The storefront is E's own; the internal endpoints are nobody's public route.
	e.must(http.StatusOK, e.call("GET", "/", "", nil))
	e.must(http.StatusNotFound, e.call("POST", "/internal/catalog/Products", "", map[string]any{"ids": []string{product}}))

	// P2 stops: E answers for it at once, with when to come back.
	if err := p2.stop(); err != nil {
		t.Fatalf("P2's shutdown: %v", err)
	}
	start := time.Now()
	r := e.must(http.StatusServiceUnavailable, e.call("GET", "/api/products", "", nil))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("E answered for the stopped P2 after %s", elapsed)
	}
	if r.Header.Get("Content-Type") != httpapi.ProblemContentType || r.Header.Get("Retry-After") == "" {
		t.Errorf("E's answer for the stopped P2: %s, Retry-After %q", r.Header.Get("Content-Type"), r.Header.Get("Retry-After"))
	}
}

// An owner that never answers: the edge gives up at its request timeout
// with 504.
func TestEdgeGivesUpOnAHangingOwner(t *testing.T) {
	t.Parallel()
	released := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" { // ready, then never answers
			return
		}
		select {
		case <-r.Context().Done():
		case <-released:
		}
	}))
	t.Cleanup(func() { close(released); hang.Close() })
	e := &shop{t: t, dbURL: dbtest.NewURL(t), partial: true}
	const timeout = time.Second
	e.start("SHOP_MODULES=none", "SHOP_DB_MAX_CONNS=5", "SHOP_HTTP_REQUEST_TIMEOUT="+timeout.String(), "SHOP_MODULE_URLS=catalog="+hang.URL)
	start := time.Now()
	r := e.must(http.StatusGatewayTimeout, e.call("GET", "/api/products", "", nil))
	if elapsed := time.Since(start); elapsed < timeout || elapsed > timeout+3*time.Second {
		t.Errorf("504 after %s, want about the %s request timeout", elapsed, timeout)
	}
	if r.Header.Get("Content-Type") != httpapi.ProblemContentType {
		t.Errorf("504 as %q, want a problem document", r.Header.Get("Content-Type"))
	}
}

// A process's internal listener believes the client address of a request
// only when an edge signed it: a made-up X-Forwarded-For is not believed.
func TestOwnerBelievesOnlyTheEdgesClientAddress(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	reserveShops(t, processConns(1)+processConns(2))
	_, p1 := startOwner(t, dbURL, "SHOP_MODULES=identity", moduleConns(1))
	p2, p2URL := startOwner(t, dbURL, "SHOP_MODULES=catalog,inventory", moduleConns(2), "SHOP_MODULE_URLS=identity="+p1)

	// The edge's key, as every process of this shop derives it.
	cfg, err := config.Load(mapEnv("DATABASE_URL=" + dbURL))
	if err != nil {
		t.Fatal(err)
	}
	p, err := place(cfg.Topology)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := remoteKeys(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	token, err := remote.SignForwarded(keys, remote.Forwarded{Module: "catalog", Method: "GET", Path: "/api/products", Client: "198.51.100.8"},
		time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	internal := &shop{t: t, base: p2URL, partial: true}
	tests := []struct {
		name, header, want string
	}{
		{"made-up X-Forwarded-For", "X-Forwarded-For: 198.51.100.7", "127.0.0.1"},
		{"edge token", remote.HeaderForwarded + ": " + token, "198.51.100.8"},
	}
	for _, tt := range tests {
		id := tt.name + " " + strconv.FormatInt(time.Now().UnixNano(), 36)
		internal.must(http.StatusOK, internal.call("GET", "/api/products", "", nil, tt.header, "X-Request-Id: "+id))
		if got := p2.requestIP(id); got != tt.want {
			t.Errorf("%s: P2 took the client for %q, want %q", tt.name, got, tt.want)
		}
	}
	forged, err := remote.SignForwarded(remote.DevKeys("not the shop's secret", remote.EdgeCaller),
		remote.Forwarded{Module: "catalog", Method: "GET", Path: "/api/products", Client: "198.51.100.9"}, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	internal.must(http.StatusUnauthorized, internal.call("GET", "/api/products", "", nil, remote.HeaderForwarded+": "+forged))
}

// requestIP returns the client address the request log line of request id
// names, waiting for the line.
func (s *shop) requestIP(id string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		line := s.lines.await(func(l string) bool { return strings.Contains(l, id) })
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
				IP        string `json:"ip"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "request" && rec.RequestID == id {
				return rec.IP
			}
		}
		select {
		case <-line:
		case <-ctx.Done():
			s.t.Fatalf("no request log line for %s", id)
		}
	}
}
