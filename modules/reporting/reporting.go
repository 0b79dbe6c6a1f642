package reporting

import "context"

// API is the sales reports as other modules and remote adapters see them.
// Every method needs the admin role in ctx: without a principal it returns
// KindUnauthenticated, for any other role KindForbidden. Any method may also
// return KindInternal.
//
// The figures are a read model of the orders module's events: an order
// counts as a sale on the day (UTC) it was confirmed, in its currency, once
// its confirmation has been handled; a cancellation takes the sale back from
// that same day and from the product figures. Events are handled
// asynchronously, so a report may lag the orders by a moment.
type API interface {
	// Sales returns one row per day and currency that has sales in the
	// inclusive range From..To (dates YYYY-MM-DD, UTC), oldest first, and
	// totals per currency. An empty To means today, an empty From 29 days
	// before To (30 days in all). KindInvalid names from or to (not a date,
	// from after to, or more than 366 days) or currency (not three letters).
	//shop:idempotent
	Sales(ctx context.Context, q SalesQuery) (SalesReport, error)
	// TopProducts returns the best-selling products of all time, by revenue
	// (highest first), then units, then product id. KindInvalid names limit
	// (outside 1..100; 0 means 10) or currency (not three letters).
	//shop:idempotent
	TopProducts(ctx context.Context, q TopQuery) ([]ProductSales, error)
	// Rebuild recomputes every figure from the module's own journal of the
	// events it handled, in one transaction (event handling waits meanwhile),
	// and reports how many journal entries it replayed. The figures come out
	// exactly as handling the events one by one made them. Besides admins,
	// the module's own service principal (auth.Service("reporting"), which
	// the command line uses) may rebuild; KindUnauthenticated,
	// KindForbidden.
	Rebuild(ctx context.Context) (RebuildResult, error)
}

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// SalesQuery selects the days of a sales report.
type SalesQuery struct {
	From     string `json:"from,omitempty"`     // YYYY-MM-DD, inclusive; empty: 29 days before To
	To       string `json:"to,omitempty"`       // YYYY-MM-DD, inclusive; empty: today (UTC)
	Currency string `json:"currency,omitempty"` // ISO 4217 code, any case; empty: every currency
}

// SalesReport is the sales of a range of days. Days lists only days with
// sales; Totals sums Days per currency (amounts of different currencies are
// never added up).
type SalesReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Currency string       `json:"currency,omitempty"`
	Days     []DaySales   `json:"days"`
	Totals   []SalesTotal `json:"totals"`
}

// DaySales is one day's sales in one currency: the number of orders, the
// units of all their lines, and what they were sold for (order totals).
type DaySales struct {
	Day     string `json:"day"` // YYYY-MM-DD (UTC)
	Orders  int64  `json:"orders"`
	Units   int64  `json:"units"`
	Revenue Money  `json:"revenue"`
}

// SalesTotal is the sum of a report's days in one currency.
type SalesTotal struct {
	Orders  int64 `json:"orders"`
	Units   int64 `json:"units"`
	Revenue Money `json:"revenue"`
}

// TopQuery selects the best-selling products.
type TopQuery struct {
	Limit    int    `json:"limit,omitempty"`    // 1..100; 0 means 10
	Currency string `json:"currency,omitempty"` // ISO 4217 code, any case; empty: every currency
}

// ProductSales is what one product sold in one currency: the orders that
// held it, the units, and the revenue of its lines (quantity × unit price).
// SKU and Name are as of the product's latest counted sale.
type ProductSales struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Orders    int64  `json:"orders"`
	Units     int64  `json:"units"`
	Revenue   Money  `json:"revenue"`
}

// RebuildResult says how many journal entries a rebuild replayed.
type RebuildResult struct {
	Events int `json:"events"`
}
