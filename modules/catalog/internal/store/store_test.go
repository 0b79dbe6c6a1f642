package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder is a fake publish function: it keeps the facts it is given, or
// fails with err.
type recorder struct {
	mu    sync.Mutex
	facts []any
	err   error
}

func (r *recorder) publish(_ context.Context, _ *gorm.DB, facts ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.facts = append(r.facts, facts...)
	return nil
}

func (r *recorder) recorded() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.facts...)
}

func newStore(t *testing.T) *store.Store {
	s, _ := newRecordingStore(t)
	return s
}

func newRecordingStore(t *testing.T) (*store.Store, *recorder) {
	t.Helper()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog")
	db, err := dbs.Open(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	return store.New(db, r.publish), r
}

func createProduct(t *testing.T, s *store.Store, spec domain.ProductSpec) domain.Product {
	t.Helper()
	if spec.Currency == "" {
		spec.Currency, spec.PriceMinor = "EUR", 1000
	}
	p, err := domain.NewProduct(spec, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProduct(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func createCategory(t *testing.T, s *store.Store, slug string) domain.Category {
	t.Helper()
	c, err := domain.NewCategory(slug, slug, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCategory(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeysetPagination(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	var want []string
	for i := range 25 {
		want = append(want, createProduct(t, s, domain.ProductSpec{SKU: fmt.Sprintf("P-%02d", i), Name: "Product"}).ID())
	}
	var got []string
	after, pages := "", 0
	for {
		ps, err := s.ListProducts(ctx, domain.ProductFilter{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			break
		}
		pages++
		for _, p := range ps {
			got = append(got, p.ID())
		}
		after = ps[len(ps)-1].ID()
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids in page order differ from creation order:\n got %v\nwant %v", got, want)
	}
}

func TestCategoryFilterAndVisibility(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tea, coffee := createCategory(t, s, "tea"), createCategory(t, s, "coffee")
	createProduct(t, s, domain.ProductSpec{SKU: "T1", Name: "Sencha", CategoryID: tea.ID()})
	createProduct(t, s, domain.ProductSpec{SKU: "C1", Name: "Espresso", CategoryID: coffee.ID()})
	hidden := createProduct(t, s, domain.ProductSpec{SKU: "T2", Name: "Old tea", CategoryID: tea.ID()})
	off := false
	if _, err := s.UpdateProduct(ctx, hidden.ID(), func(p *domain.Product) ([]any, error) {
		return nil, p.Apply(domain.ProductChanges{Active: &off}, now)
	}); err != nil {
		t.Fatal(err)
	}
	count := func(f domain.ProductFilter) int {
		f.Limit = 100
		ps, err := s.ListProducts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if f.CategoryID != "" && p.CategoryID() != f.CategoryID {
				t.Fatalf("product %s of category %s in filter %s", p.SKU(), p.CategoryID(), f.CategoryID)
			}
		}
		return len(ps)
	}
	if n := count(domain.ProductFilter{CategoryID: tea.ID()}); n != 1 {
		t.Errorf("visible tea products = %d, want 1", n)
	}
	if n := count(domain.ProductFilter{CategoryID: tea.ID(), IncludeInactive: true}); n != 2 {
		t.Errorf("all tea products = %d, want 2", n)
	}
	if _, err := s.UpdateCategory(ctx, coffee.ID(), func(c *domain.Category) error {
		return c.Apply(domain.CategoryChanges{Active: &off}, now)
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(domain.ProductFilter{}); n != 1 {
		t.Errorf("visible products after hiding coffee = %d, want 1", n)
	}
	if _, err := s.ProductBySKU(ctx, "C1", false); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("product of a hidden category: err = %v, want not found", err)
	}
}

func TestFullTextSearch(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	createProduct(t, s, domain.ProductSpec{SKU: "MUG-1", Name: "Enamel Camping Mug", Description: "Keeps coffee warm"})
	createProduct(t, s, domain.ProductSpec{SKU: "KET-1", Name: "Copper Kettle", Description: "Whistles"})
	createProduct(t, s, domain.ProductSpec{SKU: "DEMO-000042", Name: "Tin Cup", Description: "Crème brûlée, part P-10"})
	tests := []struct {
		terms []string
		want  []string
	}{
		{[]string{"mug"}, []string{"MUG-1"}},
		{[]string{"camp"}, []string{"MUG-1"}}, // prefix
		{[]string{"coffee"}, []string{"MUG-1"}},
		{[]string{"ket"}, []string{"KET-1"}}, // sku
		{[]string{"copper", "kettle"}, []string{"KET-1"}},
		{[]string{"copper", "mug"}, nil},
		{[]string{"teapot"}, nil},
		// A SKU's parts, as searchTerms splits them: the number after the
		// hyphen too.
		{[]string{"demo", "000042"}, []string{"DEMO-000042"}},
		{[]string{"000042"}, []string{"DEMO-000042"}},
		{[]string{"00004"}, []string{"DEMO-000042"}},
		{[]string{"p", "10"}, []string{"DEMO-000042"}},
		{[]string{"crème", "brûl"}, []string{"DEMO-000042"}},
	}
	for _, tt := range tests {
		ps, err := s.ListProducts(context.Background(), domain.ProductFilter{Terms: tt.terms, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.SKU())
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("search %v = %v, want %v", tt.terms, got, tt.want)
		}
	}
}

func TestDuplicateSKUUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		sku := "dup-sku"
		if i%2 == 1 {
			sku = "DUP-SKU" // case-insensitive duplicate
		}
		p, err := domain.NewProduct(domain.ProductSpec{SKU: sku, Name: "Dup", Currency: "EUR"}, now)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { results <- s.CreateProduct(context.Background(), p) })
	}
	wg.Wait()
	close(results)
	created := 0
	for err := range results {
		switch {
		case err == nil:
			created++
		case !errs.Is(err, errs.KindConflict):
			t.Errorf("err = %v, want conflict", err)
		}
	}
	if created != 1 {
		t.Fatalf("created = %d, want exactly 1", created)
	}
}

func TestUnknownReferencesAndIDs(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	missing := uuid.Must(uuid.NewV7()).String()
	p, err := domain.NewProduct(domain.ProductSpec{SKU: "X", Name: "X", Currency: "EUR", CategoryID: missing}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProduct(ctx, p); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("unknown category: err = %v, want invalid", err)
	}
	d, err := domain.NewDeal(domain.DealSpec{Name: "D", Kind: domain.DealPercent, Value: 10, ProductID: missing,
		StartsAt: now, EndsAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDeal(ctx, d); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("unknown product: err = %v, want invalid", err)
	}
	if _, err := s.Product(ctx, missing, true); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown id: err = %v, want not found", err)
	}
	if _, err := s.UpdateDeal(ctx, missing, func(*domain.Deal) error { return nil }); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("update unknown deal: err = %v, want not found", err)
	}
	c := createCategory(t, s, "tea")
	dup, _ := domain.NewCategory("tea", "Tea again", now)
	if err := s.CreateCategory(ctx, dup); !errs.Is(err, errs.KindConflict) {
		t.Errorf("duplicate slug: err = %v, want conflict", err)
	}
	_ = c
}

func TestCurrentDealsOneQueryForPage(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tea := createCategory(t, s, "tea")
	p1 := createProduct(t, s, domain.ProductSpec{SKU: "A", Name: "A"})
	p2 := createProduct(t, s, domain.ProductSpec{SKU: "B", Name: "B", CategoryID: tea.ID()})
	other := createProduct(t, s, domain.ProductSpec{SKU: "C", Name: "C"})
	mk := func(name, productID, categoryID string, start, end time.Time) domain.Deal {
		d, err := domain.NewDeal(domain.DealSpec{Name: name, Kind: domain.DealPercent, Value: 10,
			ProductID: productID, CategoryID: categoryID, StartsAt: start, EndsAt: end}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDeal(ctx, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := []domain.Deal{
		mk("product", p1.ID(), "", now.Add(-time.Hour), now.Add(time.Hour)),
		mk("category", "", tea.ID(), now, now.Add(time.Hour)),
	}
	mk("other product", other.ID(), "", now.Add(-time.Hour), now.Add(time.Hour))
	mk("expired", p1.ID(), "", now.Add(-2*time.Hour), now)
	mk("future", p2.ID(), "", now.Add(time.Minute), now.Add(time.Hour))
	ds, err := s.CurrentDeals(ctx, []string{p1.ID(), p2.ID()}, []string{tea.ID()}, now)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name())
	}
	if fmt.Sprint(names) != "[product category]" {
		t.Fatalf("current deals = %v, want [product category]", names)
	}
	// Every column read back into its field.
	for i, d := range ds {
		w := want[i]
		if d.ID() != w.ID() || d.Kind() != w.Kind() || d.Value() != w.Value() || d.Currency() != w.Currency() ||
			d.ProductID() != w.ProductID() || d.CategoryID() != w.CategoryID() || !d.Active() ||
			!d.StartsAt().Equal(w.StartsAt()) || !d.EndsAt().Equal(w.EndsAt()) ||
			!d.CreatedAt().Equal(w.CreatedAt()) || !d.UpdatedAt().Equal(w.UpdatedAt()) {
			t.Errorf("deal %q read back as %+v, want %+v", d.Name(), d, w)
		}
	}
}

func TestProductsBatch(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tea, coffee := createCategory(t, s, "tea"), createCategory(t, s, "coffee")
	sencha := createProduct(t, s, domain.ProductSpec{SKU: "T1", Name: "Sencha", CategoryID: tea.ID()})
	loose := createProduct(t, s, domain.ProductSpec{SKU: "L1", Name: "Loose"})
	espresso := createProduct(t, s, domain.ProductSpec{SKU: "C1", Name: "Espresso", CategoryID: coffee.ID()})
	old := createProduct(t, s, domain.ProductSpec{SKU: "T2", Name: "Old tea", CategoryID: tea.ID()})
	createProduct(t, s, domain.ProductSpec{SKU: "N1", Name: "Not asked"})
	off := false
	if _, err := s.UpdateProduct(ctx, old.ID(), func(p *domain.Product) ([]any, error) {
		return nil, p.Apply(domain.ProductChanges{Active: &off}, now)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCategory(ctx, coffee.ID(), func(c *domain.Category) error {
		return c.Apply(domain.CategoryChanges{Active: &off}, now)
	}); err != nil {
		t.Fatal(err)
	}
	ids := []string{old.ID(), espresso.ID(), uuid.Must(uuid.NewV7()).String(), loose.ID(), sencha.ID()}
	for _, tc := range []struct {
		includeInactive bool
		want            []string
	}{
		{false, []string{sencha.ID(), loose.ID()}},
		{true, []string{sencha.ID(), loose.ID(), espresso.ID(), old.ID()}},
	} {
		ps, err := s.Products(ctx, ids, tc.includeInactive)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]domain.Product{}
		for _, p := range ps {
			got[p.ID()] = p
		}
		if len(ps) != len(tc.want) || len(got) != len(tc.want) {
			t.Fatalf("include inactive %v: %d products, want %d", tc.includeInactive, len(ps), len(tc.want))
		}
		for _, id := range tc.want {
			if _, ok := got[id]; !ok {
				t.Errorf("include inactive %v: %s missing", tc.includeInactive, id)
			}
		}
	}
	ps, err := s.Products(ctx, []string{sencha.ID()}, false)
	if err != nil || len(ps) != 1 || ps[0].SKU() != "T1" || ps[0].Name() != "Sencha" ||
		ps[0].Price() != sencha.Price() || ps[0].CategoryID() != tea.ID() || !ps[0].CreatedAt().Equal(sencha.CreatedAt()) {
		t.Errorf("read back %+v, %v; want %+v", ps, err, sencha)
	}
	if ps, err := s.Products(ctx, nil, false); err != nil || len(ps) != 0 {
		t.Errorf("no ids gave %+v, %v; want nothing", ps, err)
	}
}
