package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// BenchmarkCheckout measures the whole sale through HTTP on the composed
// process (every module, the event pipeline, PostgreSQL): shoppers, each a
// customer of their own, put a product in the cart and check out. A checkout
// counts when its order is confirmed; its latency runs from sending the
// checkout request to the confirmed step on the order's timeline (the
// server's clock, which is this machine's), which the benchmark reads from
// the database (confirmations), so that neither polling the API nor its
// interval blurs the figure or loads the shop.
//
// In one run it measures the server's own commit rate (commitCeiling), then
// the saturated throughput (checkoutShopper shoppers back to back), then
// the latency with checkouts arriving at half that rate, and prints goal
// lines: throughput ÷ commit rate, and p99 at half rate. It reports the
// transactions committed in the shop's database and the server's WAL
// writes and flushes per checkout over the saturated phase, and lists the
// writing transactions of a checkout from the WAL (writeTransactions).
func BenchmarkCheckout(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Load(func(k string) (string, bool) {
		switch k {
		case "SHOP_LOG_LEVEL":
			return "error", true
		case "SHOP_HTTP_ADDR":
			return "127.0.0.1:0", true
		case "SHOP_AUTH_ARGON2_MEMORY_KIB": // sign-ups are set-up here, not the measured work
			return "64", true
		case "SHOP_AUTH_ARGON2_ITERATIONS":
			return "1", true
		case "SHOP_AUTH_LOGIN_PER_IP", "SHOP_AUTH_REGISTER_PER_IP":
			return "1000", true
		}
		return "", false
	})
	if err != nil {
		b.Fatal(err)
	}
	url := dbtest.NewURL(b)
	dbs := dbtest.Databases(b, url)
	app := buildMonolith(b, ctx, cfg, slog.New(slog.DiscardHandler), dbs)
	if _, err := app.Identity.API().EnsureAdmin(ctx, "bench@shop.test", "bench admin password"); err != nil {
		b.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- app.Kernel.Run(ctx, func(a net.Addr) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		b.Fatal(err)
	}
	defer func() {
		cancel()
		<-done
	}()

	const window = 15 * time.Second // per phase
	load := prepareCheckout(b, base, "bench@shop.test", "bench admin password", 2*checkoutShopper)
	load.await = watchConfirmations(b, url).await
	if warm, _ := load.closedLoop(b, checkoutShopper, checkoutWarmUp); warm.failures > 0 {
		b.Fatalf("%d checkouts of the warm-up not confirmed", warm.failures)
	}
	b.ResetTimer()

	ceiling := commitCeiling(b, url)

	// Phase 1, throughput: shoppers check out back to back.
	before := readCounters(b, url)
	saturated, elapsed := load.closedLoop(b, checkoutShopper, window)
	after := readCounters(b, url)
	rate := saturated.confirmed() / elapsed.Seconds()

	// Phase 2, latency: checkouts arrive at half that rate.
	paced := load.paced(b, rate/2, window)
	b.StopTimer()
	if saturated.failures+paced.failures > 0 || len(paced.latencies) == 0 {
		b.Fatalf("checkouts not confirmed: %d saturated, %d paced", saturated.failures, paced.failures)
	}
	commits, walWrites, walSyncs := after.per(before, saturated.confirmed())
	b.ReportMetric(ceiling, "db_commits/s")
	b.ReportMetric(rate, "checkouts/s")
	b.ReportMetric(quantileMS(saturated.latencies, 0.50), "saturated_p50_ms")
	b.ReportMetric(rate/2, "paced_checkouts/s")
	b.ReportMetric(quantileMS(paced.latencies, 0.50), "confirm_p50_ms")
	b.ReportMetric(quantileMS(paced.latencies, 0.99), "confirm_p99_ms")
	b.ReportMetric(quantileMS(paced.answers, 0.50), "answer_p50_ms")
	b.ReportMetric(quantileMS(paced.answers, 0.99), "answer_p99_ms")
	b.ReportMetric(commits, "db_xacts/checkout")
	b.ReportMetric(walWrites, "server_wal_writes/checkout")
	b.ReportMetric(walSyncs, "server_wal_flushes/checkout")
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(load.retried.Load()), "checkouts_retried_after_503")
	checkoutGoals(os.Stdout, "monolith (in the test process)", rate, ceiling, quantile(paced.latencies, 0.99), rate/2)

	const listed = 20
	writeTransactions(b, os.Stdout, url, listed, func() {
		for i := range listed {
			if _, _, ok := load.buy(b, load.tokens[0], load.products[i%len(load.products)]); !ok {
				b.Fatal("a listed checkout was not confirmed")
			}
		}
	})
}

// checkoutLoad is a shop ready for checkouts: products in stock, and
// customers signed in.
type checkoutLoad struct {
	c        *benchClient
	retried  atomic.Int64 // checkouts answered 503 and sent again
	products []string
	tokens   []string
	// await waits for an order's confirmation and returns its time on the
	// order's timeline; false when the order ended otherwise. Polling the
	// order through the API unless set.
	await func(b *testing.B, token, order string) (time.Time, bool)
}

