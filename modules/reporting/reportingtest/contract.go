package reportingtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Publish commits orders events, in order, as the orders module would
// (through its outbox), and returns once the reporting module has handled
// every one of them, so the suite can check what did not change as well as
// what did.
type Publish func(t *testing.T, evs ...Event)

// Event is an orders event (orders.OrderPlaced, …) as platform/events
// publishes it; the suite names no event machinery, so that running it needs
// only the contracts.
type Event interface {
	EventType() string
	EventKey() string
}

// Contract runs the behavioural suite of reporting.API against api. Its
// sales are on a random day of the past in a random currency code nobody
// else uses, so it can run again and again on the same database, beside
// other sales.
func Contract(t *testing.T, api reporting.API, publish Publish) {
	t.Helper()
	c := &contract{api: api, publish: publish}
	t.Run("authorization", c.authorization)
	t.Run("validation", c.validation)
	t.Run("defaults", c.defaults)
	t.Run("sales", c.sales)
}

type contract struct {
	api     reporting.API
	publish Publish
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-admin", Role: auth.RoleAdmin})
}

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-customer", Role: auth.RoleCustomer})
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if got := errs.KindOf(err); err == nil || got != kind {
		t.Errorf("%s: err = %v (kind %v), want kind %v", what, err, got, kind)
	}
}

func (c *contract) authorization(t *testing.T) {
	for _, tc := range []struct {
		ctx  context.Context
		kind errs.Kind
	}{{context.Background(), errs.KindUnauthenticated}, {customer(), errs.KindForbidden}} {
		_, err := c.api.Sales(tc.ctx, reporting.SalesQuery{})
		wantKind(t, "Sales", err, tc.kind)
		_, err = c.api.TopProducts(tc.ctx, reporting.TopQuery{})
		wantKind(t, "TopProducts", err, tc.kind)
		_, err = c.api.Rebuild(tc.ctx)
		wantKind(t, "Rebuild", err, tc.kind)
	}
}

func fields(err error) []string {
	var names []string
	var e *errs.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			names = append(names, f.Field)
		}
	}
	return names
}

func (c *contract) validation(t *testing.T) {
	sales := []struct {
		q     reporting.SalesQuery
		field string
	}{
		{reporting.SalesQuery{From: "2026-02-30"}, "from"},
		{reporting.SalesQuery{From: "1.1.2026", To: "2026-01-10"}, "from"},
		{reporting.SalesQuery{To: "tomorrow"}, "to"},
		{reporting.SalesQuery{From: "2026-01-02", To: "2026-01-01"}, "from"},
		{reporting.SalesQuery{From: "2024-01-01", To: "2025-01-01"}, "to"}, // 367 days
		{reporting.SalesQuery{Currency: "EURO"}, "currency"},
	}
	for _, tc := range sales {
		_, err := c.api.Sales(admin(), tc.q)
		wantKind(t, fmt.Sprintf("Sales(%+v)", tc.q), err, errs.KindInvalid)
		if !slices.Contains(fields(err), tc.field) {
			t.Errorf("Sales(%+v): error names %v, want %s", tc.q, fields(err), tc.field)
		}
	}
	top := []struct {
		q     reporting.TopQuery
		field string
	}{
		{reporting.TopQuery{Limit: 101}, "limit"},
		{reporting.TopQuery{Limit: -1}, "limit"},
		{reporting.TopQuery{Currency: "E1R"}, "currency"},
	}
	for _, tc := range top {
		_, err := c.api.TopProducts(admin(), tc.q)
		wantKind(t, fmt.Sprintf("TopProducts(%+v)", tc.q), err, errs.KindInvalid)
		if !slices.Contains(fields(err), tc.field) {
			t.Errorf("TopProducts(%+v): error names %v, want %s", tc.q, fields(err), tc.field)
		}
	}
	// 366 days (a leap year) is the longest report.
	if _, err := c.api.Sales(admin(), reporting.SalesQuery{From: "2024-01-01", To: "2024-12-31"}); err != nil {
		t.Errorf("a 366-day report: %v", err)
	}
}

