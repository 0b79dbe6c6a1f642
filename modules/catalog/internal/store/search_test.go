package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog/internal/store"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// searchCatalog is a store on a catalog of n products in three categories
// (one of them hidden), every product named after its number i so that
// words land at known densities: "every" on every product, "half" on every
// second (the probe's walk finds a page), "tenth" on every tenth (the
// window's walk finds it), "sparse" on every 60th (denser than the rare
// words, sparser than one in SearchWindow), "rare" on three, and "hidden" on every product
// that is inactive (every 97th).
type searchCatalog struct {
	s          *store.Store
	db         *database.DB
	categories []domain.Category
	products   []domain.Product // in id order
}

// openCatalog is a store on a fresh database with a category of each slug.
func openCatalog(t *testing.T, slugs ...string) *searchCatalog {
	t.Helper()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog")
	db, err := dbs.Open(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	c := &searchCatalog{s: store.New(db, (&recorder{}).publish), db: db}
	for _, slug := range slugs {
		c.categories = append(c.categories, createCategory(t, c.s, slug))
	}
	return c
}

func newSearchCatalog(t *testing.T, n int) *searchCatalog {
	t.Helper()
	c := openCatalog(t, "tea", "coffee", "gone")
	ctx := context.Background()
	off := false
	if _, err := c.s.UpdateCategory(ctx, c.categories[2].ID(), func(cat *domain.Category) error {
		return cat.Apply(domain.CategoryChanges{Active: &off}, now)
	}); err != nil {
		t.Fatal(err)
	}
	var batch []domain.Product
	for i := range n {
		words := []string{"every"}
		if i%2 == 0 {
			words = append(words, "half")
		}
		if i%10 == 3 {
			words = append(words, "tenth")
		}
		if i%60 == 7 {
			words = append(words, "sparse")
		}
		if i == n/3 || i == n/2 || i == n-2 {
			words = append(words, "rare")
		}
		if i%97 == 5 {
			words = append(words, "hidden")
		}
		p, err := domain.NewProduct(domain.ProductSpec{
			SKU: fmt.Sprintf("S-%05d", i), Name: strings.Join(words, " "), Currency: "EUR", PriceMinor: 100,
			CategoryID: c.categories[i%len(c.categories)].ID(),
		}, now)
		if err != nil {
			t.Fatal(err)
		}
		if i%97 == 5 {
			if err := p.Apply(domain.ProductChanges{Active: &off}, now); err != nil {
				t.Fatal(err)
			}
		}
		batch = append(batch, p)
		c.products = append(c.products, p)
		if len(batch) == 1000 || i == n-1 {
			if err := c.s.SeedProducts(ctx, batch, func(domain.Product) []any { return nil }); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	slices.SortFunc(c.products, func(a, b domain.Product) int { return strings.Compare(a.ID(), b.ID()) })
	// The planner's statistics, as autovacuum would leave them.
	if err := c.db.Gorm.Exec("ANALYZE products").Error; err != nil {
		t.Fatal(err)
	}
	return c
}

// newBulkCatalog is a store on a catalog of n products in two categories,
// written by one INSERT … SELECT (the store's own inserts would take
// minutes), every 50th product hidden.
func newBulkCatalog(t *testing.T, n int) *searchCatalog {
	t.Helper()
	c := openCatalog(t, "tea", "coffee")
	db := c.db
	var err error
	// In batches, each well within the statement timeout.
	for from := 1; from <= n && err == nil; from += 20_000 {
		err = db.Gorm.Exec(`INSERT INTO products (id, sku, name, description, price_minor, currency, category_id, active, created_at, updated_at)
			SELECT (lpad(to_hex(i), 8, '0') || '-0000-7000-8000-000000000000')::uuid, 'B-' || i,
				'Bulk ' || (ARRAY['mug', 'lamp', 'chair', 'kettle'])[1 + i % 4] || ' ' || i, '', 100, 'EUR',
				(ARRAY[?, ?]::uuid[])[1 + i % 2], i % 50 <> 0, now(), now()
			FROM generate_series(?::int, ?::int) AS i`,
			c.categories[0].ID(), c.categories[1].ID(), from, min(from+20_000-1, n)).Error
	}
	if err == nil {
		err = db.Gorm.Exec("ANALYZE products").Error
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// want is what a search must list: the visible products with every term
// among their words, in id order.
func (c *searchCatalog) want(f domain.ProductFilter) []string {
	var ids []string
	for _, p := range c.products {
		visible := p.Active() && p.CategoryID() != c.categories[2].ID()
		if (f.CategoryID != "" && p.CategoryID() != f.CategoryID) || (!visible && !f.IncludeInactive) {
			continue
		}
		words := strings.Fields(p.Name())
		if !slices.ContainsFunc(f.Terms, func(t string) bool { return !slices.Contains(words, t) }) {
			ids = append(ids, p.ID())
		}
	}
	return ids
}

// TestSearchPagesAreTheFilteredListing pages through searches for words of
// every density — those a walk of the listing finds and those only the
// text index finds in time — with and without a category and hidden
// products, and checks each against the listing filtered here.
func TestSearchPagesAreTheFilteredListing(t *testing.T) {
	t.Parallel()
	c := newSearchCatalog(t, 2000)
	ctx := context.Background()
	for _, terms := range [][]string{{"every"}, {"half"}, {"tenth"}, {"sparse"}, {"rare"}, {"hidden"}, {"half", "sparse"}, {"nothing"}} {
		for _, category := range []string{"", c.categories[0].ID(), c.categories[2].ID()} {
			for _, inactive := range []bool{false, true} {
				f := domain.ProductFilter{Terms: terms, CategoryID: category, IncludeInactive: inactive, Limit: 5}
				var got []string
				for {
					ps, err := c.s.ListProducts(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range ps {
						got = append(got, p.ID())
					}
					if len(ps) < f.Limit {
						break
					}
					f.After = ps[len(ps)-1].ID()
				}
				f.After = ""
				if want := c.want(f); !slices.Equal(got, want) {
					t.Errorf("search %v (category %q, inactive %v): %d products, want %d:\n got %v\nwant %v",
						terms, category, inactive, len(got), len(want), got, want)
				}
			}
		}
	}
}

// TestSearchForAWordNoProductHasUsesTheTextIndex checks the plans of a
// search that matches nothing, with and without a category: its matches
// come from product_matches, which reads the text index, and no scan of
// products reads more than the window of pages walked in id order (twice
// it: the walk skips hidden products too). The plain query walked the
// whole primary key in id order, filtering every row: the planner cannot
// tell that a prefix matches nothing.
func TestSearchForAWordNoProductHasUsesTheTextIndex(t *testing.T) {
	t.Parallel()
	// The planner walked the primary key from about 100,000 products on
	// (at 50,000 it still chose the text index and a sort).
	const n, limit = 100_000, 20
	c := newBulkCatalog(t, n)
	statements := recordQueries(t, c.db)
	ctx := context.Background()
	for _, category := range []string{"", c.categories[1].ID()} {
		statements.reset()
		f := domain.ProductFilter{Terms: []string{"nothing"}, CategoryID: category, Limit: limit}
		if ps, err := c.s.ListProducts(ctx, f); err != nil || len(ps) != 0 {
			t.Fatalf("search for nothing = %d products, %v", len(ps), err)
		}
		askedIndex := false
		for _, q := range statements.taken() {
			plan := explain(t, c.db, q.sql, q.vars...)
			walk(plan, func(node map[string]any) {
				if node["Function Name"] == "product_matches" {
					askedIndex = true
				}
				if node["Relation Name"] != "products" {
					return
				}
				if read := number(node["Actual Rows"]) + number(node["Rows Removed by Filter"]); read > 2*store.SearchWindow*limit {
					t.Errorf("category %q: %s over products read %v rows, more than twice the window of %d:\n%s\n%s",
						category, node["Node Type"], read, store.SearchWindow*limit, q.sql, planText(plan))
				}
			})
		}
		if !askedIndex {
			t.Errorf("category %q: no statement asked product_matches", category)
		}
	}

	// product_matches itself, under its own settings: the text index, and
	// nothing scanned but the matches.
	var body string
	var settings []string
	if err := c.db.Pool.QueryRow(ctx, `SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'product_matches'`).
		Scan(&body, &settings); err != nil {
		t.Fatal(err)
	}
	tx, err := c.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, kv := range settings {
		name, value, _ := strings.Cut(kv, "=")
		if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, name, value); err != nil {
			t.Fatal(err)
		}
	}
	var raw string
	sql := regexp.MustCompile(`\bquery\b`).ReplaceAllString(body, "$$1::text")
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, "'nothing':*").Scan(&raw); err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	plan := planOf(t, raw)
	usedIndex := false
	walk(plan, func(node map[string]any) {
		if node["Index Name"] == "products_search_idx" {
			usedIndex = true
		}
		if node["Node Type"] == "Seq Scan" || (node["Relation Name"] == "products" && number(node["Actual Rows"]) > 0) {
			t.Errorf("product_matches read products beyond its matches:\n%s", planText(plan))
		}
	})
	if !usedIndex {
		t.Errorf("product_matches did not use products_search_idx:\n%s", planText(plan))
	}
}

// statement is a query the store ran, with its arguments.
type statement struct {
	sql  string
	vars []any
}

// queryLog records the queries run through a database's gorm handle.
type queryLog struct {
	mu   sync.Mutex
	list []statement
}

func recordQueries(t *testing.T, db *database.DB) *queryLog {
	t.Helper()
	l := &queryLog{}
	err := db.Gorm.Callback().Query().After("gorm:query").Register("test:record", func(tx *gorm.DB) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.list = append(l.list, statement{sql: tx.Statement.SQL.String(), vars: slices.Clone(tx.Statement.Vars)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *queryLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = nil
}

func (l *queryLog) taken() []statement {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// explain runs sql under EXPLAIN (ANALYZE, FORMAT JSON) and returns its
// top plan node.
func explain(t *testing.T, db *database.DB, sql string, args ...any) map[string]any {
	t.Helper()
	var raw string
	if err := db.Pool.QueryRow(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	return planOf(t, raw)
}

func planOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	var out []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out) != 1 {
		t.Fatalf("plan %s: %v", raw, err)
	}
	return out[0].Plan
}

// walk calls fn on node and every node under it.
func walk(node map[string]any, fn func(map[string]any)) {
	fn(node)
	children, _ := node["Plans"].([]any)
	for _, ch := range children {
		if m, ok := ch.(map[string]any); ok {
			walk(m, fn)
		}
	}
}

func number(v any) float64 {
	f, _ := v.(float64)
	return f
}

func planText(plan map[string]any) string {
	raw, _ := json.MarshalIndent(plan, "", "  ")
	return string(raw)
}
