package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestSalesFilter(t *testing.T) {
	t.Parallel()
	today := date("2026-03-15")
	ok := []struct {
		name string
		q    SalesQuery
		want DayFilter
	}{
		{"defaults: the last 30 days", SalesQuery{}, DayFilter{From: date("2026-02-14"), To: today}},
		{"to only: 30 days up to it", SalesQuery{To: "2026-01-31"}, DayFilter{From: date("2026-01-02"), To: date("2026-01-31")}},
		{"from only: up to today", SalesQuery{From: "2026-03-01"}, DayFilter{From: date("2026-03-01"), To: today}},
		{"one day", SalesQuery{From: "2026-03-01", To: "2026-03-01"}, DayFilter{From: date("2026-03-01"), To: date("2026-03-01")}},
		{"366 days of a leap year", SalesQuery{From: "2024-01-01", To: "2024-12-31"}, DayFilter{From: date("2024-01-01"), To: date("2024-12-31")}},
		{"currency in any case", SalesQuery{Currency: "eur"}, DayFilter{From: date("2026-02-14"), To: today, Currency: "EUR"}},
	}
	for _, tt := range ok {
		got, err := salesFilter(tt.q, today)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	bad := []struct {
		q     SalesQuery
		field string
	}{
		{SalesQuery{From: "2026-02-30"}, "from"},
		{SalesQuery{From: "yesterday"}, "from"},
		{SalesQuery{To: "2026-3-1"}, "to"},
		{SalesQuery{From: "2026-03-02", To: "2026-03-01"}, "from"},
		{SalesQuery{From: "2024-01-01", To: "2025-01-01"}, "to"}, // 367 days
		{SalesQuery{From: "2025-01-01"}, "to"},                   // 439 days up to today
		{SalesQuery{Currency: "EURO"}, "currency"},
		{SalesQuery{Currency: "€"}, "currency"},
	}
	for _, tt := range bad {
		_, err := salesFilter(tt.q, today)
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "; "+tt.field+":") {
			t.Errorf("%+v: %v, want invalid naming %s", tt.q, err, tt.field)
		}
	}
}

func TestTopFilter(t *testing.T) {
	t.Parallel()
	for q, want := range map[TopQuery]TopFilter{
		{}:                          {Limit: DefaultLimit},
		{Limit: 1, Currency: "usd"}: {Limit: 1, Currency: "USD"},
		{Limit: MaxLimit}:           {Limit: MaxLimit},
	} {
		if got, err := topFilter(q); err != nil || got != want {
			t.Errorf("%+v: %+v, %v; want %+v", q, got, err, want)
		}
	}
	for q, field := range map[TopQuery]string{{Limit: -1}: "limit", {Limit: MaxLimit + 1}: "limit", {Currency: "1AB"}: "currency"} {
		if _, err := topFilter(q); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%+v: %v, want invalid naming %s", q, err, field)
		}
	}
}

func TestTotals(t *testing.T) {
	t.Parallel()
	days := []DayRow{
		{Day: date("2026-01-01"), Currency: "USD", Orders: 1, Units: 2, Revenue: 3},
		{Day: date("2026-01-01"), Currency: "EUR", Orders: 4, Units: 5, Revenue: 6},
		{Day: date("2026-01-02"), Currency: "USD", Orders: 10, Units: 20, Revenue: 30},
	}
	want := []Totals{{Currency: "EUR", Orders: 4, Units: 5, Revenue: 6}, {Currency: "USD", Orders: 11, Units: 22, Revenue: 33}}
	if got := totals(days); !reflect.DeepEqual(got, want) {
		t.Errorf("totals = %+v, want %+v", got, want)
	}
	if got := totals(nil); got == nil || len(got) != 0 {
		t.Errorf("totals of nothing = %#v, want an empty list", got)
	}
}