func (c *contract) defaults(t *testing.T) {
	r, err := c.api.Sales(admin(), reporting.SalesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	from, errFrom := time.Parse(time.DateOnly, r.From)
	to, errTo := time.Parse(time.DateOnly, r.To)
	if errFrom != nil || errTo != nil {
		t.Fatalf("report range %q..%q is not two dates", r.From, r.To)
	}
	if d := time.Since(to); d < 0 || d > 48*time.Hour {
		t.Errorf("default To = %s, want today (UTC)", r.To)
	}
	if want := to.AddDate(0, 0, -29); !from.Equal(want) {
		t.Errorf("default From = %s, want %s (30 days in all)", r.From, want.Format(time.DateOnly))
	}
	top, err := c.api.TopProducts(admin(), reporting.TopQuery{})
	if err != nil || len(top) > 10 {
		t.Errorf("TopProducts with the default limit: %d products, %v; want at most 10", len(top), err)
	}
}

// scope is one run's sales: a currency nobody else sells in, days nobody
// else reports, and fresh products.
type scope struct {
	currency string
	day      time.Time // midnight UTC; the run sells on day and the day after
	a, b, c  string
}

func (c *contract) newScope(t *testing.T) scope {
	t.Helper()
	for range 50 {
		cur := string([]byte{byte('A' + rand.IntN(26)), byte('A' + rand.IntN(26)), byte('A' + rand.IntN(26))})
		top, err := c.api.TopProducts(admin(), reporting.TopQuery{Currency: cur, Limit: 1})
		if err != nil {
			t.Fatalf("TopProducts: %v", err)
		}
		if len(top) == 0 {
			day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(7000))
			return scope{currency: cur, day: day, a: uuid.NewString(), b: uuid.NewString(), c: uuid.NewString()}
		}
	}
	t.Fatal("no unused currency code found")
	return scope{}
}

func (s scope) money(amount int64) orders.Money {
	return orders.Money{Amount: amount, Currency: s.currency}
}

func (s scope) revenue(amount int64) reporting.Money {
	return reporting.Money{Amount: amount, Currency: s.currency}
}

func (s scope) item(productID, name string, qty int, price int64) orders.Item {
	return orders.Item{ProductID: productID, SKU: "SKU-" + name, Name: name, Quantity: qty,
		UnitPrice: s.money(price), LineTotal: s.money(int64(qty) * price)}
}

func (s scope) confirmed(orderID string, at time.Time, items ...orders.Item) orders.OrderConfirmed {
	var total int64
	for _, it := range items {
		total += it.LineTotal.Amount
	}
	return orders.OrderConfirmed{OrderID: orderID, UserID: uuid.NewString(), Email: "buyer@example.com",
		Items: items, Total: s.money(total), ConfirmedAt: at}
}

func cancelled(e orders.OrderConfirmed, wasConfirmed bool) orders.OrderCancelled {
	c := orders.OrderCancelled{OrderID: e.OrderID, UserID: e.UserID, Email: e.Email, Items: e.Items, Total: e.Total,
		WasConfirmed: wasConfirmed, CancelledAt: e.ConfirmedAt.Add(time.Hour)}
	if wasConfirmed {
		c.ConfirmedAt = e.ConfirmedAt
	}
	return c
}

func (c *contract) report(t *testing.T, s scope) reporting.SalesReport {
	t.Helper()
	r, err := c.api.Sales(admin(), reporting.SalesQuery{
		From: s.day.Format(time.DateOnly), To: s.day.AddDate(0, 0, 1).Format(time.DateOnly), Currency: strings.ToLower(s.currency),
	})
	if err != nil {
		t.Fatalf("Sales: %v", err)
	}
	return r
}

func (c *contract) top(t *testing.T, s scope, limit int) []reporting.ProductSales {
	t.Helper()
	top, err := c.api.TopProducts(admin(), reporting.TopQuery{Limit: limit, Currency: s.currency})
	if err != nil {
		t.Fatalf("TopProducts: %v", err)
	}
	return top
}

func (s scope) days(rows ...[3]int64) []reporting.DaySales {
	var out []reporting.DaySales
	for i, r := range rows {
		if r[0] == 0 {
			continue
		}
		out = append(out, reporting.DaySales{Day: s.day.AddDate(0, 0, i).Format(time.DateOnly),
			Orders: r[0], Units: r[1], Revenue: s.revenue(r[2])})
	}
	return out
}

