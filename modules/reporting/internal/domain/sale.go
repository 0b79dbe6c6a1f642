package domain

import (
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Bounds that keep every sum far from overflowing int64.
const (
	MaxQuantity       = 1_000_000
	MaxUnitPriceMinor = 1_000_000_000_000
	MaxTotalMinor     = 1_000_000_000_000_000
)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Sale is a confirmed order as the reports count it: the day (UTC) it was
// confirmed, its currency and total, and its lines.
type Sale struct {
	orderID     string
	confirmedAt time.Time
	currency    string
	total       int64
	lines       []Line
}

// Line is one ordered line of a sale.
type Line struct {
	productID, sku, name string
	quantity             int64
	unitPrice            int64
}

// SaleInput is a confirmed order as the orders module describes it. Field
// names in errors follow its event (order_id, items[0].quantity, …).
type SaleInput struct {
	OrderID     string
	ConfirmedAt time.Time
	Total       int64
	Currency    string // of the total; every line must be priced in it
	Lines       []LineInput
}

// LineInput is one ordered line.
type LineInput struct {
	ProductID string
	SKU       string
	Name      string
	Quantity  int
	UnitPrice int64
	Currency  string
}

// NewSale validates a confirmed order. A malformed event is KindInvalid, so
// it is retried and finally dead-lettered where an operator sees it, rather
// than counted wrong.
func NewSale(in SaleInput) (Sale, error) {
	var f errs.Fields
	s := Sale{orderID: parseUUID(&f, "order_id", in.OrderID), currency: in.Currency, total: in.Total}
	if in.ConfirmedAt.IsZero() {
		f.Add("confirmed_at", "required", "is required")
	}
	s.confirmedAt = in.ConfirmedAt.UTC()
	checkCurrency(&f, "total.currency", in.Currency)
	if in.Total < 0 || in.Total > MaxTotalMinor {
		f.Add("total.amount", "range", fmt.Sprintf("must be between 0 and %d", int64(MaxTotalMinor)))
	}
	if len(in.Lines) == 0 {
		f.Add("items", "required", "must hold at least one line")
	}
	for i, l := range in.Lines {
		s.lines = append(s.lines, newLine(&f, fmt.Sprintf("items[%d]", i), l, in.Currency))
	}
	if err := f.Err(); err != nil {
		return Sale{}, err
	}
	return s, nil
}

func newLine(f *errs.Fields, field string, in LineInput, currency string) Line {
	l := Line{productID: parseUUID(f, field+".product_id", in.ProductID), sku: in.SKU, name: in.Name,
		quantity: int64(in.Quantity), unitPrice: in.UnitPrice}
	if in.Quantity < 1 || in.Quantity > MaxQuantity {
		f.Add(field+".quantity", "range", fmt.Sprintf("must be between 1 and %d", MaxQuantity))
	}
	if in.UnitPrice < 0 || in.UnitPrice > MaxUnitPriceMinor {
		f.Add(field+".unit_price.amount", "range", fmt.Sprintf("must be between 0 and %d", int64(MaxUnitPriceMinor)))
	}
	if in.Currency != currency {
		f.Add(field+".unit_price.currency", "currency", "must be the currency of the total")
	}
	return l
}

// OrderID is the order the sale is.
func (s Sale) OrderID() string { return s.orderID }

// Day is the UTC date of the confirmation, at midnight UTC.
func (s Sale) Day() time.Time {
	return time.Date(s.confirmedAt.Year(), s.confirmedAt.Month(), s.confirmedAt.Day(), 0, 0, 0, 0, time.UTC)
}

// Currency is the sale's currency.
func (s Sale) Currency() string { return s.currency }

// Total is what the order was sold for, in minor units.
func (s Sale) Total() int64 { return s.total }

// Units is the quantity of all lines.
func (s Sale) Units() int64 {
	var n int64
	for _, l := range s.lines {
		n += l.quantity
	}
	return n
}

// Fact is what one orders event means for the figures: an order confirmed
// (a sale), or an order cancelled.
type Fact struct {
	orderID   string
	sale      Sale
	cancelled bool
}

// Confirmation is the fact of a confirmed order.
func Confirmation(s Sale) Fact { return Fact{orderID: s.orderID, sale: s} }

// Cancellation is the fact of a cancelled order, confirmed before or not:
// either way the order is no sale.
func Cancellation(orderID string) (Fact, error) {
	var f errs.Fields
	id := parseUUID(&f, "order_id", orderID)
	if err := f.Err(); err != nil {
		return Fact{}, err
	}
	return Fact{orderID: id, cancelled: true}, nil
}

// OrderID is the order the fact is about.
func (f Fact) OrderID() string { return f.orderID }

// Cancelled tells a cancellation from a confirmation.
func (f Fact) Cancelled() bool { return f.cancelled }

// Sale is the confirmed order (zero for a cancellation).
func (f Fact) Sale() Sale { return f.sale }

func parseUUID(f *errs.Fields, field, s string) string {
	u, err := uuid.Parse(s)
	if err != nil {
		f.Add(field, "uuid", "must be a UUID")
		return ""
	}
	return u.String()
}

func checkCurrency(f *errs.Fields, field, currency string) {
	if !currencyPattern.MatchString(currency) {
		f.Add(field, "currency", "must be three upper-case letters (ISO 4217)")
	}
}
