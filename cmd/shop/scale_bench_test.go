package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/benchtest"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// scaleSizesEnv lists the catalog sizes BenchmarkScale runs (comma
// separated); default 10,000, 100,000 and 1,000,000 products.
const scaleSizesEnv = "SHOP_BENCH_SCALE_SIZES"

// The load of every size.
const (
	scaleWarmUp   = 20      // requests of each read before it is measured
	scaleRequests = 300     // measured requests of each read, one at a time
	scaleBacklog  = 100_000 // events in the backlog drained
	scaleRebuilds = 3       // runs of `shop reporting rebuild`, of which the median counts
)

// BenchmarkScale measures how the cost of the shop's reads, of a rebuild of
// the sales figures and of draining an event backlog grows with the data,
// on the real binary (the monolith, built without -race) over HTTP. For
// each size it seeds a fresh database straight into the modules' schemas
// (INSERT … SELECT generate_series, see seedScale): that many products in
// 50 categories and a tenth as many confirmed orders (in orders and in
// reporting's journal, as their events left them); then it measures, one
// request at a time, the p50 and p99 of every read of scaleReads, times
// `shop reporting rebuild` (the CLI, as an operator runs it), and times the
// drain of a backlog of scaleBacklog events (identity's user_registered,
// which notifications turns into welcome messages) through the real bus.
// It prints one table per size and goal lines comparing the largest size
// with the smallest:
//
//   - every read flat: p50 at most 2× — an index-backed read costs a walk
//     one level deeper in a B-tree a hundred times larger, and a working
//     set that outgrows the buffer cache; 2× leaves room for that and the
//     machine's noise, while a read that scans grows with the data (a
//     hundred times from 10k to 1M);
//   - the rebuild linear: its time per journal entry at most 2×, timed in
//     the running shop (POST /api/reports/rebuild, the same work as the
//     CLI without the process's start, which does not grow with the data
//     and would swamp the small journals); a sort or a lookup per entry
//     that grew with the journal would break it.
func BenchmarkScale(b *testing.B) {
	sizes := scaleSizes(b)
	bin := buildOptimised(b)
	var runs []scaleRun
	b.ResetTimer()
	for _, n := range sizes {
		r := benchScale(b, bin, n)
		r.print(os.Stdout)
		runs = append(runs, r)
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	if len(runs) < 2 {
		return
	}
	small, large := runs[0], runs[len(runs)-1]
	span := fmt.Sprintf("%s / %s products", count(large.products), count(small.products))
	for i, rd := range large.reads {
		s := small.reads[i]
		benchtest.Goal(os.Stdout, "flat read p50: "+rd.name, "<=", 2, ratio(rd.p50, s.p50),
			fmt.Sprintf("%.2f / %.2f ms, %s", ms(rd.p50), ms(s.p50), span))
	}
	benchtest.Goal(os.Stdout, "linear rebuild: time per journal entry", "<=", 2, ratio(large.perEntry(), small.perEntry()),
		fmt.Sprintf("%.1f / %.1f µs, %s / %s entries", us(large.perEntry()), us(small.perEntry()), count(large.orders), count(small.orders)))
	fmt.Printf("info | drain of %s events | %.2f× (%.1f / %.1f s, %s)\n", count(scaleBacklog),
		ratio(large.drain, small.drain), large.drain.Seconds(), small.drain.Seconds(), span)
}

func scaleSizes(b *testing.B) []int {
	v := os.Getenv(scaleSizesEnv)
	if v == "" {
		return []int{10_000, 100_000, 1_000_000}
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 {
			b.Fatalf("%s=%q: want sizes of at least 1000, comma separated", scaleSizesEnv, v)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// scaleRun is what one size measured.
type scaleRun struct {
	products, orders int
	seed             time.Duration
	reads            []readFigures
	rebuild          time.Duration // `shop reporting rebuild`, the process's start included
	rebuildHTTP      time.Duration // POST /api/reports/rebuild: the same work in the running shop
	rebuilt          int           // journal entries the rebuild replayed
	drain            time.Duration
}

type readFigures struct {
	name     string
	p50, p99 time.Duration
}

// perEntry is the rebuild's time per journal entry in the running shop
// (the CLI's start, a second or so on a busy machine, would swamp the
// smaller journals).
func (r scaleRun) perEntry() time.Duration {
	return r.rebuildHTTP / time.Duration(max(r.rebuilt, 1))
}

func (r scaleRun) print(w io.Writer) {
	fmt.Fprintf(w, "scale | %s products, %s orders (seeded in %.0f s)\n", count(r.products), count(r.orders), r.seed.Seconds())
	fmt.Fprintf(w, "scale | %-44s %8s %8s\n", "read", "p50 ms", "p99 ms")
	for _, rd := range r.reads {
		fmt.Fprintf(w, "scale | %-44s %8.2f %8.2f\n", rd.name, ms(rd.p50), ms(rd.p99))
	}
	fmt.Fprintf(w, "scale | shop reporting rebuild: %.2f s for %s journal entries; POST /api/reports/rebuild %.3f s (%.1f µs per entry)\n",
		r.rebuild.Seconds(), count(r.rebuilt), r.rebuildHTTP.Seconds(), us(r.perEntry()))
	fmt.Fprintf(w, "scale | drain of %s events: %.1f s (%.0f events/s)\n", count(scaleBacklog), r.drain.Seconds(),
		scaleBacklog/r.drain.Seconds())
}

// The seeded catalog's words: every fourth product is "classic", five are
// "zephyr" (all in the first category), and none is a "xylograph".
const (
	commonWord = "classic"
	rareWord   = "zephyr"
	rareCount  = 5
	absentWord = "xylograph"
)

// scaleID is the id of the seeded category or product number i: UUIDv7s
// in the order of i, as the shop's own ids are in the order of creation.
func scaleID(kind, i int) string { return fmt.Sprintf("018f%04x-0000-7000-8000-%012x", kind, i) }

const (
	categoryKind = 0
	productKind  = 1
	orderKind    = 2
)

// seedScale fills the catalog with n products and orders (in orders and in
// reporting's journal) with n/10 confirmed ones, over conn (the owner's).
// It leaves reporting's figures empty: the rebuild makes them.
func seedScale(ctx context.Context, conn *pgx.Conn, n int) error {
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO catalog.categories (id, slug, name, active, created_at, updated_at)
			SELECT ('018f0000-0000-7000-8000-' || lpad(to_hex(c), 12, '0'))::uuid, 'category-' || c, 'Category ' || c, true, now(), now()
			FROM generate_series(0, 49) AS c`, nil},
		{`INSERT INTO catalog.products (id, sku, name, description, price_minor, currency, category_id, active, created_at, updated_at)
			SELECT ('018f0001-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'SKU-' || i,
				CASE WHEN i % 4 = 0 THEN 'Classic'
					ELSE (ARRAY['Sturdy', 'Bright', 'Quiet', 'Rustic', 'Modern', 'Tiny', 'Grand', 'Smooth', 'Warm', 'Bold', 'Simple', 'Crisp'])[1 + (i / 4) % 12]
				END || ' ' || (ARRAY['mug', 'lamp', 'chair', 'table', 'kettle', 'towel', 'candle', 'basket', 'shelf', 'clock', 'vase', 'blanket', 'pillow', 'bowl', 'plate'])[1 + i % 15] || ' ' || i,
				CASE WHEN rare THEN 'A zephyr of a thing' ELSE 'Made to last, for every day' END,
				100 + i % 10000, 'EUR',
				('018f0000-0000-7000-8000-' || lpad(to_hex(CASE WHEN rare THEN 0 ELSE i % 50 END), 12, '0'))::uuid, true, now(), now()
			FROM generate_series(1, $1::int) AS i, LATERAL (SELECT i % ($1::int / $2::int) = $1::int / (2 * $2::int) AS rare) AS r`,
			[]any{n, rareCount}},
		// Orders of one line each, confirmed over the last four weeks.
		{`CREATE TEMP TABLE scale_orders ON COMMIT DROP AS
			SELECT ('018f0002-0000-7000-8000-' || lpad(to_hex(o), 12, '0'))::uuid AS id, gen_random_uuid() AS user_id,
				'customer' || o || '@shop.test' AS email, p AS product, 1 + o % 3 AS quantity, 100 + p % 10000 AS price,
				date_trunc('second', now()) - (o % 28) * interval '1 day' - (o % 600) * interval '1 second' AS confirmed_at
			FROM generate_series(1, $1::int / 10) AS o, LATERAL (SELECT 1 + (o * 7919) % $1::int AS p) AS pick`, []any{n}},
		{`INSERT INTO orders.orders (id, user_id, email, status, total_minor, currency, card_token, card_last4,
				stock_committed, payment_captured, confirmed_at, created_at, updated_at)
			SELECT id, user_id, email, 'confirmed', quantity * price, 'EUR', 'tok_scale', '4242', true, true, confirmed_at, confirmed_at, confirmed_at
			FROM scale_orders`, nil},
		{`INSERT INTO orders.order_items (order_id, line, product_id, sku, name, quantity, unit_price_minor)
			SELECT id, 1, ('018f0001-0000-7000-8000-' || lpad(to_hex(product), 12, '0'))::uuid, 'SKU-' || product, 'Product ' || product, quantity, price
			FROM scale_orders`, nil},
		{`INSERT INTO reporting.journal (event_id, type, order_id, occurred_at, payload)
			SELECT gen_random_uuid(), 'orders.order_confirmed.v1', id, confirmed_at, jsonb_build_object(
				'order_id', id, 'user_id', user_id, 'email', email,
				'items', jsonb_build_array(jsonb_build_object(
					'product_id', ('018f0001-0000-7000-8000-' || lpad(to_hex(product), 12, '0'))::uuid, 'sku', 'SKU-' || product,
					'name', 'Product ' || product, 'quantity', quantity,
					'unit_price', jsonb_build_object('amount', price, 'currency', 'EUR'),
					'line_total', jsonb_build_object('amount', quantity * price, 'currency', 'EUR'))),
				'total', jsonb_build_object('amount', quantity * price, 'currency', 'EUR'),
				'confirmed_at', to_char(confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
			FROM scale_orders ORDER BY confirmed_at`, nil},
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("%.60s…: %w", strings.TrimSpace(s.sql), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// What autovacuum would have done by the time a shop has such data.
	_, err = conn.Exec(ctx, `VACUUM ANALYZE catalog.categories, catalog.products, orders.orders, orders.order_items, reporting.journal`)
	return err
}

// benchScale runs one size on a fresh database.
func benchScale(b *testing.B, bin string, n int) scaleRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	dbURL := dbtest.NewURL(b)
	owner, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(context.Background())
	run := scaleRun{products: n, orders: n / 10}
	start := time.Now()
	if err := seedScale(ctx, owner, n); err != nil {
		b.Fatalf("seed %d products: %v", n, err)
	}
	run.seed = time.Since(start)

	release, err := holdConns(2 * shopConns) // the shop, and the CLI beside it
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	// A rebuild of the largest journal over HTTP outlasts the default
	// request deadline (10 s) on a busy machine; the CLI has none.
	env := shopEnv(dbURL, append(benchShopEnv, "SHOP_HTTP_REQUEST_TIMEOUT=2m")...)
	run.rebuild, run.rebuilt = rebuildReports(b, bin, env)

	modules, err := topology.ModulesOf(ctx, bin)
	if err != nil {
		b.Fatal(err)
	}
	tp, err := topology.Named(topology.Monolith, modules, false)
	if err != nil {
		b.Fatal(err)
	}
	c, err := topology.Start(ctx, tp, topology.Options{Binary: bin, DatabaseURL: dbURL, Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			b.Error(err)
		}
	}()
	client := newBenchClient(c.Front().URL())
	for _, rd := range scaleReads(b, client, n) {
		run.reads = append(run.reads, measureRead(b, client, rd))
	}
	run.rebuildHTTP = rebuildOverHTTP(b, client, run.rebuilt)
	run.drain = drainBacklog(b, ctx, owner)
	return run
}

// rebuildReports runs `shop reporting rebuild` scaleRebuilds times and
// returns the median wall time and the entries it replayed.
func rebuildReports(b *testing.B, bin string, env []string) (time.Duration, int) {
	b.Helper()
	var times []time.Duration
	entries := 0
	for range scaleRebuilds {
		cmd := exec.Command(bin, "reporting", "rebuild")
		cmd.Env = env
		start := time.Now()
		out, err := cmd.Output()
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatalf("shop reporting rebuild: %v\n%s", err, out)
		}
		if _, err := fmt.Sscanf(string(out), "rebuilt the sales figures from %d journalled events", &entries); err != nil {
			b.Fatalf("shop reporting rebuild said %q", out)
		}
	}
	return benchtest.Median(times), entries
}

// rebuildOverHTTP has the running shop rebuild the figures scaleRebuilds
// times and returns the median time of the request.
func rebuildOverHTTP(b *testing.B, c *benchClient, entries int) time.Duration {
	b.Helper()
	admin := c.login(b, adminEmail, adminPassword)
	var times []time.Duration
	for range scaleRebuilds {
		start := time.Now()
		res := c.do(b, "POST", "/api/reports/rebuild", admin, nil, http.StatusOK)
		times = append(times, time.Since(start))
		if fmt.Sprint(res["events"]) != strconv.Itoa(entries) {
			b.Fatalf("POST /api/reports/rebuild: %v, want %d entries replayed", res, entries)
		}
	}
	return benchtest.Median(times)
}

// scaleRead is one read of the table: a GET as the user of token, and
// how many items its answer must hold (-1: any).
type scaleRead struct {
	name, path, token string
	items             int
}

// scaleReads are the reads measured: listings and searches of products
// (first pages and a deep keyset page; a word on a quarter of the
// products, one on five, one on none; without and with a category), a
// customer's cart of 20 lines, and the admin's sales report.
func scaleReads(b *testing.B, c *benchClient, n int) []scaleRead {
	b.Helper()
	admin := c.login(b, adminEmail, adminPassword)
	email := uuid.NewString() + "@bench.example"
	c.do(b, "POST", "/api/identity/register", "", map[string]any{"email": email, "password": "bench password 123", "name": "Bench"}, http.StatusAccepted)
	customer := c.login(b, email, "bench password 123")
	for i := range 20 {
		id := scaleID(productKind, 1+i*(n/20))
		c.do(b, "PUT", "/api/inventory/"+id, admin, map[string]any{"on_hand": 1000}, http.StatusOK)
		c.do(b, "POST", "/api/cart/items", customer, map[string]any{"product_id": id, "quantity": 1}, http.StatusOK)
	}
	category := url.QueryEscape(scaleID(categoryKind, 0))
	// The cursor a client paging there would hold: next_cursor is the last
	// product's id, base64url-encoded.
	deep := base64.RawURLEncoding.EncodeToString([]byte(scaleID(productKind, n*9/10)))
	search := func(word string) string { return "/api/products?limit=20&q=" + word }
	return []scaleRead{
		{"products, first page", "/api/products?limit=20", "", 20},
		{"products, deep page (after 90%)", "/api/products?limit=20&after=" + deep, "", 20},
		{"products of a category, first page", "/api/products?limit=20&category=" + category, "", 20},
		{"search common word (1 in 4)", search(commonWord), "", 20},
		{"search common word, deep page", search(commonWord) + "&after=" + deep, "", 20},
		{"search rare word (5 products)", search(rareWord), "", rareCount},
		{"search word on no product", search(absentWord), "", 0},
		{"search common word in a category", search(commonWord) + "&category=" + category, "", 20},
		{"search rare word in a category", search(rareWord) + "&category=" + category, "", rareCount},
		{"search word on no product in a category", search(absentWord) + "&category=" + category, "", 0},
		{"cart of 20 lines", "/api/cart", customer, 20},
		{"sales report (admin, 30 days)", "/api/reports/sales", admin, -1},
	}
}

// measureRead sends the read one request at a time, the warm-up first,
// and checks the answers.
func measureRead(b *testing.B, c *benchClient, rd scaleRead) readFigures {
	b.Helper()
	var lat []time.Duration
	for i := range scaleWarmUp + scaleRequests {
		req, err := http.NewRequest("GET", c.base+rd.path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rd.token != "" {
			req.Header.Set("Authorization", "Bearer "+rd.token)
		}
		start := time.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: GET %s: %d %v %s", rd.name, rd.path, resp.StatusCode, err, raw)
		}
		if i == 0 {
			checkRead(b, rd, raw)
		}
		if i >= scaleWarmUp {
			lat = append(lat, took)
		}
	}
	return readFigures{name: rd.name, p50: quantile(lat, 0.50), p99: quantile(lat, 0.99)}
}

func checkRead(b *testing.B, rd scaleRead, raw []byte) {
	b.Helper()
	var body struct {
		Items []json.RawMessage `json:"items"`
		Days  []json.RawMessage `json:"days"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		b.Fatalf("%s: %v", rd.name, err)
	}
	switch {
	case rd.path == "/api/reports/sales" && len(body.Days) == 0:
		b.Fatalf("%s: no days with sales", rd.name)
	case rd.items >= 0 && len(body.Items) != rd.items:
		b.Fatalf("%s: %d items, want %d", rd.name, len(body.Items), rd.items)
	}
}

// drainBacklog publishes scaleBacklog user registrations in one
// transaction of identity's outbox, as that many sign-ups would have left
// them, wakes the relay as a publisher does, and returns the time from
// the commit until notifications has handled every one (its welcome
// messages written): the relay forwards, the dispatchers handle.
func drainBacklog(b *testing.B, ctx context.Context, owner *pgx.Conn) time.Duration {
	b.Helper()
	tx, err := owner.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `INSERT INTO identity.event_outbox (id, type, key, payload, occurred_at)
		SELECT gen_random_uuid(), 'identity.user_registered.v1', u::text,
			jsonb_build_object('user_id', u, 'email', 'backlog' || i || '@shop.test', 'name', 'Customer ' || i,
				'registered_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), now()
		FROM generate_series(1, $1::int) AS i,
			LATERAL (SELECT ('018f0003-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid AS u) AS id`, scaleBacklog); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify('shop_events', 'outbox:identity')`); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for {
		// One snapshot: the relay commits the inbox rows before it marks
		// the outbox rows forwarded, so nothing unforwarded and nothing
		// pending means every event was handled (or is dead).
		var unforwarded, pending int
		if err := owner.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM identity.event_outbox WHERE forwarded_at IS NULL),
			(SELECT count(*) FROM notifications.event_inbox WHERE status = 'pending')`).Scan(&unforwarded, &pending); err != nil {
			b.Fatal(err)
		}
		if unforwarded == 0 && pending == 0 {
			break
		}
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("backlog not drained in 20 minutes: %d events unforwarded, %d pending", unforwarded, pending)
		}
		time.Sleep(100 * time.Millisecond) // the poll's resolution, small against the drain's tens of seconds
	}
	took := time.Since(start)
	var done int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM notifications.event_inbox
		WHERE subscriber = 'notifications.welcome_email' AND status = 'done' AND key LIKE '018f0003-%'`).Scan(&done); err != nil {
		b.Fatal(err)
	}
	if done != scaleBacklog {
		b.Fatalf("%d of %d events handled", done, scaleBacklog)
	}
	return took
}

// count writes n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
