package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/platform/benchtest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// BenchmarkProductByID compares GET /api/products/{id} through the whole
// stack (echo edge with every middleware, catalog module, gorm, the catalog
// role's pool) with a bare net/http + pgx handler running the same queries on
// an equal pool. Both servers run in this process on loopback; rounds
// alternate between them so both see the same machine state, and the ratios
// are reported side by side. allocs/req subtracts the allocations of the load
// generator itself, measured against a handler that writes a canned body.
func BenchmarkProductByID(b *testing.B) {
	ctx := context.Background()
	cfg, err := config.Load(func(k string) (string, bool) {
		if k == "SHOP_LOG_LEVEL" {
			return "error", true
		}
		return "", false
	})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	dbs := dbtest.Databases(b, dbtest.NewURL(b))
	app := buildMonolith(b, ctx, cfg, log, dbs)
	if err := app.Catalog.Seed(ctx, 2000, nil); err != nil {
		b.Fatal(err)
	}
	page, err := app.Catalog.API().ListProducts(ctx, catalog.ProductQuery{Limit: 100})
	if err != nil || len(page.Items) == 0 {
		b.Fatalf("no products to fetch: %v", err)
	}
	ids := make([]string, len(page.Items))
	for i, p := range page.Items {
		ids[i] = p.ID
	}
	bareDB, err := dbs.Open(ctx, "catalog")
	if err != nil {
		b.Fatal(err)
	}
	canned, _ := json.Marshal(page.Items[0])

	stack := httptest.NewServer(app.Kernel.Server().Echo)
	defer stack.Close()
	bare := httptest.NewServer(bareHandler(bareDB.Pool))
	defer bare.Close()
	baseline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(canned)
	}))
	defer baseline.Close()

	const (
		workers = 16
		rounds  = 4
		perLeg  = 2 * time.Second
	)
	var stackRes, bareRes, baseRes loadResult
	for range b.N {
		for range rounds {
			stackRes.add(drive(stack.URL, ids, workers, perLeg))
			bareRes.add(drive(bare.URL, ids, workers, perLeg))
			baseRes.add(drive(baseline.URL, ids, workers, perLeg/4))
		}
	}
	if stackRes.errors+bareRes.errors > 0 {
		b.Fatalf("failed requests: stack %d, bare %d", stackRes.errors, bareRes.errors)
	}
	client := baseRes.allocsPerReq()
	b.ReportMetric(stackRes.rps(), "stack_req/s")
	b.ReportMetric(bareRes.rps(), "bare_req/s")
	b.ReportMetric(stackRes.rps()/bareRes.rps(), "throughput_ratio")
	b.ReportMetric(stackRes.p(0.50), "stack_p50_ms")
	b.ReportMetric(bareRes.p(0.50), "bare_p50_ms")
	b.ReportMetric(stackRes.p(0.99), "stack_p99_ms")
	b.ReportMetric(bareRes.p(0.99), "bare_p99_ms")
	b.ReportMetric(stackRes.p(0.99)/bareRes.p(0.99), "p99_ratio")
	b.ReportMetric(stackRes.allocsPerReq()-client, "stack_allocs/req")
	b.ReportMetric(bareRes.allocsPerReq()-client, "bare_allocs/req")
	b.ReportMetric(0, "ns/op")
	detail := func(unit string, stack, bare float64) string {
		return fmt.Sprintf("%.2f / %.2f %s, %d rounds of %v each", stack, bare, unit, b.N*rounds, perLeg)
	}
	benchtest.Goal(os.Stdout, "product read full stack/bare throughput", ">=", 0.9,
		stackRes.rps()/bareRes.rps(), detail("req/s", stackRes.rps(), bareRes.rps()))
	benchtest.Goal(os.Stdout, "product read full stack/bare p99", "<=", 1.2,
		stackRes.p(0.99)/bareRes.p(0.99), detail("ms", stackRes.p(0.99), bareRes.p(0.99)))
	fmt.Printf("info | product read allocations per request, server side | full stack %.1f, bare %.1f\n",
		stackRes.allocsPerReq()-client, bareRes.allocsPerReq()-client)
}