// prepareCheckout signs in as the admin on the shop at base, creates 20
// products with plenty in stock, and signs customers up.
func prepareCheckout(b *testing.B, base, adminEmail, adminPassword string, customers int) *checkoutLoad {
	b.Helper()
	l := &checkoutLoad{c: newBenchClient(base)}
	admin := l.c.login(b, adminEmail, adminPassword)
	for i := range 20 {
		p := l.c.do(b, "POST", "/api/products", admin, map[string]any{
			"sku": fmt.Sprintf("BENCH-%d", i), "name": "Bench product", "price_minor": 1000 + i, "currency": "EUR"}, http.StatusCreated)
		id := p["id"].(string)
		l.c.do(b, "PUT", "/api/inventory/"+id, admin, map[string]any{"on_hand": 1_000_000}, http.StatusOK)
		l.products = append(l.products, id)
	}
	for range customers {
		email := uuid.NewString() + "@bench.example"
		l.c.do(b, "POST", "/api/identity/register", "", map[string]any{"email": email, "password": "bench password 123", "name": "Bench"}, http.StatusAccepted)
		l.tokens = append(l.tokens, l.c.login(b, email, "bench password 123"))
	}
	return l
}

// buy is one shopper's checkout: a product into the cart, the checkout,
// and the wait for its confirmation. confirm runs from sending the
// checkout to the confirmed step of the order's timeline, answer to the
// checkout's response.
func (l *checkoutLoad) buy(b *testing.B, token, product string) (confirm, answer time.Duration, ok bool) {
	l.c.do(b, "POST", "/api/cart/items", token, map[string]any{"product_id": product, "quantity": 1}, http.StatusOK)
	sent := time.Now()
	key := uuid.NewString()
	var o map[string]any
	for attempt := 1; ; attempt++ {
		// A shop short of time answers 503 with Retry-After (the cart's prices
		// could not be confirmed): a shopper tries again as told, with the
		// same key; the wait counts in the checkout's latency.
		status, out := l.c.send(b, "POST", "/api/orders", token, map[string]any{"card_number": payments.CardApprove},
			"Idempotency-Key", key)
		if status == http.StatusServiceUnavailable && attempt < 5 {
			l.retried.Add(1)
			time.Sleep(time.Second) // the Retry-After the shop gives
			continue
		}
		if status != http.StatusCreated {
			b.Fatalf("POST /api/orders: %d %v", status, out)
		}
		o = out
		break
	}
	answer = time.Since(sent)
	await := l.c.awaitConfirmed
	if l.await != nil {
		await = l.await
	}
	confirmed, ok := await(b, token, o["id"].(string))
	return confirmed.Sub(sent), answer, ok
}

// closedLoop has shoppers, each a customer of its own, check out back to
// back for d, and returns their checkouts and how long they took (the last
// shopper finishes the checkout under way at d).
func (l *checkoutLoad) closedLoop(b *testing.B, shoppers int, d time.Duration) (*checkoutRun, time.Duration) {
	if shoppers > len(l.tokens) {
		b.Fatalf("%d shoppers for %d customers", shoppers, len(l.tokens))
	}
	run := &checkoutRun{}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range shoppers {
		wg.Go(func() {
			for n := 0; time.Now().Before(deadline); n++ {
				run.add(l.buy(b, l.tokens[w], l.products[(w+n)%len(l.products)]))
			}
		})
	}
	wg.Wait()
	return run, time.Since(start)
}

// checkoutRun collects the outcomes of one phase.
type checkoutRun struct {
	mu                 sync.Mutex
	latencies, answers []time.Duration
	failures           int
}

func (r *checkoutRun) add(confirm, answer time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.failures++
		return
	}
	r.latencies = append(r.latencies, confirm)
	r.answers = append(r.answers, answer)
}

func (r *checkoutRun) confirmed() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return float64(len(r.latencies))
}

func quantileMS(d []time.Duration, q float64) float64 {
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
}

type benchClient struct {
	base string
	http *http.Client
}

// newBenchClient is a client of the shop at base that keeps a connection
// per shopper.
func newBenchClient(base string) *benchClient {
	return &benchClient{base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (c *benchClient) do(b *testing.B, method, path, token string, body any, want int, header ...string) map[string]any {
	status, out := c.send(b, method, path, token, body, header...)
	if status != want {
		b.Fatalf("%s %s: %d %v", method, path, status, out)
	}
	return out
}

// send makes a request and returns its status and decoded answer.
func (c *benchClient) send(b *testing.B, method, path, token string, body any, header ...string) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (c *benchClient) login(b *testing.B, email, password string) string {
	return c.do(b, "POST", "/api/identity/login", "", map[string]any{"email": email, "password": password}, http.StatusOK)["token"].(string)
}

// awaitConfirmed polls the order every 50 ms and returns when its timeline
// says it was confirmed; false when it ended otherwise.
func (c *benchClient) awaitConfirmed(b *testing.B, token, id string) (time.Time, bool) {
	for range 3000 {
		var o struct {
			Status   string `json:"status"`
			Timeline []struct {
				Step string    `json:"step"`
				At   time.Time `json:"at"`
			} `json:"timeline"`
		}
		raw, _ := json.Marshal(c.do(b, "GET", "/api/orders/"+id, token, nil, http.StatusOK))
		_ = json.Unmarshal(raw, &o)
		for _, s := range o.Timeline {
			if s.Step == "confirmed" {
				return s.At, true
			}
		}
		if o.Status == "rejected" || o.Status == "failed" || o.Status == "cancelled" {
			return time.Time{}, false
		}
		time.Sleep(50 * time.Millisecond) // the poll interval of a client, not synchronisation of the measurement
	}
	return time.Time{}, false
}
