package modules_test

// What the tests that put the shop behind HAProxy share: the binary, ports,
// a client of the load balancer, and customers shopping through it while
// processes come and go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/topology"
)

// haproxyPath finds HAProxy (make test installs Debian's package).
func haproxyPath(t *testing.T) string {
	t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		// Debian installs it in /usr/sbin, off a user's PATH.
		if haproxy, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			t.Fatal("this test needs HAProxy (apt-get install haproxy)")
		}
	}
	return haproxy
}

// buildShop builds the binary once for this test (without the race
// detector: several processes of it share the machine).
func buildShop(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, "../cmd/shop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build shop: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	return portRuns(t, n, 1)
}

// freePortRuns returns the first ports of n runs of three free consecutive
// ones: a process's public, internal and operators' ports.
func freePortRuns(t *testing.T, n int) []int {
	t.Helper()
	return portRuns(t, n, 3)
}

// portRuns finds n runs of size free consecutive loopback ports below the
// kernel's ephemeral range: the blocks listen on some of them only minutes
// later, and a port of that range could meanwhile be the local end of any
// outgoing connection.
func portRuns(t *testing.T, n, size int) []int {
	t.Helper()
	runs, err := topology.FreePortRuns(n, size)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// client talks to the shop through the load balancer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

type customer struct {
	email, token string

	mu     sync.Mutex
	orders []string // placed by the traffic
}

// do sends a request and returns the status and body, or an error for a
// request that got no answer.
func (c *client) do(method, path, token string, body any, headers ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// must sends a request that must answer want, and decodes the body into out.
func (c *client) must(want int, out any, method, path, token string, body any, headers ...string) {
	c.t.Helper()
	status, data, err := c.do(method, path, token, body, headers...)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: %d %v %s, want %d", method, path, status, err, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// product is a product of the demo catalog, and a word its search finds.
type product struct{ id, word string }

// products lists the first products of the demo catalog.
func (c *client) products() []product {
	c.t.Helper()
	var page struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	c.must(http.StatusOK, &page, "GET", "/api/products?limit=40", "", nil)
	if len(page.Items) < 10 {
		c.t.Fatalf("the demo catalog lists %d products", len(page.Items))
	}
	out := make([]product, len(page.Items))
	for i, p := range page.Items {
		word, _, _ := strings.Cut(p.Name, " ")
		out[i] = product{id: p.ID, word: strings.ToLower(word)}
	}
	return out
}

func (c *client) register(email string) *customer {
	c.t.Helper()
	creds := map[string]any{"email": email, "password": "a long enough password"}
	c.must(http.StatusAccepted, nil, "POST", "/api/identity/register", "", map[string]any{
		"email": email, "password": "a long enough password", "name": "Walkthrough Customer"})
	var out struct {
		Token string `json:"token"`
	}
	c.must(http.StatusOK, &out, "POST", "/api/identity/login", "", creds)
	return &customer{email: email, token: out.Token}
}

// order is an order as the API shows it.
type order struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Timeline []struct {
		Step string `json:"step"`
	} `json:"timeline"`
}

func (o order) count(step string) int {
	n := 0
	for _, s := range o.Timeline {
		if s.Step == step {
			n++
		}
	}
	return n
}

// confirmedOnce checks the customer's orders: exactly those the traffic
// placed, each confirmed once.
func (c *client) confirmedOnce(cu *customer) {
	c.t.Helper()
	var listed []order
	for after := ""; ; {
		var page struct {
			Items      []order `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		c.must(http.StatusOK, &page, "GET", "/api/orders?limit=100&after="+after, cu.token, nil)
		listed = append(listed, page.Items...)
		if after = page.NextCursor; after == "" {
			break
		}
	}
	placed := map[string]bool{}
	for _, id := range cu.orders {
		placed[id] = true
	}
	if len(listed) != len(placed) || len(placed) != len(cu.orders) {
		c.t.Errorf("%s has %d orders, the traffic placed %d (%d distinct)", cu.email, len(listed), len(cu.orders), len(placed))
	}
	for _, listed := range listed {
		var o order
		c.must(http.StatusOK, &o, "GET", "/api/orders/"+listed.ID, cu.token, nil)
		if !placed[o.ID] || o.Status != "confirmed" || o.count("confirmed") != 1 {
			c.t.Errorf("order %s of %s: placed by the traffic %v, status %s, confirmed %d times", o.ID, cu.email, placed[o.ID], o.Status, o.count("confirmed"))
		}
	}
	// The confirmation mail follows the order's confirmation by an event:
	// wait until every order has one, then check none has two.
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	mails := c.confirmationMails(cu)
	for deadline := time.Now().Add(30 * time.Second); len(mails) < len(placed) && time.Now().Before(deadline); <-poll.C {
		mails = c.confirmationMails(cu)
	}
	for id := range placed {
		if mails[id] != 1 {
			c.t.Errorf("order %s of %s: %d confirmation mails, want 1", id, cu.email, mails[id])
		}
	}
	for id, n := range mails {
		if !placed[id] {
			c.t.Errorf("%s got %d confirmation mails of order %s, which the traffic did not place", cu.email, n, id)
		}
	}
}

// confirmationMails counts the customer's order confirmation mails by
// order.
func (c *client) confirmationMails(cu *customer) map[string]int {
	c.t.Helper()
	mails := map[string]int{}
	for after := ""; ; {
		var page struct {
			Items []struct {
				OrderID string `json:"order_id"`
				Kind    string `json:"kind"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		c.must(http.StatusOK, &page, "GET", "/api/notifications/mailbox?limit=100&after="+after, cu.token, nil)
		for _, m := range page.Items {
			if m.Kind == "order_confirmed" {
				mails[m.OrderID]++
			}
		}
		if after = page.NextCursor; after == "" {
			return mails
		}
	}
}

// traffic is customers shopping through the load balancer until stopped:
// each reads products, searches, adds one to the cart, reads the cart,
// checks out, sends the checkout again with the same Idempotency-Key (it
// must name the same order) and waits for the order to be confirmed, again
// and again, starting a round every roundEvery at most (a steady load that
// the demo stock, 25 units of each product, outlasts); anonymous visitors
// browse beside them. Any answer but the one expected, or none, is a
// failure.
type traffic struct {
	lb       *client
	products []product
	quit     chan struct{}
	stopping sync.Once
	wg       sync.WaitGroup
	// catalogPaused: see startTraffic.
	catalogPaused bool

	mu     sync.Mutex
	counts trafficCounts
}

// trafficCounts is what the traffic did: the requests it sent, the
// checkouts it placed and saw confirmed, and the requests that failed.
type trafficCounts struct {
	requests, checkouts, confirmed int
	failures                       []string
}

// since is what the traffic did after it had done before.
func (c trafficCounts) since(before trafficCounts) trafficCounts {
	return trafficCounts{requests: c.requests - before.requests, checkouts: c.checkouts - before.checkouts,
		confirmed: c.confirmed - before.confirmed, failures: c.failures[len(before.failures):]}
}

func (c trafficCounts) String() string {
	return fmt.Sprintf("%d requests, %d checkouts, %d confirmed, %d failed", c.requests, c.checkouts, c.confirmed, len(c.failures))
}

const (
	roundEvery  = 400 * time.Millisecond // a customer's rounds
	browseEvery = 100 * time.Millisecond // a visitor's reads
)

// startTraffic starts the customers' rounds and browsers anonymous
// visitors.
// catalogPaused: catalog is stopped on purpose (while its data moves), so
// what needs it may answer 503 and carts may be stale; anything else still
// fails.
func startTraffic(lb *client, customers []*customer, products []product, browsers int, catalogPaused bool) *traffic {
	tr := &traffic{lb: lb, products: products, catalogPaused: catalogPaused, quit: make(chan struct{})}
	every := func(d time.Duration, round func()) {
		tr.wg.Go(func() {
			pace := time.NewTicker(d)
			defer pace.Stop()
			for {
				select {
				case <-tr.quit:
					return
				case <-pace.C:
				}
				round()
			}
		})
	}
	for _, c := range customers {
		every(roundEvery, func() {
			if tr.shop(c) {
				tr.mu.Lock()
				tr.counts.confirmed++
				tr.mu.Unlock()
			}
		})
	}
	for range browsers {
		every(browseEvery, func() { tr.browse(tr.products[rand.IntN(len(tr.products))]) })
	}
	return tr
}

// now returns what the traffic has done so far.
func (tr *traffic) now() trafficCounts {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := tr.counts
	c.failures = append([]string(nil), c.failures...)
	return c
}

// awaitConfirmed waits until n more checkouts than at before were
// confirmed, and says whether they were within d.
func (tr *traffic) awaitConfirmed(before trafficCounts, n int, d time.Duration) bool {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(d); tr.now().confirmed-before.confirmed < n; <-poll.C {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// stop waits for every round in progress to finish and returns what the
// traffic did; stopping it again changes nothing.
func (tr *traffic) stop() trafficCounts {
	tr.stopping.Do(func() { close(tr.quit) })
	tr.wg.Wait()
	return tr.now()
}

func (tr *traffic) fail(format string, args ...any) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.counts.failures = append(tr.counts.failures, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	return false
}

// call sends a request that must answer want, and decodes the body into out.
func (tr *traffic) call(want int, out any, method, path, token string, body any, headers ...string) bool {
	tr.mu.Lock()
	tr.counts.requests++
	tr.mu.Unlock()
	status, data, err := tr.lb.do(method, path, token, body, headers...)
	if err != nil {
		return tr.fail("%s %s: %v", method, path, err)
	}
	if status != want {
		if status == http.StatusServiceUnavailable && tr.catalogPaused && needsCatalog(method, path) {
			return false
		}
		return tr.fail("%s %s: %d %s", method, path, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return tr.fail("%s %s: %v: %s", method, path, err, data)
		}
	}
	return true
}

// browse reads what a visitor reads: a page of products, a search, one
// product.
func (tr *traffic) browse(p product) bool {
	return tr.call(http.StatusOK, nil, "GET", "/api/products?limit=5", "", nil) &&
		tr.call(http.StatusOK, nil, "GET", "/api/products?limit=5&q="+p.word, "", nil) &&
		tr.call(http.StatusOK, nil, "GET", "/api/products/"+p.id, "", nil)
}

// shop runs one customer's round and reports whether it ended with a
// confirmed order.
func (tr *traffic) shop(c *customer) bool {
	p := tr.products[rand.IntN(len(tr.products))]
	var cart struct {
		Stale bool `json:"stale"`
	}
	if !tr.browse(p) ||
		!tr.call(http.StatusOK, nil, "POST", "/api/cart/items", c.token, map[string]any{"product_id": p.id, "quantity": 1}) ||
		!tr.call(http.StatusOK, &cart, "GET", "/api/cart", c.token, nil) {
		return false
	}
	if cart.Stale && tr.catalogPaused {
		return false // the last known prices; checkout would refuse them
	}
	if cart.Stale {
		return tr.fail("GET /api/cart: stale prices (catalog unreachable)")
	}
	checkout, key := map[string]any{"card_number": payments.CardApprove}, "Idempotency-Key: "+uuid.NewString()
	var placed, again order
	if !tr.call(http.StatusCreated, &placed, "POST", "/api/orders", c.token, checkout, key) {
		return false
	}
	c.mu.Lock()
	c.orders = append(c.orders, placed.ID)
	c.mu.Unlock()
	tr.mu.Lock()
	tr.counts.checkouts++
	tr.mu.Unlock()
	// A client that lost the answer sends the checkout again: the same
	// order, not a second one, whichever process answers.
	if !tr.call(http.StatusOK, &again, "POST", "/api/orders", c.token, checkout, key) {
		return false
	}
	if again.ID != placed.ID {
		return tr.fail("POST /api/orders again with %s: order %s, the first was %s", key, again.ID, placed.ID)
	}
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		var o order
		if !tr.call(http.StatusOK, &o, "GET", "/api/orders/"+placed.ID, c.token, nil) {
			return false
		}
		switch o.Status {
		case "confirmed":
			return true
		case "placed", "stock_reserved":
		default:
			return tr.fail("order %s: %s, want confirmed", placed.ID, o.Status)
		}
		if time.Now().After(deadline) {
			return tr.fail("order %s: still %s after 30s", placed.ID, o.Status)
		}
		<-poll.C
	}
}

// needsCatalog reports whether a request of the traffic needs catalog to
// answer: the product pages, adding to the cart (the product must exist)
// and checkout (the prices must be confirmed).
func needsCatalog(method, path string) bool {
	return strings.HasPrefix(path, "/api/products") || method == "POST" && (path == "/api/cart/items" || path == "/api/orders")
}

// awaitPricing waits until the shop prices carts again, through every
// replica: a product in cu's cart, then ten reads in a row with fresh
// prices.
func (c *client) awaitPricing(cu *customer, p product) {
	c.t.Helper()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(30 * time.Second)
	wait := func() {
		if time.Now().After(deadline) {
			c.t.Fatalf("the shop does not price carts again within 30s")
		}
		<-poll.C
	}
	for {
		status, _, err := c.do("POST", "/api/cart/items", cu.token, map[string]any{"product_id": p.id, "quantity": 1})
		if err == nil && status == http.StatusOK {
			break
		}
		wait()
	}
	for inRow := 0; inRow < 10; {
		var cart struct {
			Stale bool `json:"stale"`
		}
		status, data, err := c.do("GET", "/api/cart", cu.token, nil)
		if err == nil && status == http.StatusOK && json.Unmarshal(data, &cart) == nil && !cart.Stale {
			inRow++
			continue
		}
		inRow = 0
		wait()
	}
}
