package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const catID = "0195a2b0-0000-7000-8000-000000000001"

// fieldOf returns the first field an Invalid error names, or "".
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var e *errs.Error
	if err == nil {
		return ""
	}
	if !errs.Is(err, errs.KindInvalid) || !errors.As(err, &e) || len(e.Fields) == 0 {
		t.Fatalf("want an Invalid error naming a field, got %v", err)
	}
	return e.Fields[0].Field
}

func TestNewProduct(t *testing.T) {
	valid := ProductSpec{SKU: "mug-1", Name: "Mug", Currency: "EUR", PriceMinor: 1200, CategoryID: catID}
	tests := []struct {
		name   string
		modify func(*ProductSpec)
		field  string
	}{
		{"valid", func(*ProductSpec) {}, ""},
		{"zero price", func(s *ProductSpec) { s.PriceMinor = 0 }, ""},
		{"max price", func(s *ProductSpec) { s.PriceMinor = MaxPriceMinor }, ""},
		{"no category", func(s *ProductSpec) { s.CategoryID = "" }, ""},
		{"empty sku", func(s *ProductSpec) { s.SKU = "" }, "sku"},
		{"sku with space", func(s *ProductSpec) { s.SKU = "MUG 1" }, "sku"},
		{"sku too long", func(s *ProductSpec) { s.SKU = strings.Repeat("A", 65) }, "sku"},
		{"sku 64", func(s *ProductSpec) { s.SKU = strings.Repeat("A", 64) }, ""},
		{"empty name", func(s *ProductSpec) { s.Name = "  " }, "name"},
		{"name too long", func(s *ProductSpec) { s.Name = strings.Repeat("ä", 201) }, "name"},
		{"description too long", func(s *ProductSpec) { s.Description = strings.Repeat("x", 5001) }, "description"},
		{"negative price", func(s *ProductSpec) { s.PriceMinor = -1 }, "price_minor"},
		{"price too high", func(s *ProductSpec) { s.PriceMinor = MaxPriceMinor + 1 }, "price_minor"},
		{"lower-case currency", func(s *ProductSpec) { s.Currency = "eur" }, "currency"},
		{"long currency", func(s *ProductSpec) { s.Currency = "EURO" }, "currency"},
		{"bad category", func(s *ProductSpec) { s.CategoryID = "coffee" }, "category_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid
			tt.modify(&spec)
			p, err := NewProduct(spec, t0)
			if got := fieldOf(t, err); got != tt.field {
				t.Fatalf("field = %q, want %q (err %v)", got, tt.field, err)
			}
			if err == nil && (p.ID() == "" || p.SKU() != strings.ToUpper(spec.SKU) || !p.Active()) {
				t.Fatalf("product = %+v", p)
			}
		})
	}
}

func TestProductApplyKeepsProductOnError(t *testing.T) {
	p, err := NewProduct(ProductSpec{SKU: "A", Name: "Mug", Currency: "EUR", PriceMinor: 100}, t0)
	if err != nil {
		t.Fatal(err)
	}
	name, bad := "Cup", int64(-5)
	if err := p.Apply(ProductChanges{Name: &name, PriceMinor: &bad}, t0.Add(time.Hour)); fieldOf(t, err) != "price_minor" {
		t.Fatalf("err = %v", err)
	}
	if p.Name() != "Mug" || p.UpdatedAt() != t0 {
		t.Fatalf("product changed on error: %+v", p)
	}
	empty := ""
	if err := p.Apply(ProductChanges{Name: &name, CategoryID: &empty}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Cup" || !p.UpdatedAt().Equal(t0.Add(time.Hour)) {
		t.Fatalf("product = %+v", p)
	}
}

func TestNewCategory(t *testing.T) {
	tests := []struct{ slug, name, field string }{
		{"coffee", "Coffee", ""},
		{"cold-brew-2", "Cold brew", ""},
		{"", "Coffee", "slug"},
		{"Coffee", "Coffee", "slug"},
		{"cold brew", "Coffee", "slug"},
		{strings.Repeat("a", 65), "Coffee", "slug"},
		{"coffee", "", "name"},
		{"coffee", strings.Repeat("n", 101), "name"},
	}
	for _, tt := range tests {
		t.Run(tt.slug+"/"+tt.name, func(t *testing.T) {
			_, err := NewCategory(tt.slug, tt.name, t0)
			if got := fieldOf(t, err); got != tt.field {
				t.Fatalf("field = %q, want %q (err %v)", got, tt.field, err)
			}
		})
	}
}

