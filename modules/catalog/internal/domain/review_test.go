package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// fieldsOf lists every field an Invalid error names.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalid {
		t.Fatalf("want an Invalid error, got %v", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestConstructorsReportEveryField(t *testing.T) {
	_, err := NewProduct(ProductSpec{SKU: "a b", Name: strings.Repeat("n", 201), Description: "\x00",
		Currency: "euro", PriceMinor: -1, CategoryID: "x"}, t0)
	want := []string{"sku", "name", "description", "category_id", "price_minor", "currency"}
	if got := fieldsOf(t, err); !slices.Equal(got, want) {
		t.Fatalf("product fields = %v, want %v", got, want)
	}
	_, err = NewDeal(DealSpec{Name: "", Kind: "bogo"}, t0)
	want = []string{"name", "kind", "starts_at", "ends_at", "product_id"}
	if got := fieldsOf(t, err); !slices.Equal(got, want) {
		t.Fatalf("deal fields = %v, want %v", got, want)
	}
}

func TestControlCharacters(t *testing.T) {
	for _, name := range []string{"Mug\x00", "Mu\x07g", "Mug\nLarge", "M\u0085ug"} {
		if _, err := NewCategory("mugs", name, t0); fieldOf(t, err) != "name" {
			t.Errorf("name %q: err = %v, want invalid name", name, err)
		}
	}
	if _, err := NewProduct(ProductSpec{SKU: "A", Name: "Mug", Description: "Blue.\r\n\tLarge.", Currency: "EUR"}, t0); err != nil {
		t.Fatalf("line breaks and tabs in a description: %v", err)
	}
}

func TestTimesAtStoragePrecision(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	d, err := NewDeal(DealSpec{Name: "x", Kind: DealPercent, Value: 5, CategoryID: catID,
		StartsAt: at, EndsAt: at.Add(time.Hour)}, at)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC)
	if d.StartsAt() != want || d.CreatedAt() != want || d.EndsAt() != want.Add(time.Hour) {
		t.Fatalf("deal times %v %v %v, want %v in UTC at microseconds", d.StartsAt(), d.EndsAt(), d.CreatedAt(), want)
	}
	svc := NewService(nil, func() time.Time { return at }, nil)
	if got := svc.now(); got != want {
		t.Fatalf("service clock = %v, want %v", got, want)
	}
}

func TestProductChangeFacts(t *testing.T) {
	p := mustProduct(t, 1000, "EUR", "")
	same := p
	same.updatedAt = t0.Add(time.Hour)
	if facts := productChangeFacts(p, same); facts != nil {
		t.Fatalf("no change gave %v", facts)
	}
	renamed := same
	renamed.name = "Other"
	if facts := productChangeFacts(p, renamed); len(facts) != 1 {
		t.Fatalf("rename gave %v", facts)
	}
	repriced := same
	repriced.price = Money{amount: 900, currency: "EUR"}
	facts := productChangeFacts(p, repriced)
	if len(facts) != 2 || facts[1].(ProductPriceChanged).Old.Amount() != 1000 {
		t.Fatalf("price change gave %v", facts)
	}
}
