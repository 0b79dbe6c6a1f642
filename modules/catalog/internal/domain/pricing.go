package domain

import "time"

// PricedProduct is a product with the price a customer pays now.
type PricedProduct struct {
	Product   Product
	Effective Money
	Deal      *Deal // the deal that gives Effective, nil for the list price
}

// AppliesTo reports whether d lowers p's price at now: the deal is active,
// starts_at ≤ now < ends_at, it targets the product or its category, and a
// fixed deal is in the product's currency.
func (d Deal) AppliesTo(p Product, now time.Time) bool {
	if !d.active || now.Before(d.startsAt) || !now.Before(d.endsAt) {
		return false
	}
	targeted := d.productID == p.id || (d.categoryID != "" && d.categoryID == p.categoryID)
	if !targeted {
		return false
	}
	return d.kind == DealPercent || (d.kind == DealFixed && d.currency == p.price.currency)
}

// discounted is the price after d, never below zero.
func (d Deal) discounted(price int64) int64 {
	switch d.kind {
	case DealPercent:
		// Round half up in integers: price*value ≤ 1e10*99 fits in int64.
		return price - (price*d.value+50)/100
	case DealFixed:
		return max(0, price-d.value)
	}
	return price
}

// Price returns p with the lowest price among the deals that apply at now.
// Ties go to the first deal in the given order, so callers pass deals in a
// stable order.
func Price(p Product, deals []Deal, now time.Time) PricedProduct {
	out := PricedProduct{Product: p, Effective: p.price}
	for i := range deals {
		d := deals[i]
		if !d.AppliesTo(p, now) {
			continue
		}
		if amount := d.discounted(p.price.amount); amount < out.Effective.amount {
			out.Effective = Money{amount: amount, currency: p.price.currency}
			out.Deal = &d
		}
	}
	return out
}
