package reportingmodule_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingtest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

// shop is the real reporting module on a fresh database, fed by a real bus
// from the orders module's outbox. The orders module itself does not run:
// the tests publish its events as it would.
type shop struct {
	cfg    config.Config
	dbs    *kernel.Databases
	orders *database.DB
	outbox *events.Outbox
	rep    *reportingmodule.Module
}

func newShop(t *testing.T, adjust ...func(*config.Config)) *shop {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.PollInterval, cfg.Events.BackoffBase = 50*time.Millisecond, 10*time.Millisecond
	for _, f := range adjust {
		f(&cfg)
	}
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "orders", "reporting")
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ordersDB, err := dbs.Open(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := reportingmodule.New(ctx, dbs, log, cfg, bus)
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{cfg: cfg, dbs: dbs, orders: ordersDB, outbox: bus.Outbox(ordersDB), rep: rep}
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Stop(context.Background()) })
	return s
}

// publish commits evs in one transaction of the orders module and waits
// until reporting has handled them (see reportingtest.Publish).
func (s *shop) publish(t *testing.T, evs ...events.Event) {
	t.Helper()
	s.commit(t, evs...)
	s.waitHandled(t)
}

// publishContract is publish as the contract suite calls it.
func (s *shop) publishContract(t *testing.T, evs ...reportingtest.Event) {
	t.Helper()
	out := make([]events.Event, len(evs))
	for i, e := range evs {
		out[i] = e
	}
	s.publish(t, out...)
}

