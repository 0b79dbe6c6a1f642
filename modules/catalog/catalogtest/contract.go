package catalogtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

// Contract runs the behavioural suite of catalog.API against api. It uses
// random SKUs, slugs and search words, so it can run again and again on the
// same database.
func Contract(t *testing.T, api catalog.API) {
	t.Helper()
	c := &contract{api: api}
	t.Run("authorization", c.authorization)
	t.Run("product lifecycle", c.productLifecycle)
	t.Run("validation", c.validation)
	t.Run("conflicts", c.conflicts)
	t.Run("not found", c.notFound)
	t.Run("batch read", c.batchRead)
	t.Run("listing and search", c.listing)
	t.Run("category visibility", c.categoryVisibility)
	t.Run("deal pricing", c.dealPricing)
	t.Run("deal lifecycle", c.dealLifecycle)
}

type contract struct{ api catalog.API }

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-admin", Role: auth.RoleAdmin})
}

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-customer", Role: auth.RoleCustomer})
}

func anonymous() context.Context { return context.Background() }

func random() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	errstest.Kind(t, err, errs.KindInvalid)
	var e *errs.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			if f.Field == field {
				return
			}
		}
	}
	t.Fatalf("err = %v, want field %q", err, field)
}

// must turns a (value, error) result into the value, failing the test on an
// error: must(call())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (c *contract) newCategory(t *testing.T) catalog.Category {
	t.Helper()
	slug := "c-" + random()
	return must(c.api.CreateCategory(admin(), catalog.NewCategory{Slug: slug, Name: "Category " + slug}))(t)
}

func (c *contract) newProduct(t *testing.T, categoryID string, price int64) catalog.Product {
	t.Helper()
	sku := "SKU-" + random()
	return must(c.api.CreateProduct(admin(), catalog.NewProduct{
		SKU: sku, Name: "Mug " + sku, Description: "A mug", CategoryID: categoryID,
		Currency: "EUR", PriceMinor: price,
	}))(t)
}

func (c *contract) authorization(t *testing.T) {
	p := c.newProduct(t, "", 100)
	d := c.newDeal(t, catalog.NewDeal{Kind: catalog.DealPercent, Value: 5, ProductID: p.ID})
	calls := map[string]func(ctx context.Context) error{
		"CreateProduct": func(ctx context.Context) error {
			_, err := c.api.CreateProduct(ctx, catalog.NewProduct{SKU: "X-" + random(), Name: "X", Currency: "EUR"})
			return err
		},
		"UpdateProduct": func(ctx context.Context) error {
			_, err := c.api.UpdateProduct(ctx, p.ID, catalog.ProductUpdate{})
			return err
		},
		"DeactivateProduct": func(ctx context.Context) error { return c.api.DeactivateProduct(ctx, p.ID) },
		"CreateCategory": func(ctx context.Context) error {
			_, err := c.api.CreateCategory(ctx, catalog.NewCategory{Slug: "x-" + random(), Name: "X"})
			return err
		},
		"UpdateCategory": func(ctx context.Context) error {
			_, err := c.api.UpdateCategory(ctx, p.ID, catalog.CategoryUpdate{})
			return err
		},
		"DeactivateCategory": func(ctx context.Context) error { return c.api.DeactivateCategory(ctx, p.ID) },
		"CreateDeal": func(ctx context.Context) error {
			_, err := c.api.CreateDeal(ctx, catalog.NewDeal{Name: "X", Kind: catalog.DealPercent, Value: 5, ProductID: p.ID,
				StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)})
			return err
		},
		"UpdateDeal": func(ctx context.Context) error {
			_, err := c.api.UpdateDeal(ctx, d.ID, catalog.DealUpdate{})
			return err
		},
		"DeactivateDeal": func(ctx context.Context) error { return c.api.DeactivateDeal(ctx, d.ID) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			errstest.Kind(t, call(anonymous()), errs.KindUnauthenticated)
			errstest.Kind(t, call(customer()), errs.KindForbidden)
		})
	}
	if got := must(c.api.Product(admin(), p.ID))(t); !got.Active {
		t.Fatal("a refused deactivation changed the product")
	}
}