type loadResult struct {
	requests, errors int
	elapsed          time.Duration
	mallocs          uint64
	latencies        []time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.mallocs += o.mallocs
	r.latencies = append(r.latencies, o.latencies...)
}

func (r *loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *loadResult) allocsPerReq() float64 { return float64(r.mallocs) / float64(r.requests) }

func (r *loadResult) p(q float64) float64 {
	slices.Sort(r.latencies)
	i := int(q * float64(len(r.latencies)-1))
	return float64(r.latencies[i].Microseconds()) / 1000
}

// drive runs a closed loop of workers against base for d.
func drive(base string, ids []string, workers int, d time.Duration) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			n, bad := 0, 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Get(base + "/api/products/" + ids[rng.IntN(len(ids))])
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
				}
				lat = append(lat, time.Since(t0))
				n++
			}
			mu.Lock()
			res.requests += n
			res.errors += bad
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	runtime.ReadMemStats(&after)
	res.mallocs = after.Mallocs - before.Mallocs
	return res
}

// bareHandler is the floor: net/http's mux, pgx, the same two queries the
// catalog runs (the product, then its applicable deals), the same pricing
// rule and JSON shape; no middleware, no ORM, no module layers.
func bareHandler(pool *pgxpool.Pool) http.Handler {
	type money struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	type deal struct {
		ID     string    `json:"id"`
		Name   string    `json:"name"`
		EndsAt time.Time `json:"ends_at"`
	}
	type product struct {
		ID             string    `json:"id"`
		SKU            string    `json:"sku"`
		Name           string    `json:"name"`
		Description    string    `json:"description"`
		CategoryID     *string   `json:"category_id,omitempty"`
		Price          money     `json:"price"`
		EffectivePrice money     `json:"effective_price"`
		Deal           *deal     `json:"deal"`
		Active         bool      `json:"active"`
		CreatedAt      time.Time `json:"created_at"`
		UpdatedAt      time.Time `json:"updated_at"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/products/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var p product
		err := pool.QueryRow(ctx, `SELECT id, sku, name, description, category_id, price_minor, currency, active, created_at, updated_at
			FROM products WHERE products.id = $1 AND products.active AND (products.category_id IS NULL OR EXISTS (
			SELECT 1 FROM categories c WHERE c.id = products.category_id AND c.active)) LIMIT 1`, r.PathValue("id")).
			Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.CategoryID, &p.Price.Amount, &p.Price.Currency, &p.Active, &p.CreatedAt, &p.UpdatedAt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		p.EffectivePrice = p.Price
		now := time.Now()
		const deals = `SELECT id, name, kind, value, currency, product_id, category_id, starts_at, ends_at, active, created_at, updated_at
			FROM deals WHERE active AND starts_at <= $1 AND ends_at > $1`
		var rows pgx.Rows
		if p.CategoryID == nil {
			rows, err = pool.Query(ctx, deals+` AND (product_id IN ($2)) ORDER BY id`, now, p.ID)
		} else {
			rows, err = pool.Query(ctx, deals+` AND (product_id IN ($2) OR category_id IN ($3)) ORDER BY id`, now, p.ID, *p.CategoryID)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for rows.Next() {
			var d deal
			var kind, cur string
			var value int64
			var productID, categoryID *string
			var startsAt, createdAt, updatedAt time.Time
			var active bool
			if err := rows.Scan(&d.ID, &d.Name, &kind, &value, &cur, &productID, &categoryID, &startsAt, &d.EndsAt, &active, &createdAt, &updatedAt); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			price := p.Price.Amount - (p.Price.Amount*value+50)/100
			if kind == "fixed" {
				if cur != p.Price.Currency {
					continue
				}
				price = max(0, p.Price.Amount-value)
			}
			if price < p.EffectivePrice.Amount {
				p.EffectivePrice.Amount, p.Deal = price, &d
			}
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})
	return mux
}