// commit commits evs in one transaction of the orders module.
func (s *shop) commit(t *testing.T, evs ...events.Event) {
	t.Helper()
	ctx := context.Background()
	if err := s.orders.InTx(ctx, func(tx *gorm.DB) error { return s.outbox.Publish(ctx, tx, evs...) }); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// waitHandled waits until every orders event is forwarded and handled. The
// relay commits the inbox row before it marks the outbox row forwarded, so
// there is no moment when both counts are zero with an event in between.
func (s *shop) waitHandled(t *testing.T) {
	t.Helper()
	owner := s.dbs.Owner().Pool()
	eventstest.Eventually(t, 20*time.Second, "reporting handled every orders event", func() bool {
		var unforwarded, pending int
		var dead *string
		err := owner.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM orders.event_outbox WHERE forwarded_at IS NULL),
			(SELECT count(*) FROM reporting.event_inbox WHERE status = 'pending'),
			(SELECT min(last_error) FROM reporting.event_inbox WHERE status = 'dead')`).Scan(&unforwarded, &pending, &dead)
		if err != nil {
			t.Fatal(err)
		}
		if dead != nil {
			t.Fatalf("an event was dead-lettered: %s", *dead)
		}
		return unforwarded == 0 && pending == 0
	})
}

func adminCtx() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "test-admin", Role: auth.RoleAdmin})
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	reportingtest.Contract(t, s.rep.API(), s.publishContract)
	// The suite must hold on a database it has already written to.
	t.Run("again", func(t *testing.T) { reportingtest.Contract(t, s.rep.API(), s.publishContract) })
}

func TestModule(t *testing.T) {
	t.Parallel()
	d := reportingmodule.Descriptor()
	if d.Name != "reporting" || len(d.DependsOn) != 1 || d.DependsOn[0] != "orders" || d.Summary != "sales figures built from order events" {
		t.Fatalf("descriptor = %+v", d)
	}
	// Each call returns a fresh value: a caller cannot change the module's.
	d.DependsOn[0] = "changed"
	if got := reportingmodule.Descriptor().DependsOn[0]; got != "orders" {
		t.Fatalf("Descriptor().DependsOn[0] = %q after a caller changed its copy", got)
	}
	s := newShop(t)
	if s.rep.Descriptor().Name != "reporting" {
		t.Errorf("module descriptor = %+v", s.rep.Descriptor())
	}
	if err := s.rep.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The operator's rebuild acts as the module itself, without a user.
	if n, err := s.rep.Rebuild(context.Background()); err != nil || n != 0 {
		t.Fatalf("Rebuild of an empty journal = %d, %v", n, err)
	}
}

// figures is everything the read model stores, straight from its tables.
type figures struct {
	Days     []string
	Products []string
}

func (s *shop) figures(t *testing.T) figures {
	t.Helper()
	ctx, owner := context.Background(), s.dbs.Owner().Pool()
	read := func(sql string) []string {
		rows, err := owner.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return figures{
		Days: read(`SELECT concat_ws(' ', day, currency, orders, units, revenue_minor)
			FROM reporting.sales_daily ORDER BY day, currency`),
		Products: read(`SELECT concat_ws(' ', product_id, currency, sku, name, name_seq, orders, units, revenue_minor)
			FROM reporting.product_sales ORDER BY product_id, currency`),
	}
}

// history is a generated stream of orders events with what it must come to.
type history struct {
	batches [][]events.Event
	events  int
	days    map[string][3]int64 // "day currency" → orders, units, revenue
	units   map[string]int64    // "product currency" → units
}

func (h *history) count(e orders.OrderConfirmed, sign int64) {
	k := e.ConfirmedAt.UTC().Format(time.DateOnly) + " " + e.Total.Currency
	d := h.days[k]
	for _, it := range e.Items {
		d[1] += sign * int64(it.Quantity)
		h.units[it.ProductID+" "+e.Total.Currency] += sign * int64(it.Quantity)
	}
	d[0] += sign
	d[2] += sign * e.Total.Amount
	h.days[k] = d
}

// generate makes orders confirmed, confirmed and cancelled, cancelled
// before confirmation, confirmed twice, and confirmed after their
// cancellation, over three days and two currencies, in batches of one
// orders transaction each.
func generate(rng *rand.Rand, n int) *history {
	h := &history{days: map[string][3]int64{}, units: map[string]int64{}}
	products := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	day0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var batch []events.Event
	for i := range n {
		cur := []string{"EUR", "USD"}[rng.IntN(2)]
		e := orders.OrderConfirmed{OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "b@example.com",
			ConfirmedAt: day0.Add(time.Duration(rng.IntN(3*24*60)) * time.Minute)}
		for _, p := range rng.Perm(len(products))[:1+rng.IntN(3)] {
			q, price := 1+rng.IntN(5), int64(100+rng.IntN(900))
			e.Items = append(e.Items, orders.Item{ProductID: products[p], SKU: "SKU", Name: "Product", Quantity: q,
				UnitPrice: orders.Money{Amount: price, Currency: cur}, LineTotal: orders.Money{Amount: int64(q) * price, Currency: cur}})
			e.Total.Amount += int64(q) * price
		}
		e.Total.Currency = cur
		cancel := orders.OrderCancelled{OrderID: e.OrderID, UserID: e.UserID, Email: e.Email, Items: e.Items, Total: e.Total,
			CancelledAt: e.ConfirmedAt.Add(time.Hour)}
		confirmedCancel := cancel
		confirmedCancel.WasConfirmed, confirmedCancel.ConfirmedAt = true, e.ConfirmedAt
		switch rng.IntN(5) {
		case 0, 1:
			batch = append(batch, e)
			h.count(e, +1)
		case 2:
			batch = append(batch, e, confirmedCancel)
		case 3:
			batch = append(batch, cancel)
		default:
			if i%2 == 0 {
				batch = append(batch, e, e)
				h.count(e, +1)
			} else {
				batch = append(batch, cancel, e)
			}
		}
		if len(batch) >= 8 || i == n-1 {
			h.events += len(batch)
			h.batches = append(h.batches, batch)
			batch = nil
		}
	}
	return h
}

// TestRebuildEqualsIncremental publishes a generated history through the
// real pipeline, checks the figures against the history's own sums, then
// rebuilds from the journal and finds every stored row (names and their
// seqs, rows taken back to zero) exactly as incremental handling left it.
// Finally every event is delivered a second time: nothing changes.
func TestRebuildEqualsIncremental(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	h := generate(rand.New(rand.NewPCG(7, 8)), 120)
	for _, b := range h.batches {
		s.publish(t, b...)
	}
	incremental := s.figures(t)
	s.checkAgainst(t, h)

	n, err := s.rep.Rebuild(context.Background())
	if err != nil || n != h.events {
		t.Fatalf("Rebuild = %d, %v; want %d events", n, err, h.events)
	}
	if rebuilt := s.figures(t); !reflect.DeepEqual(rebuilt, incremental) {
		t.Fatalf("rebuilt figures differ from incremental ones:\nrebuilt     %v\nincremental %v", rebuilt, incremental)
	}

	// Redeliver everything, as a crash before the inbox's commit would: the
	// journal's key drops each event a second time.
	tag, err := s.dbs.Owner().Pool().Exec(context.Background(), `UPDATE reporting.event_inbox
		SET status = 'pending', handled_at = NULL, next_attempt_at = now() WHERE subscriber = 'reporting.sales'`)
	if err != nil || int(tag.RowsAffected()) != h.events {
		t.Fatalf("reset the inbox: %v (%d rows, want %d)", err, tag.RowsAffected(), h.events)
	}
	s.waitHandled(t)
	if again := s.figures(t); !reflect.DeepEqual(again, incremental) {
		t.Fatalf("figures changed on redelivery:\nafter  %v\nbefore %v", again, incremental)
	}
}

// checkAgainst compares the API's figures with the history's sums.
func (s *shop) checkAgainst(t *testing.T, h *history) {
	t.Helper()
	r, err := s.rep.API().Sales(adminCtx(), reporting.SalesQuery{From: "2025-06-01", To: "2025-06-03"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int64{}
	for _, d := range r.Days {
		got[d.Day+" "+d.Revenue.Currency] = [3]int64{d.Orders, d.Units, d.Revenue.Amount}
	}
	want := map[string][3]int64{}
	for k, v := range h.days {
		if v[0] != 0 {
			want[k] = v
		}
	}
	if !reflect.DeepEqual(got, want) || len(want) == 0 {
		t.Errorf("days = %v\nwant %v", got, want)
	}
	top, err := s.rep.API().TopProducts(adminCtx(), reporting.TopQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]int64{}
	for _, p := range top {
		units[p.ProductID+" "+p.Revenue.Currency] = p.Units
	}
	wantUnits := map[string]int64{}
	for k, v := range h.units {
		if v != 0 {
			wantUnits[k] = v
		}
	}
	if !reflect.DeepEqual(units, wantUnits) {
		t.Errorf("product units = %v\nwant %v", units, wantUnits)
	}
}

// TestMalformedEventIsDeadLettered: an event the figures cannot take (a
// line of quantity 0) is retried, then dead-lettered where operators see
// it; it is not journalled and changes no figure, and the order's later
// events still flow.
func TestMalformedEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := newShop(t, func(c *config.Config) { c.Events.MaxAttempts = 2 })
	eur := orders.Money{Amount: 100, Currency: "EUR"}
	bad := orders.OrderConfirmed{OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "b@example.com",
		Total: eur, ConfirmedAt: time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC),
		Items: []orders.Item{{ProductID: uuid.NewString(), SKU: "A", Name: "Apple", Quantity: 0, UnitPrice: eur, LineTotal: eur}}}
	s.commit(t, bad)
	owner := s.dbs.Owner().Pool()
	var lastError string
	eventstest.Eventually(t, 20*time.Second, "the malformed event dead-lettered", func() bool {
		err := owner.QueryRow(context.Background(), `SELECT last_error FROM reporting.event_inbox
			WHERE subscriber = 'reporting.sales' AND status = 'dead'`).Scan(&lastError)
		return err == nil
	})
	if !strings.Contains(lastError, "items[0].quantity") {
		t.Errorf("dead letter's error %q does not name the field", lastError)
	}
	good := bad
	good.Items = []orders.Item{{ProductID: bad.Items[0].ProductID, SKU: "A", Name: "Apple", Quantity: 1, UnitPrice: eur, LineTotal: eur}}
	s.commit(t, good)
	eventstest.Eventually(t, 20*time.Second, "the order's next event handled", func() bool {
		r, err := s.rep.API().Sales(adminCtx(), reporting.SalesQuery{From: "2025-07-01", To: "2025-07-01"})
		return err == nil && len(r.Days) == 1 && r.Days[0].Units == 1
	})
	var journalled int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM reporting.journal`).Scan(&journalled); err != nil || journalled != 1 {
		t.Errorf("%d journal entries (%v), want only the good event's", journalled, err)
	}
}