func (c *contract) productLifecycle(t *testing.T) {
	cat := c.newCategory(t)
	sku := "life-" + random()
	created := must(c.api.CreateProduct(admin(), catalog.NewProduct{
		SKU: sku, Name: "Travel Mug", Description: "Keeps tea hot", CategoryID: cat.ID,
		Currency: "EUR", PriceMinor: 1200,
	}))(t)
	if created.SKU != strings.ToUpper(sku) || created.Price != (catalog.Money{Amount: 1200, Currency: "EUR"}) ||
		created.EffectivePrice != created.Price || created.Deal != nil || !created.Active ||
		created.CategoryID != cat.ID || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	for _, ctx := range []context.Context{anonymous(), customer(), admin()} {
		if got := must(c.api.Product(ctx, created.ID))(t); got.ID != created.ID || got.Name != "Travel Mug" {
			t.Fatalf("Product = %+v", got)
		}
	}
	if got := must(c.api.ProductBySKU(anonymous(), strings.ToLower(sku)))(t); got.ID != created.ID {
		t.Fatalf("ProductBySKU = %+v", got)
	}
	name, price, noCategory := "Travel Mug XL", int64(1500), ""
	updated := must(c.api.UpdateProduct(admin(), created.ID, catalog.ProductUpdate{
		Name: &name, PriceMinor: &price, CategoryID: &noCategory,
	}))(t)
	if updated.Name != name || updated.Price.Amount != 1500 || updated.Description != "Keeps tea hot" ||
		updated.CategoryID != "" || updated.UpdatedAt.Before(created.UpdatedAt) {
		t.Fatalf("updated = %+v", updated)
	}
	if err := c.api.DeactivateProduct(admin(), created.ID); err != nil {
		t.Fatal(err)
	}
	_, err := c.api.Product(customer(), created.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	_, err = c.api.ProductBySKU(anonymous(), sku)
	errstest.Kind(t, err, errs.KindNotFound)
	if got := must(c.api.Product(admin(), created.ID))(t); got.Active {
		t.Fatalf("deactivated product is active: %+v", got)
	}
	active := true
	if got := must(c.api.UpdateProduct(admin(), created.ID, catalog.ProductUpdate{Active: &active}))(t); !got.Active {
		t.Fatal("reactivation failed")
	}
}

func (c *contract) validation(t *testing.T) {
	valid := catalog.NewProduct{SKU: "V-" + random(), Name: "Valid", Currency: "EUR", PriceMinor: 100}
	tests := []struct {
		field  string
		modify func(*catalog.NewProduct)
	}{
		{"sku", func(p *catalog.NewProduct) { p.SKU = "has space" }},
		{"name", func(p *catalog.NewProduct) { p.Name = "" }},
		{"price_minor", func(p *catalog.NewProduct) { p.PriceMinor = -1 }},
		{"price_minor", func(p *catalog.NewProduct) { p.PriceMinor = 100_000_000_01 }},
		{"currency", func(p *catalog.NewProduct) { p.Currency = "eur" }},
		{"category_id", func(p *catalog.NewProduct) { p.CategoryID = "not-a-uuid" }},
		{"category_id", func(p *catalog.NewProduct) { p.CategoryID = "0195a2b0-0000-7000-8000-00000000abcd" }},
	}
	for _, tt := range tests {
		in := valid
		tt.modify(&in)
		_, err := c.api.CreateProduct(admin(), in)
		wantField(t, err, tt.field)
	}
	_, err := c.api.CreateCategory(admin(), catalog.NewCategory{Slug: "Bad Slug", Name: "X"})
	wantField(t, err, "slug")
	_, err = c.api.ListProducts(anonymous(), catalog.ProductQuery{Limit: 101})
	wantField(t, err, "limit")
	_, err = c.api.ListProducts(anonymous(), catalog.ProductQuery{After: "not a cursor"})
	wantField(t, err, "after")
}

func (c *contract) conflicts(t *testing.T) {
	p := c.newProduct(t, "", 100)
	_, err := c.api.CreateProduct(admin(), catalog.NewProduct{SKU: strings.ToLower(p.SKU), Name: "Again", Currency: "EUR"})
	errstest.Kind(t, err, errs.KindConflict)
	cat := c.newCategory(t)
	_, err = c.api.CreateCategory(admin(), catalog.NewCategory{Slug: cat.Slug, Name: "Again"})
	errstest.Kind(t, err, errs.KindConflict)
	other := c.newCategory(t)
	_, err = c.api.UpdateCategory(admin(), other.ID, catalog.CategoryUpdate{Slug: &cat.Slug})
	errstest.Kind(t, err, errs.KindConflict)
}

func (c *contract) notFound(t *testing.T) {
	unknown := "0195a2b0-0000-7000-8000-00000000dead"
	for _, id := range []string{unknown, "not-a-uuid", ""} {
		_, err := c.api.Product(admin(), id)
		errstest.Kind(t, err, errs.KindNotFound)
		_, err = c.api.UpdateProduct(admin(), id, catalog.ProductUpdate{})
		errstest.Kind(t, err, errs.KindNotFound)
		errstest.Kind(t, c.api.DeactivateProduct(admin(), id), errs.KindNotFound)
		errstest.Kind(t, c.api.DeactivateCategory(admin(), id), errs.KindNotFound)
		errstest.Kind(t, c.api.DeactivateDeal(admin(), id), errs.KindNotFound)
	}
	_, err := c.api.ProductBySKU(anonymous(), "NO-SUCH-"+random())
	errstest.Kind(t, err, errs.KindNotFound)
	_, err = c.api.ProductBySKU(anonymous(), "bad sku!")
	errstest.Kind(t, err, errs.KindNotFound)
}

func (c *contract) listing(t *testing.T) {
	cat := c.newCategory(t)
	var ids []string
	for range 5 {
		ids = append(ids, c.newProduct(t, cat.ID, 100).ID)
	}
	var got []string
	q := catalog.ProductQuery{CategoryID: cat.ID, Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page := must(c.api.ListProducts(anonymous(), q))(t)
		for _, p := range page.Items {
			got = append(got, p.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.After = page.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("listed %v, want %v in creation order", got, ids)
	}

	word := "zq" + random()
	p := must(c.api.CreateProduct(admin(), catalog.NewProduct{
		SKU: "S-" + random(), Name: "Pour " + word + " Dripper", Currency: "EUR", PriceMinor: 900,
	}))(t)
	for _, search := range []string{word, strings.ToUpper(word), word[:6], "dripper " + word} {
		page := must(c.api.ListProducts(anonymous(), catalog.ProductQuery{Search: search}))(t)
		if len(page.Items) != 1 || page.Items[0].ID != p.ID {
			t.Fatalf("search %q = %+v, want just %s", search, page.Items, p.ID)
		}
	}

	if err := c.api.DeactivateProduct(admin(), ids[0]); err != nil {
		t.Fatal(err)
	}
	count := func(ctx context.Context, include bool) int {
		q := catalog.ProductQuery{CategoryID: cat.ID, IncludeInactive: include}
		return len(must(c.api.ListProducts(ctx, q))(t).Items)
	}
	if n := count(customer(), true); n != 4 {
		t.Errorf("customer with include_inactive sees %d, want 4", n)
	}
	if n := count(admin(), false); n != 4 {
		t.Errorf("admin without include_inactive sees %d, want 4", n)
	}
	if n := count(admin(), true); n != 5 {
		t.Errorf("admin with include_inactive sees %d, want 5", n)
	}
}

func (c *contract) categoryVisibility(t *testing.T) {
	cat := c.newCategory(t)
	p := c.newProduct(t, cat.ID, 100)
	has := func(ctx context.Context, include bool) bool {
		for _, x := range must(c.api.Categories(ctx, include))(t) {
			if x.ID == cat.ID {
				return true
			}
		}
		return false
	}
	if !has(anonymous(), false) {
		t.Fatal("new category not listed")
	}
	name := "Renamed"
	if got := must(c.api.UpdateCategory(admin(), cat.ID, catalog.CategoryUpdate{Name: &name}))(t); got.Name != name {
		t.Fatalf("updated = %+v", got)
	}
	if err := c.api.DeactivateCategory(admin(), cat.ID); err != nil {
		t.Fatal(err)
	}
	if has(customer(), true) || has(admin(), false) || !has(admin(), true) {
		t.Fatal("inactive category visibility is wrong")
	}
	_, err := c.api.Product(customer(), p.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	must(c.api.Product(admin(), p.ID))(t)
}

func (c *contract) newDeal(t *testing.T, in catalog.NewDeal) catalog.Deal {
	t.Helper()
	if in.Name == "" {
		in.Name = "Deal " + random()
	}
	if in.StartsAt.IsZero() {
		in.StartsAt, in.EndsAt = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	return must(c.api.CreateDeal(admin(), in))(t)
}

func (c *contract) dealPricing(t *testing.T) {
	cat := c.newCategory(t)
	p := c.newProduct(t, cat.ID, 1999)
	c.newDeal(t, catalog.NewDeal{Kind: catalog.DealPercent, Value: 10, ProductID: p.ID})
	got := must(c.api.Product(anonymous(), p.ID))(t)
	if got.EffectivePrice != (catalog.Money{Amount: 1799, Currency: "EUR"}) || got.Deal == nil {
		t.Fatalf("10%% off 1999: %+v", got) // 199.9 off rounds to 200
	}
	best := c.newDeal(t, catalog.NewDeal{Kind: catalog.DealFixed, Value: 500, Currency: "EUR", CategoryID: cat.ID})
	c.newDeal(t, catalog.NewDeal{Kind: catalog.DealFixed, Value: 1900, Currency: "USD", CategoryID: cat.ID})
	c.newDeal(t, catalog.NewDeal{Kind: catalog.DealPercent, Value: 90, ProductID: p.ID,
		StartsAt: time.Now().Add(time.Hour), EndsAt: time.Now().Add(2 * time.Hour)})
	got = must(c.api.Product(anonymous(), p.ID))(t)
	if got.EffectivePrice.Amount != 1499 || got.Deal == nil || got.Deal.ID != best.ID || got.Price.Amount != 1999 {
		t.Fatalf("best deal: %+v", got)
	}
	page := must(c.api.ListProducts(anonymous(), catalog.ProductQuery{CategoryID: cat.ID}))(t)
	if len(page.Items) != 1 || page.Items[0].EffectivePrice.Amount != 1499 {
		t.Fatalf("listed price: %+v", page.Items)
	}
	if err := c.api.DeactivateDeal(admin(), best.ID); err != nil {
		t.Fatal(err)
	}
	if got = must(c.api.Product(anonymous(), p.ID))(t); got.EffectivePrice.Amount != 1799 {
		t.Fatalf("after deactivating the best deal: %+v", got)
	}
}

func (c *contract) dealLifecycle(t *testing.T) {
	p := c.newProduct(t, "", 1000)
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	_, err := c.api.CreateDeal(admin(), catalog.NewDeal{Name: "Bad", Kind: catalog.DealPercent, Value: 100,
		ProductID: p.ID, StartsAt: start, EndsAt: start.Add(time.Hour)})
	wantField(t, err, "value")
	_, err = c.api.CreateDeal(admin(), catalog.NewDeal{Name: "Bad", Kind: catalog.DealPercent, Value: 10,
		ProductID: "0195a2b0-0000-7000-8000-00000000beef", StartsAt: start, EndsAt: start.Add(time.Hour)})
	wantField(t, err, "product_id")
	d := c.newDeal(t, catalog.NewDeal{Kind: catalog.DealPercent, Value: 10, ProductID: p.ID,
		StartsAt: start, EndsAt: start.Add(2 * time.Hour)})
	if d.Kind != catalog.DealPercent || d.ProductID != p.ID || !d.Active || !d.StartsAt.Equal(start) {
		t.Fatalf("created deal = %+v", d)
	}
	value := int64(30)
	if got := must(c.api.UpdateDeal(admin(), d.ID, catalog.DealUpdate{Value: &value}))(t); got.Value != 30 {
		t.Fatalf("updated deal = %+v", got)
	}
	if got := must(c.api.Product(anonymous(), p.ID))(t); got.EffectivePrice.Amount != 700 {
		t.Fatalf("price after update = %+v", got)
	}
	past := start.Add(-time.Hour)
	_, err = c.api.UpdateDeal(admin(), d.ID, catalog.DealUpdate{EndsAt: &past})
	wantField(t, err, "ends_at")
	listed := func(ctx context.Context, include bool) bool {
		for _, x := range must(c.api.Deals(ctx, include))(t) {
			if x.ID == d.ID {
				return true
			}
		}
		return false
	}
	if !listed(anonymous(), false) {
		t.Fatal("active deal not listed")
	}
	if err := c.api.DeactivateDeal(admin(), d.ID); err != nil {
		t.Fatal(err)
	}
	if listed(customer(), true) || !listed(admin(), true) {
		t.Fatal("inactive deal visibility is wrong")
	}
	if got := must(c.api.Product(anonymous(), p.ID))(t); got.Deal != nil || got.EffectivePrice.Amount != 1000 {
		t.Fatalf("deactivated deal still applies: %+v", got)
	}
}

// batchRead checks that Products answers for each id exactly what Product
// answers, in the order asked, and leaves out what Product would not find.
func (c *contract) batchRead(t *testing.T) {
	cat, hiddenCat := c.newCategory(t), c.newCategory(t)
	inCat := c.newProduct(t, cat.ID, 1000)
	alone := c.newProduct(t, "", 500)
	inactive := c.newProduct(t, "", 300)
	inHiddenCat := c.newProduct(t, hiddenCat.ID, 200)
	percent := c.newDeal(t, catalog.NewDeal{Kind: catalog.DealPercent, Value: 10, ProductID: alone.ID})
	fixed := c.newDeal(t, catalog.NewDeal{Kind: catalog.DealFixed, Value: 150, Currency: "EUR", CategoryID: cat.ID})
	if err := c.api.DeactivateProduct(admin(), inactive.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.api.DeactivateCategory(admin(), hiddenCat.ID); err != nil {
		t.Fatal(err)
	}
	unknown := "0195a2b0-0000-7000-8000-00000000dead"
	// Newest first, so that an answer in creation (id) order shows; the
	// repeated id, in another spelling, is answered once.
	ids := []string{inHiddenCat.ID, alone.ID, unknown, "not-a-uuid", inactive.ID, inCat.ID, strings.ToUpper(alone.ID)}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"anonymous", anonymous(), []string{alone.ID, inCat.ID}},
		{"customer", customer(), []string{alone.ID, inCat.ID}},
		{"admin sees hidden products as Product does", admin(), []string{inHiddenCat.ID, alone.ID, inactive.ID, inCat.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := must(c.api.Products(tc.ctx, ids))(t)
			var gotIDs []string
			for _, p := range got {
				gotIDs = append(gotIDs, p.ID)
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
				t.Fatalf("Products = %v, want %v", gotIDs, tc.want)
			}
			for _, p := range got {
				if one := must(c.api.Product(tc.ctx, p.ID))(t); !reflect.DeepEqual(p, one) {
					t.Errorf("Products gave %+v, Product gives %+v", p, one)
				}
			}
		})
	}
	got := must(c.api.Products(anonymous(), []string{alone.ID, inCat.ID}))(t)
	if len(got) != 2 || got[0].EffectivePrice.Amount != 450 || got[0].Deal == nil || got[0].Deal.ID != percent.ID ||
		got[1].EffectivePrice.Amount != 850 || got[1].Deal == nil || got[1].Deal.ID != fixed.ID {
		t.Fatalf("batch prices = %+v, want 450 (product deal) and 850 (category deal)", got)
	}

	if got := must(c.api.Products(anonymous(), []string{unknown, "not-a-uuid"}))(t); len(got) != 0 {
		t.Fatalf("Products of ids that name nothing = %+v, want none", got)
	}
	full := make([]string, catalog.MaxProductIDs)
	for i := range full {
		full[i] = unknown
	}
	full[len(full)-1] = inCat.ID
	if got := must(c.api.Products(anonymous(), full))(t); len(got) != 1 || got[0].ID != inCat.ID {
		t.Fatalf("Products of %d ids = %+v, want just %s", len(full), got, inCat.ID)
	}
	for _, bad := range [][]string{nil, {}, append(full, inCat.ID)} {
		_, err := c.api.Products(anonymous(), bad)
		wantField(t, err, "ids")
	}
}