func TestNewDeal(t *testing.T) {
	valid := DealSpec{Name: "Spring", Kind: DealPercent, Value: 20, CategoryID: catID,
		StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		modify func(*DealSpec)
		field  string
	}{
		{"valid percent", func(*DealSpec) {}, ""},
		{"valid fixed", func(s *DealSpec) { s.Kind, s.Value, s.Currency = DealFixed, 500, "EUR" }, ""},
		{"percent 0", func(s *DealSpec) { s.Value = 0 }, "value"},
		{"percent 100", func(s *DealSpec) { s.Value = 100 }, "value"},
		{"percent 99", func(s *DealSpec) { s.Value = 99 }, ""},
		{"percent with currency", func(s *DealSpec) { s.Currency = "EUR" }, "currency"},
		{"fixed 0", func(s *DealSpec) { s.Kind, s.Value, s.Currency = DealFixed, 0, "EUR" }, "value"},
		{"fixed without currency", func(s *DealSpec) { s.Kind, s.Value = DealFixed, 5 }, "currency"},
		{"unknown kind", func(s *DealSpec) { s.Kind = "bogo" }, "kind"},
		{"no target", func(s *DealSpec) { s.CategoryID = "" }, "product_id"},
		{"two targets", func(s *DealSpec) { s.ProductID = catID }, "product_id"},
		{"bad product id", func(s *DealSpec) { s.CategoryID, s.ProductID = "", "x" }, "product_id"},
		{"empty window", func(s *DealSpec) { s.EndsAt = s.StartsAt }, "ends_at"},
		{"reversed window", func(s *DealSpec) { s.EndsAt = s.StartsAt.Add(-time.Second) }, "ends_at"},
		{"no start", func(s *DealSpec) { s.StartsAt = time.Time{} }, "starts_at"},
		{"empty name", func(s *DealSpec) { s.Name = "" }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid
			tt.modify(&spec)
			_, err := NewDeal(spec, t0)
			if got := fieldOf(t, err); got != tt.field {
				t.Fatalf("field = %q, want %q (err %v)", got, tt.field, err)
			}
		})
	}
}

