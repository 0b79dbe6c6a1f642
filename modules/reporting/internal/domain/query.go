package domain

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// Report limits and defaults.
const (
	DefaultDays  = 30  // days of a sales report without From
	MaxDays      = 366 // days a sales report may span
	DefaultLimit = 10  // top products without a limit
	MaxLimit     = 100
)

// SalesQuery is a caller's request for a sales report.
type SalesQuery struct {
	From, To string // YYYY-MM-DD; empty: see DefaultDays
	Currency string // any case; empty: every currency
}

// SalesReport is the sales of a range of days, with totals per currency.
type SalesReport struct {
	From, To time.Time // midnight UTC
	Currency string
	Days     []DayRow
	Totals   []Totals
}

// Totals sums a report's days in one currency.
type Totals struct {
	Currency string
	Orders   int64
	Units    int64
	Revenue  int64
}

// TopQuery is a caller's request for the best-selling products.
type TopQuery struct {
	Limit    int // 0 means DefaultLimit
	Currency string
}

// salesFilter validates a sales query; today is the current UTC date.
func salesFilter(q SalesQuery, today time.Time) (DayFilter, error) {
	var f errs.Fields
	out := DayFilter{To: today, Currency: currencyParam(&f, q.Currency)}
	toOK := true
	if q.To != "" {
		out.To, toOK = parseDate(&f, "to", q.To)
	}
	fromOK := true
	if q.From != "" {
		out.From, fromOK = parseDate(&f, "from", q.From)
	} else {
		out.From = out.To.AddDate(0, 0, -(DefaultDays - 1))
	}
	if fromOK && toOK {
		switch {
		case out.From.After(out.To):
			f.Add("from", "order", "must not be after to")
		case out.To.Sub(out.From) >= MaxDays*24*time.Hour:
			f.Add("to", "range", "must be less than 366 days after from (366 days at most)")
		}
	}
	return out, f.Err()
}

func parseDate(f *errs.Fields, field, s string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		f.Add(field, "date", "must be a date (YYYY-MM-DD)")
		return time.Time{}, false
	}
	return d, true
}

// currencyParam accepts a currency code in any case.
func currencyParam(f *errs.Fields, s string) string {
	if s == "" {
		return ""
	}
	c := strings.ToUpper(s)
	checkCurrency(f, "currency", c)
	return c
}

func topFilter(q TopQuery) (TopFilter, error) {
	var f errs.Fields
	out := TopFilter{Limit: q.Limit, Currency: currencyParam(&f, q.Currency)}
	switch {
	case q.Limit == 0:
		out.Limit = DefaultLimit
	case q.Limit < 1 || q.Limit > MaxLimit:
		f.Add("limit", "range", "must be between 1 and 100")
	}
	return out, f.Err()
}

// totals sums day rows per currency, in currency order.
func totals(days []DayRow) []Totals {
	out := []Totals{}
	at := map[string]int{}
	for _, d := range days {
		i, ok := at[d.Currency]
		if !ok {
			i = len(out)
			at[d.Currency] = i
			out = append(out, Totals{Currency: d.Currency})
		}
		out[i].Orders += d.Orders
		out[i].Units += d.Units
		out[i].Revenue += d.Revenue
	}
	slices.SortFunc(out, func(a, b Totals) int { return cmp.Compare(a.Currency, b.Currency) })
	return out
}
