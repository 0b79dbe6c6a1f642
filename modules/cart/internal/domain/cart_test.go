package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func product(priceMinor int64, currency string) ProductInfo {
	id := uuid.NewString()
	return ProductInfo{ID: id, SKU: "SKU-" + id[:8], Name: "Product " + id[:8], PriceMinor: priceMinor, Currency: currency}
}

// fieldOf returns the kind of err and the first field it names.
func fieldOf(err error) (errs.Kind, string) {
	var e *errs.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Kind, e.Fields[0].Field
	}
	return errs.KindOf(err), ""
}

// cartWith returns a cart holding the products, one unit each, in order.
func cartWith(t *testing.T, ps ...ProductInfo) Cart {
	t.Helper()
	c := NewCart(uuid.NewString())
	for _, p := range ps {
		if err := c.Add(p, 1, t0); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestAddRules(t *testing.T) {
	t.Parallel()
	eur, usd := product(250, "EUR"), product(100, "USD")
	full := make([]ProductInfo, MaxLines)
	for i := range full {
		full[i] = product(1, "EUR")
	}
	cases := []struct {
		name      string
		cart      Cart
		add       ProductInfo
		quantity  int
		kind      errs.Kind // of the error, when wantLines is 0
		field     string
		wantQty   int    // the line's quantity after a successful add
		wantCurr  string // the cart's currency after it
		wantLines int
	}{
		{name: "new line", cart: cartWith(t), add: eur, quantity: 3, wantQty: 3, wantCurr: "EUR", wantLines: 1},
		{name: "adds to the line", cart: cartWith(t, eur), add: eur, quantity: 98, wantQty: 99, wantCurr: "EUR", wantLines: 1},
		{name: "zero", cart: cartWith(t), add: eur, quantity: 0, kind: errs.KindInvalid, field: "quantity"},
		{name: "negative", cart: cartWith(t), add: eur, quantity: -1, kind: errs.KindInvalid, field: "quantity"},
		{name: "above 99", cart: cartWith(t), add: eur, quantity: 100, kind: errs.KindInvalid, field: "quantity"},
		{name: "line above 99", cart: cartWith(t, eur), add: eur, quantity: 99, kind: errs.KindInvalid, field: "quantity"},
		{name: "other currency", cart: cartWith(t, eur), add: usd, quantity: 1, kind: errs.KindConflict, field: "product_id"},
		{name: "51st line", cart: cartWith(t, full...), add: eur, quantity: 1, kind: errs.KindConflict, field: "product_id"},
		{name: "full cart takes more of a line", cart: cartWith(t, full...), add: full[0], quantity: 1, wantQty: 2, wantCurr: "EUR", wantLines: MaxLines},
		{name: "only line repriced in another currency", cart: cartWith(t, eur), add: ProductInfo{ID: eur.ID, SKU: eur.SKU, Name: eur.Name, PriceMinor: 90, Currency: "USD"},
			quantity: 1, wantQty: 2, wantCurr: "USD", wantLines: 1},
		{name: "broken catalog answer", cart: cartWith(t), add: ProductInfo{ID: "x", PriceMinor: 1, Currency: "EUR"}, quantity: 1, kind: errs.KindInternal},
		{name: "negative price", cart: cartWith(t), add: product(-1, "EUR"), quantity: 1, kind: errs.KindInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.cart
			before := c.Lines()
			err := c.Add(tc.add, tc.quantity, t0.Add(time.Hour))
			if tc.wantLines == 0 {
				kind, field := fieldOf(err)
				if err == nil || kind != tc.kind || field != tc.field {
					t.Fatalf("err = %v (%v, %q), want %v naming %q", err, kind, field, tc.kind, tc.field)
				}
				if got := c.Lines(); len(got) != len(before) {
					t.Fatalf("a refused add changed the lines: %d, want %d", len(got), len(before))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l, ok := c.Line(tc.add.ID)
			if !ok || l.Quantity() != tc.wantQty || c.Currency() != tc.wantCurr || len(c.Lines()) != tc.wantLines {
				t.Fatalf("line %+v (%v), currency %q, %d lines; want %d, %q, %d", l, ok, c.Currency(), len(c.Lines()), tc.wantQty, tc.wantCurr, tc.wantLines)
			}
			if l.UnitPrice() != (Money{amount: tc.add.PriceMinor, currency: tc.add.Currency}) || l.Name() != tc.add.Name || l.SKU() != tc.add.SKU {
				t.Errorf("line %+v does not show the catalog's values %+v", l, tc.add)
			}
			if !c.UpdatedAt().Equal(t0.Add(time.Hour)) || !l.RefreshedAt().Equal(t0.Add(time.Hour)) {
				t.Errorf("updated %v, refreshed %v; want the time of the add", c.UpdatedAt(), l.RefreshedAt())
			}
		})
	}
}

func TestSetQuantityAndRemove(t *testing.T) {
	t.Parallel()
	a, b := product(100, "EUR"), product(50, "EUR")
	c := cartWith(t, a, b)
	for _, q := range []int{-1, 100} {
		if kind, field := fieldOf(c.SetQuantity(a.ID, q, t0)); kind != errs.KindInvalid || field != "quantity" {
			t.Errorf("SetQuantity %d: %v %q, want invalid quantity", q, kind, field)
		}
	}
	if kind, field := fieldOf(c.SetQuantity(uuid.NewString(), 1, t0)); kind != errs.KindNotFound || field != "product_id" {
		t.Errorf("missing line: %v %q, want not found product_id", kind, field)
	}
	later := t0.Add(time.Minute)
	if err := c.SetQuantity(a.ID, 7, later); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.Line(a.ID); l.Quantity() != 7 || l.LineTotal().Amount() != 700 || !c.UpdatedAt().Equal(later) {
		t.Fatalf("line %+v, updated %v", l, c.UpdatedAt())
	}
	if c.Total() != (Money{amount: 750, currency: "EUR"}) {
		t.Errorf("total %+v, want 750 EUR", c.Total())
	}
	if err := c.SetQuantity(a.ID, 0, later); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Line(a.ID); ok || len(c.Lines()) != 1 {
		t.Fatalf("quantity 0 left %+v", c.Lines())
	}
	if c.Remove(a.ID, t0.Add(time.Hour)) {
		t.Error("removing a missing line reported a removal")
	}
	if !c.UpdatedAt().Equal(later) {
		t.Error("removing a missing line changed the cart's time")
	}
	if !c.Remove(b.ID, later) || len(c.Lines()) != 0 || c.Currency() != "" || c.Total() != (Money{}) {
		t.Fatalf("after removing the last line: %+v", c)
	}
}

func TestRefreshed(t *testing.T) {
	t.Parallel()
	a := product(1000, "EUR")
	down := errors.New("connection refused")
	other := product(700, "EUR")
	// of is the catalog's answer: the products it shows, by id.
	of := func(ps ...ProductInfo) map[string]ProductInfo {
		m := map[string]ProductInfo{}
		for _, p := range ps {
			m[p.ID] = p
		}
		return m
	}
	renamed := a
	renamed.Name, renamed.PriceMinor = "Renamed", 900
	inUSD := a
	inUSD.Currency = "USD"
	cases := []struct {
		name                          string
		catalog                       map[string]ProductInfo
		catalogErr                    error
		stock                         map[string]int
		stockErr                      error
		wantName                      string
		wantPrice                     int64
		wantAvail                     int
		wantStale, wantGone, wantKept bool // kept: nothing to remember
	}{
		{name: "fresh", catalog: of(renamed), stock: map[string]int{a.ID: 4},
			wantName: "Renamed", wantPrice: 900, wantAvail: 4},
		{name: "unchanged", catalog: of(a), stock: map[string]int{a.ID: 3},
			wantName: a.Name, wantPrice: 1000, wantAvail: 3, wantKept: true},
		{name: "unstocked product has none", catalog: of(a), stock: map[string]int{},
			wantName: a.Name, wantPrice: 1000, wantAvail: 0},
		{name: "negative stock reads as none", catalog: of(a), stock: map[string]int{a.ID: -2},
			wantName: a.Name, wantPrice: 1000, wantAvail: 0},
		{name: "catalog down", catalogErr: down, stock: map[string]int{a.ID: 3},
			wantName: a.Name, wantPrice: 1000, wantAvail: 3, wantStale: true, wantKept: true},
		{name: "inventory down", catalog: of(renamed), stockErr: down,
			wantName: "Renamed", wantPrice: 900, wantAvail: 3, wantStale: true},
		{name: "product gone", catalog: of(), stock: map[string]int{a.ID: 3},
			wantName: a.Name, wantPrice: 1000, wantAvail: 3, wantGone: true, wantKept: true},
		{name: "only another product answered", catalog: of(other), stock: map[string]int{a.ID: 3},
			wantName: a.Name, wantPrice: 1000, wantAvail: 3, wantGone: true, wantKept: true},
		{name: "now in another currency", catalog: of(inUSD), stock: map[string]int{a.ID: 3},
			wantName: a.Name, wantPrice: 1000, wantAvail: 3, wantGone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cartWith(t, a)
			c.lines[0].available = 3
			now := t0.Add(time.Hour)
			out, changed := c.refreshed(answers{products: tc.catalog, productsErr: tc.catalogErr, stock: tc.stock, stockErr: tc.stockErr}, now)
			l := out.lines[0]
			if l.name != tc.wantName || l.price.amount != tc.wantPrice || l.available != tc.wantAvail {
				t.Errorf("line %q %d avail %d, want %q %d avail %d", l.name, l.price.amount, l.available, tc.wantName, tc.wantPrice, tc.wantAvail)
			}
			if l.stale != tc.wantStale || out.stale != tc.wantStale || l.unavailable != tc.wantGone {
				t.Errorf("stale %v (cart %v), unavailable %v; want %v, %v", l.stale, out.stale, l.unavailable, tc.wantStale, tc.wantGone)
			}
			if tc.wantKept != (len(changed) == 0) {
				t.Errorf("changed = %+v, want changed lines: %v", changed, !tc.wantKept)
			}
			if len(changed) == 1 && (!changed[0].refreshedAt.Equal(now) || changed[0].name != l.name) {
				t.Errorf("remembered %+v, want the refreshed line seen now", changed[0])
			}
			if c.lines[0].name != a.Name || c.lines[0].stale {
				t.Error("refreshed changed the cart it was given")
			}
			wantTotal := int64(0)
			if !tc.wantGone {
				wantTotal = tc.wantPrice
			}
			if out.Total().Amount() != wantTotal {
				t.Errorf("total %d, want %d", out.Total().Amount(), wantTotal)
			}
		})
	}
}

func TestParseProductID(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	if got, ok := ParseProductID(strings.ToUpper(id)); !ok || got != id {
		t.Errorf("ParseProductID(upper) = %q, %v; want %q", got, ok, id)
	}
	for _, bad := range []string{"", "x", id + "0"} {
		if _, ok := ParseProductID(bad); ok {
			t.Errorf("ParseProductID(%q) accepted", bad)
		}
	}
}