func TestDealApplyRevalidates(t *testing.T) {
	d, err := NewDeal(DealSpec{Name: "Spring", Kind: DealPercent, Value: 20, CategoryID: catID,
		StartsAt: t0, EndsAt: t0.Add(time.Hour)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	v := int64(150)
	if err := d.Apply(DealChanges{Value: &v}, t0); fieldOf(t, err) != "value" {
		t.Fatalf("err = %v", err)
	}
	before := t0.Add(-time.Hour)
	if err := d.Apply(DealChanges{EndsAt: &before}, t0); fieldOf(t, err) != "ends_at" {
		t.Fatalf("err = %v", err)
	}
	if d.Value() != 20 || !d.EndsAt().Equal(t0.Add(time.Hour)) {
		t.Fatalf("deal changed on error: %+v", d)
	}
}

func mustProduct(t *testing.T, price int64, currency, category string) Product {
	t.Helper()
	p, err := NewProduct(ProductSpec{SKU: "P", Name: "P", Currency: currency, PriceMinor: price, CategoryID: category}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func deal(kind string, value int64, currency, productID, categoryID string) Deal {
	return RestoreDeal(DealRecord{ID: kind + currency, Name: kind, Kind: kind, Value: value, Currency: currency,
		ProductID: productID, CategoryID: categoryID, StartsAt: t0, EndsAt: t0.Add(24 * time.Hour), Active: true})
}

func TestPrice(t *testing.T) {
	p := mustProduct(t, 1999, "EUR", catID)
	other := "0195a2b0-0000-7000-8000-0000000000ff"
	inactive := deal(DealPercent, 50, "", p.ID(), "")
	inactive.active = false
	tests := []struct {
		name   string
		price  int64
		deals  []Deal
		now    time.Time
		want   int64
		dealIx int // index of the applied deal, -1 for none
	}{
		{"no deals", 1999, nil, t0, 1999, -1},
		{"percent rounds half up", 1999, []Deal{deal(DealPercent, 25, "", "", catID)}, t0, 1499, 0},        // 499.75 off → 500
		{"percent exact half rounds up", 10, []Deal{deal(DealPercent, 25, "", "", catID)}, t0, 7, 0},       // 2.5 off → 3
		{"percent below half rounds down", 1001, []Deal{deal(DealPercent, 10, "", "", catID)}, t0, 901, 0}, // 100.1 off → 100
		{"fixed", 1999, []Deal{deal(DealFixed, 500, "EUR", "", catID)}, t0, 1499, 0},
		{"fixed floors at zero", 1999, []Deal{deal(DealFixed, 5000, "EUR", "", catID)}, t0, 0, 0},
		{"fixed in other currency ignored", 1999, []Deal{deal(DealFixed, 500, "USD", "", catID)}, t0, 1999, -1},
		{"other category ignored", 1999, []Deal{deal(DealPercent, 50, "", "", other)}, t0, 1999, -1},
		{"other product ignored", 1999, []Deal{deal(DealPercent, 50, "", other, "")}, t0, 1999, -1},
		{"inactive ignored", 1999, []Deal{inactive}, t0, 1999, -1},
		{"starts_at inclusive", 1000, []Deal{deal(DealPercent, 10, "", "", catID)}, t0, 900, 0},
		{"before start", 1000, []Deal{deal(DealPercent, 10, "", "", catID)}, t0.Add(-time.Nanosecond), 1000, -1},
		{"ends_at exclusive", 1000, []Deal{deal(DealPercent, 10, "", "", catID)}, t0.Add(24 * time.Hour), 1000, -1},
		{"just before end", 1000, []Deal{deal(DealPercent, 10, "", "", catID)}, t0.Add(24*time.Hour - time.Nanosecond), 900, 0},
		{"best of several: percent", 1000, []Deal{deal(DealFixed, 100, "EUR", "", catID), deal(DealPercent, 30, "", "", catID)}, t0, 700, 1},
		{"best of several: fixed", 1000, []Deal{deal(DealPercent, 5, "", "", catID), deal(DealFixed, 400, "EUR", "", catID)}, t0, 600, 1},
		{"product deal and category deal", 1000, []Deal{deal(DealPercent, 10, "", "", catID), deal(DealFixed, 150, "EUR", "self", "")}, t0, 850, 1},
		{"zero price stays zero", 0, []Deal{deal(DealPercent, 10, "", "", catID)}, t0, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProduct(t, tt.price, "EUR", catID)
			for i := range tt.deals {
				if tt.deals[i].productID == "self" {
					tt.deals[i].productID = p.ID()
				}
			}
			got := Price(p, tt.deals, tt.now)
			if got.Effective.Amount() != tt.want || got.Effective.Currency() != "EUR" {
				t.Fatalf("effective = %+v, want %d EUR", got.Effective, tt.want)
			}
			switch {
			case tt.dealIx < 0 && got.Deal != nil:
				t.Fatalf("deal = %+v, want none", got.Deal)
			case tt.dealIx >= 0 && (got.Deal == nil || got.Deal.ID() != tt.deals[tt.dealIx].ID()):
				t.Fatalf("deal = %+v, want %s", got.Deal, tt.deals[tt.dealIx].ID())
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	id := "0195a2b0-0000-7000-8000-000000000001"
	got, ok := DecodeCursor(EncodeCursor(id))
	if !ok || got != id {
		t.Fatalf("round trip = %q, %v", got, ok)
	}
	for _, bad := range []string{"!!", EncodeCursor("not-a-uuid"), "eA"} {
		if _, ok := DecodeCursor(bad); ok {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name  string
		q     ProductQuery
		field string
	}{
		{"defaults", ProductQuery{}, ""},
		{"limit 100", ProductQuery{Limit: 100}, ""},
		{"limit 101", ProductQuery{Limit: 101}, "limit"},
		{"negative limit", ProductQuery{Limit: -1}, "limit"},
		{"bad cursor", ProductQuery{After: "zzz"}, "after"},
		{"bad category", ProductQuery{CategoryID: "tea"}, "category"},
		{"long search", ProductQuery{Search: strings.Repeat("a", 201)}, "q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseQuery(tt.q)
			if got := fieldOf(t, err); got != tt.field {
				t.Fatalf("field = %q, want %q", got, tt.field)
			}
			if tt.q.Limit == 0 && err == nil && f.Limit != DefaultLimit {
				t.Fatalf("limit = %d", f.Limit)
			}
		})
	}
}

func TestSearchTermsDropSyntax(t *testing.T) {
	got := searchTerms(`Mug' & !cup:* "tea-pot"`)
	want := []string{"mug", "cup", "tea", "pot"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("terms = %q, want %q", got, want)
	}
}

// ParseID gives every spelling of an id its one canonical form.
func TestParseIDCanonical(t *testing.T) {
	t.Parallel()
	const canonical = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	for _, in := range []string{canonical, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "6ba7b8109dad11d180b400c04fd430c8",
		"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"} {
		if got, err := ParseID(in, "product"); err != nil || got != canonical {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, err, canonical)
		}
	}
	if _, err := ParseID("6ba7b810-9dad-11d1-80b4-00c04fd430cX", "product"); err == nil {
		t.Error("ParseID of a malformed id: no error")
	}
}
