package domain

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// DayRow is one day's figures in one currency (sales_daily).
type DayRow struct {
	Day      time.Time // midnight UTC
	Currency string
	Orders   int64
	Units    int64
	Revenue  int64 // minor units: the orders' totals
}

// ProductRow is one product's figures in one currency (product_sales).
// NameSeq is the journal seq of the sale SKU and Name come from; a change
// with a higher NameSeq renames the product, one with a lower does not.
type ProductRow struct {
	ProductID string
	Currency  string
	SKU       string
	Name      string
	NameSeq   int64
	Orders    int64
	Units     int64
	Revenue   int64 // minor units: quantity × unit price of its lines
}

// Delta is a change of the figures: rows whose numbers are added to the
// stored ones (a new key starts from zero). Rows are sorted by key, so
// concurrent writers lock them in one order.
type Delta struct {
	Days     []DayRow
	Products []ProductRow
}

// delta is what sale s adds to the figures (sign +1) or takes back (sign
// -1). Only an addition names the products (seq); a take-back keeps the
// names it finds.
func (s Sale) delta(sign, seq int64) Delta {
	d := Delta{Days: []DayRow{{
		Day: s.Day(), Currency: s.currency, Orders: sign, Units: sign * s.Units(), Revenue: sign * s.total,
	}}}
	byProduct := map[string]*ProductRow{}
	for _, l := range s.lines {
		p, ok := byProduct[l.productID]
		if !ok {
			// The first line of a product names it; an order holding a
			// product twice counts as one order of it.
			p = &ProductRow{ProductID: l.productID, Currency: s.currency, SKU: l.sku, Name: l.name, Orders: sign}
			if sign > 0 {
				p.NameSeq = seq
			}
			byProduct[l.productID] = p
		}
		p.Units += sign * l.quantity
		p.Revenue += sign * l.quantity * l.unitPrice
	}
	for _, id := range slices.Sorted(maps.Keys(byProduct)) {
		d.Products = append(d.Products, *byProduct[id])
	}
	return d
}

type dayKey struct {
	day      string
	currency string
}

type productKey struct{ productID, currency string }

// Projection is the figures held in memory: what a rebuild computes before
// it writes them. Add is the same arithmetic as the store's incremental
// upserts, which is what makes a rebuild equal to incremental handling.
type Projection struct {
	days     map[dayKey]DayRow
	products map[productKey]ProductRow
}

// NewProjection returns empty figures.
func NewProjection() *Projection {
	return &Projection{days: map[dayKey]DayRow{}, products: map[productKey]ProductRow{}}
}

// Add applies a change.
func (p *Projection) Add(d Delta) {
	for _, r := range d.Days {
		k := dayKey{r.Day.Format(time.DateOnly), r.Currency}
		if cur, ok := p.days[k]; ok {
			cur.Orders += r.Orders
			cur.Units += r.Units
			cur.Revenue += r.Revenue
			r = cur
		}
		p.days[k] = r
	}
	for _, r := range d.Products {
		k := productKey{r.ProductID, r.Currency}
		if cur, ok := p.products[k]; ok {
			cur.Orders += r.Orders
			cur.Units += r.Units
			cur.Revenue += r.Revenue
			if r.NameSeq > cur.NameSeq {
				cur.SKU, cur.Name, cur.NameSeq = r.SKU, r.Name, r.NameSeq
			}
			r = cur
		}
		p.products[k] = r
	}
}

// Days returns the day rows by day, then currency.
func (p *Projection) Days() []DayRow {
	out := slices.Collect(maps.Values(p.days))
	slices.SortFunc(out, func(a, b DayRow) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}

// Products returns the product rows by product id, then currency.
func (p *Projection) Products() []ProductRow {
	out := slices.Collect(maps.Values(p.products))
	slices.SortFunc(out, func(a, b ProductRow) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}