func (s scope) product(id, name string, orderCount, units, revenue int64) reporting.ProductSales {
	return reporting.ProductSales{ProductID: id, SKU: "SKU-" + name, Name: name, Orders: orderCount, Units: units, Revenue: s.revenue(revenue)}
}

func (c *contract) wantReport(t *testing.T, s scope, days []reporting.DaySales, total [3]int64) {
	t.Helper()
	r := c.report(t, s)
	if r.From != s.day.Format(time.DateOnly) || r.Currency != s.currency {
		t.Errorf("report of %s..%s in %s", r.From, r.To, r.Currency)
	}
	if !reflect.DeepEqual(r.Days, days) && len(r.Days)+len(days) > 0 {
		t.Errorf("days = %+v\nwant %+v", r.Days, days)
	}
	want := []reporting.SalesTotal{{Orders: total[0], Units: total[1], Revenue: s.revenue(total[2])}}
	if !reflect.DeepEqual(r.Totals, want) {
		t.Errorf("totals = %+v, want %+v", r.Totals, want)
	}
}

// sales: an order counts on the UTC day it was confirmed, once however often
// it is confirmed; a cancellation takes a confirmed sale back from that day
// and from its products, and an order cancelled before its confirmation
// arrived never counts.
func (c *contract) sales(t *testing.T) {
	s := c.newScope(t)
	o1 := s.confirmed(uuid.NewString(), s.day.Add(10*time.Hour), s.item(s.a, "Apple", 3, 500), s.item(s.b, "Bean", 1, 300))
	// 23:30 at UTC-2 is the next day in UTC.
	late := time.Date(s.day.Year(), s.day.Month(), s.day.Day(), 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600))
	o2 := s.confirmed(uuid.NewString(), late, s.item(s.b, "Bean", 4, 300))
	o3 := s.confirmed(uuid.NewString(), s.day.Add(12*time.Hour), s.item(s.c, "Cherry", 1, 2000))
	o4 := s.confirmed(uuid.NewString(), s.day.Add(13*time.Hour), s.item(s.a, "Apple", 10, 500))
	c.publish(t, o1, o2, o3, o1, cancelled(o4, false), o4)

	c.wantReport(t, s, s.days([3]int64{2, 5, 3800}, [3]int64{1, 4, 1200}), [3]int64{3, 9, 5000})
	if top := c.top(t, s, 0); !reflect.DeepEqual(top, []reporting.ProductSales{
		s.product(s.c, "Cherry", 1, 1, 2000), s.product(s.b, "Bean", 2, 5, 1500), s.product(s.a, "Apple", 1, 3, 1500),
	}) {
		t.Errorf("top products = %+v", top)
	}

	c.publish(t, cancelled(o3, true))
	c.wantReport(t, s, s.days([3]int64{1, 4, 1800}, [3]int64{1, 4, 1200}), [3]int64{2, 8, 3000})
	// Equal revenue: more units first.
	wantTop := []reporting.ProductSales{s.product(s.b, "Bean", 2, 5, 1500), s.product(s.a, "Apple", 1, 3, 1500)}
	if top := c.top(t, s, 10); !reflect.DeepEqual(top, wantTop) {
		t.Errorf("top products after the cancellation = %+v\nwant %+v", top, wantTop)
	}
	if top := c.top(t, s, 1); !reflect.DeepEqual(top, wantTop[:1]) {
		t.Errorf("top product = %+v, want %+v", top, wantTop[:1])
	}

	// A rebuild replays at least this run's seven events and changes no figure.
	res, err := c.api.Rebuild(admin())
	if err != nil || res.Events < 7 {
		t.Fatalf("Rebuild = %+v, %v; want at least 7 events", res, err)
	}
	c.wantReport(t, s, s.days([3]int64{1, 4, 1800}, [3]int64{1, 4, 1200}), [3]int64{2, 8, 3000})
	if top := c.top(t, s, 10); !reflect.DeepEqual(top, wantTop) {
		t.Errorf("top products after the rebuild = %+v\nwant %+v", top, wantTop)
	}
}
