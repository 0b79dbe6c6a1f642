package inventorymodule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorytest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

var discard = slog.New(slog.DiscardHandler)

// clock is a time the test moves by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// shop is the inventory module on a fresh database, with an event bus that
// is not started (tests read the outbox).
type shop struct {
	cfg   config.Config
	dbs   *kernel.Databases
	clock *clock
	inv   *inventorymodule.Module
	api   inventory.API
}

func newShop(t *testing.T) *shop {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "inventory")
	bus, err := events.NewBus(cfg, discard, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	m, err := inventorymodule.NewWithClock(context.Background(), dbs, discard, cfg.Inventory, bus, c.now)
	if err != nil {
		t.Fatalf("new inventory module: %v", err)
	}
	return &shop{cfg: cfg, dbs: dbs, clock: c, inv: m, api: m.API()}
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "op", Role: auth.RoleAdmin})
}

func service() context.Context { return auth.AsService(context.Background(), "orders") }

func (s *shop) stock(t *testing.T, onHand int) string {
	t.Helper()
	p := uuid.NewString()
	if _, err := s.api.SetStock(admin(), p, onHand); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *shop) level(t *testing.T, productID string) inventory.StockLevel {
	t.Helper()
	ls, err := s.api.Availability(context.Background(), []string{productID})
	if err != nil {
		t.Fatal(err)
	}
	return ls[0]
}

func (s *shop) wantLevel(t *testing.T, productID string, onHand, reserved int) {
	t.Helper()
	if l := s.level(t, productID); l.OnHand != onHand || l.Reserved != reserved {
		t.Fatalf("level = %+v, want on hand %d, reserved %d", l, onHand, reserved)
	}
}

func (s *shop) reserve(t *testing.T, id string, lines ...inventory.Line) inventory.Reservation {
	t.Helper()
	r, err := s.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: lines})
	if err != nil {
		t.Fatalf("Reserve %s: %v", id, err)
	}
	return r
}

func line(productID string, q int) inventory.Line {
	return inventory.Line{ProductID: productID, Quantity: q}
}

// outbox decodes the events of E's type the module recorded, in order.
func outbox[E events.Event](t *testing.T, s *shop, key string) []E {
	t.Helper()
	var zero E
	var payloads [][]byte
	err := s.inv.DB().Gorm.Raw(`SELECT payload FROM event_outbox WHERE type = ? AND key = ? ORDER BY seq`,
		zero.EventType(), key).Scan(&payloads).Error
	if err != nil {
		t.Fatal(err)
	}
	out := make([]E, len(payloads))
	for i, p := range payloads {
		if err := json.Unmarshal(p, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	inventorytest.Contract(t, s.api)
	// The suite must hold on a database it has already written to.
	t.Run("again", func(t *testing.T) { inventorytest.Contract(t, s.api) })
}

func TestDescriptor(t *testing.T) {
	t.Parallel()
	d := inventorymodule.Descriptor()
	if d.Name != "inventory" || d.Summary != "stock per product and reservations for orders" || !slices.Equal(d.DependsOn, []string{"catalog"}) {
		t.Fatalf("descriptor = %+v", d)
	}
	s := newShop(t)
	if s.inv.Descriptor().Name != "inventory" {
		t.Errorf("module descriptor = %+v", s.inv.Descriptor())
	}
	if err := s.inv.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReservesNeverOversell: 500 orders of one unit each race for
// the last 10 units through the module's 8 connections. Exactly 10 hold
// stock, the other 490 are rejected, none fails, and the level and the
// stored reservations agree.
func TestConcurrentReservesNeverOversell(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	p := s.stock(t, 10)
	const n = 500
	results := make([]inventory.Reservation, n)
	failures := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], failures[i] = s.api.Reserve(service(), inventory.ReserveRequest{
				ID: fmt.Sprintf("order-%03d", i), Lines: []inventory.Line{line(p, 1)}})
		})
	}
	wg.Wait()
	count := map[string]int{}
	for i, r := range results {
		if failures[i] != nil {
			t.Fatalf("Reserve %d: %v", i, failures[i])
		}
		count[r.Status]++
	}
	if count[inventory.StatusHeld] != 10 || count[inventory.StatusRejected] != 490 || len(count) != 2 {
		t.Fatalf("statuses = %v, want 10 held and 490 rejected", count)
	}
	s.wantLevel(t, p, 10, 10)
	var held, units int
	err := s.dbs.Owner().Pool().QueryRow(context.Background(), `SELECT count(DISTINCT r.id), coalesce(sum(l.quantity), 0)
		FROM inventory.reservations r JOIN inventory.reservation_lines l ON l.reservation_id = r.id
		WHERE r.status = 'held'`).Scan(&held, &units)
	if err != nil || held != 10 || units != 10 {
		t.Fatalf("stored: %d held reservations of %d units (%v), want 10 of 10", held, units, err)
	}
	// One event per hold, each with the level after it, in commit order.
	changes := outbox[inventory.StockChanged](t, s, p)
	if len(changes) != 11 { // the set, then 10 holds
		t.Fatalf("%d stock changes, want 11", len(changes))
	}
	for i, c := range changes[1:] {
		if c.Reason != "reserved" || c.Reserved != i+1 || c.Available != 10-(i+1) {
			t.Fatalf("change %d = %+v", i+1, c)
		}
	}
}

// TestConcurrentMultiLineReservesAreAllOrNothing: orders of two products,
// naming them in either order, race for 30 units of one and 50 of the
// other. Locks are taken in product order, so none deadlocks; each order
// holds both lines or neither, so exactly 30 hold.
func TestConcurrentMultiLineReservesAreAllOrNothing(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	a, b := s.stock(t, 30), s.stock(t, 50)
	const n = 120
	results := make([]inventory.Reservation, n)
	failures := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lines := []inventory.Line{line(a, 1), line(b, 1)}
		if i%2 == 1 {
			lines[0], lines[1] = lines[1], lines[0]
		}
		wg.Go(func() {
			results[i], failures[i] = s.api.Reserve(service(), inventory.ReserveRequest{ID: fmt.Sprintf("order-%d", i), Lines: lines})
		})
	}
	wg.Wait()
	held := 0
	for i, r := range results {
		if failures[i] != nil {
			t.Fatalf("Reserve %d: %v", i, failures[i])
		}
		if r.Status == inventory.StatusHeld {
			held++
		}
	}
	if held != 30 {
		t.Fatalf("%d held, want 30", held)
	}
	s.wantLevel(t, a, 30, 30)
	s.wantLevel(t, b, 50, 30)
}

// TestReleaseRacingReserve: a cancellation (Release) racing the order's own
// Reserve never leaves stock held, whichever wins: Reserve first is then
// released; Release first leaves a tombstone that rejects the Reserve.
func TestReleaseRacingReserve(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	p := s.stock(t, 1000)
	const n = 40
	var wg sync.WaitGroup
	failures := make([]error, 2*n)
	for i := range n {
		id := fmt.Sprintf("order-%d", i)
		wg.Go(func() {
			_, failures[2*i] = s.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: []inventory.Line{line(p, 1)}})
		})
		wg.Go(func() { _, failures[2*i+1] = s.api.Release(service(), id) })
	}
	wg.Wait()
	for i, err := range failures {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	s.wantLevel(t, p, 1000, 0)
	for i := range n {
		r, err := s.api.Reservation(service(), fmt.Sprintf("order-%d", i))
		if err != nil || (r.Status != inventory.StatusReleased && r.Status != inventory.StatusRejected) {
			t.Fatalf("reservation %d = %+v, %v; want released or rejected", i, r, err)
		}
	}
}

// TestExpiry moves the clock past a reservation's expiry: the sweep gives
// the stock back once, announces it, and Commit takes the stock again while
// it is there.
func TestExpiry(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	p := s.stock(t, 5)
	start := s.clock.now()
	r := s.reserve(t, "order-1", line(p, 2))
	if want := start.Add(s.cfg.Inventory.ReservationTTL); !r.ExpiresAt.Equal(want) {
		t.Fatalf("expires at %v, want %v", r.ExpiresAt, want)
	}
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt.Add(-time.Microsecond)); err != nil || n != 0 {
		t.Fatalf("sweep before expiry = %d, %v; want 0", n, err)
	}
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt); err != nil || n != 1 {
		t.Fatalf("sweep at expiry = %d, %v; want 1", n, err)
	}
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
	s.wantLevel(t, p, 5, 0)
	expired, err := s.api.Reservation(service(), "order-1")
	if err != nil || expired.Status != inventory.StatusExpired || !expired.UpdatedAt.Equal(r.ExpiresAt) {
		t.Fatalf("after the sweep: %+v, %v", expired, err)
	}
	events := outbox[inventory.ReservationExpired](t, s, "order-1")
	if len(events) != 1 || !events[0].ExpiredAt.Equal(r.ExpiresAt) || fmt.Sprint(events[0].Lines) != fmt.Sprint(r.Lines) {
		t.Fatalf("expiry events = %+v", events)
	}
	changes := outbox[inventory.StockChanged](t, s, p)
	if last := changes[len(changes)-1]; last.Reason != "expired" || last.Reserved != 0 || last.Available != 5 {
		t.Fatalf("last stock change = %+v, want expired with 5 available", last)
	}
	if again, err := s.api.Release(service(), "order-1"); err != nil || again.Status != inventory.StatusExpired {
		t.Fatalf("Release of an expired reservation = %+v, %v; want it unchanged", again, err)
	}
	s.wantLevel(t, p, 5, 0)

	// The stock is still there: Commit takes it again.
	committed, err := s.api.Commit(service(), "order-1")
	if err != nil || committed.Status != inventory.StatusCommitted {
		t.Fatalf("Commit of an expired reservation = %+v, %v", committed, err)
	}
	s.wantLevel(t, p, 3, 0)
	changes = outbox[inventory.StockChanged](t, s, p)
	if last := changes[len(changes)-1]; last.Reason != "committed" || last.OnHand != 3 {
		t.Fatalf("last stock change = %+v, want committed with 3 on hand", last)
	}
}

// TestCommitExpiredWithoutStock: once another order took the stock an
// expired reservation gave back, committing it is a conflict and changes
// nothing.
func TestCommitExpiredWithoutStock(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	p, q := s.stock(t, 4), s.stock(t, 4)
	r := s.reserve(t, "late", line(p, 1), line(q, 4))
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	s.reserve(t, "early", line(q, 1))
	_, err := s.api.Commit(service(), "late")
	if !errs.Is(err, errs.KindConflict) {
		t.Fatalf("Commit = %v, want conflict", err)
	}
	if got, _ := s.api.Reservation(service(), "late"); got.Status != inventory.StatusExpired {
		t.Fatalf("after the conflict: %+v, want still expired", got)
	}
	s.wantLevel(t, p, 4, 0) // all lines or none
	s.wantLevel(t, q, 4, 1)
}

// TestConcurrentSweepsExpireOnce: replicas sweeping at the same moment give
// each reservation's stock back once (more than one batch is due).
func TestConcurrentSweepsExpireOnce(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	p := s.stock(t, 1000)
	const n = 250
	for i := range n {
		s.reserve(t, fmt.Sprintf("order-%d", i), line(p, 2))
	}
	s.wantLevel(t, p, 1000, 2*n)
	due := s.clock.now().Add(s.cfg.Inventory.ReservationTTL)
	const sweepers = 4
	counts := make([]int, sweepers)
	failures := make([]error, sweepers)
	var wg sync.WaitGroup
	for i := range sweepers {
		wg.Go(func() { counts[i], failures[i] = s.inv.Sweep(context.Background(), due) })
	}
	wg.Wait()
	total := 0
	for i := range sweepers {
		if failures[i] != nil {
			t.Fatalf("sweeper %d: %v", i, failures[i])
		}
		total += counts[i]
	}
	if total != n {
		t.Fatalf("sweepers expired %v = %d reservations, want %d", counts, total, n)
	}
	s.wantLevel(t, p, 1000, 0)
	var events int
	if err := s.inv.DB().Pool.QueryRow(context.Background(), `SELECT count(*) FROM event_outbox WHERE type = $1`,
		inventory.ReservationExpired{}.EventType()).Scan(&events); err != nil || events != n {
		t.Fatalf("%d expiry events (%v), want %d", events, err, n)
	}
}

// TestSweepSkipsLockedReservations: a reservation another transaction holds
// (a commit in progress, or another replica's sweep) is left to it; the
// sweep neither waits for it nor expires it.
func TestSweepSkipsLockedReservations(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	p := s.stock(t, 5)
	r := s.reserve(t, "order-1", line(p, 1))
	s.reserve(t, "order-2", line(p, 1))
	tx, err := s.dbs.Owner().Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT 1 FROM inventory.reservations WHERE id = 'order-1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt); err != nil || n != 1 {
		t.Fatalf("sweep beside a locked reservation = %d, %v; want only the other one", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.inv.Sweep(ctx, r.ExpiresAt); err != nil || n != 1 {
		t.Fatalf("sweep after the lock ended = %d, %v; want 1", n, err)
	}
	s.wantLevel(t, p, 5, 0)
}

// TestWorkerExpiresInBackground: the started module sweeps by itself on
// its clock, and stops when told.
func TestWorkerExpiresInBackground(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Inventory.SweepInterval = 10 * time.Millisecond
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "inventory")
	bus, err := events.NewBus(cfg, discard, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	m, err := inventorymodule.NewWithClock(context.Background(), dbs, discard, cfg.Inventory, bus, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{cfg: cfg, dbs: dbs, clock: c, inv: m, api: m.API()}
	p := s.stock(t, 3)
	s.reserve(t, "order-1", line(p, 3))

	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	c.advance(cfg.Inventory.ReservationTTL)
	eventstest.Eventually(t, 10*time.Second, "the worker expires the reservation", func() bool {
		r, err := s.api.Reservation(service(), "order-1")
		return err == nil && r.Status == inventory.StatusExpired
	})
	s.wantLevel(t, p, 3, 0)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := m.Stop(stopCtx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestStockChangedInTheSameTransaction: every change of a level records its
// event with the level after it; refused changes and changes that change
// nothing record none.
func TestStockChangedInTheSameTransaction(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	p := uuid.NewString()
	steps := []struct {
		name string
		do   func() error
	}{
		{"set", func() error { _, err := s.api.SetStock(admin(), p, 10); return err }},
		{"same again", func() error { _, err := s.api.SetStock(admin(), p, 10); return err }},
		{"adjusted", func() error { _, err := s.api.AdjustStock(admin(), p, 2); return err }},
		{"refused", func() error {
			if _, err := s.api.AdjustStock(admin(), p, -13); !errs.Is(err, errs.KindInvalid) {
				return fmt.Errorf("AdjustStock -13 = %v, want invalid", err)
			}
			return nil
		}},
		{"reserved", func() error { _, err := s.api.Reserve(service(), reserveReq("a", p, 4)); return err }},
		{"rejected", func() error { _, err := s.api.Reserve(service(), reserveReq("b", p, 9)); return err }},
		{"committed", func() error { _, err := s.api.Commit(service(), "a"); return err }},
		{"returned", func() error { _, err := s.api.Release(service(), "a"); return err }},
		{"reserved again", func() error { _, err := s.api.Reserve(service(), reserveReq("c", p, 5)); return err }},
		{"released", func() error { _, err := s.api.Release(service(), "c"); return err }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	type level struct {
		reason                      string
		onHand, reserved, available int
	}
	want := []level{
		{"set", 10, 0, 10}, {"adjusted", 12, 0, 12}, {"reserved", 12, 4, 8}, {"committed", 8, 0, 8},
		{"returned", 12, 0, 12}, {"reserved", 12, 5, 7}, {"released", 12, 0, 12},
	}
	changes := outbox[inventory.StockChanged](t, s, p)
	got := make([]level, len(changes))
	for i, c := range changes {
		got[i] = level{c.Reason, c.OnHand, c.Reserved, c.Available}
		if c.ProductID != p || !c.ChangedAt.Equal(s.clock.now()) {
			t.Errorf("change %d = %+v", i, c)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stock changes\n got %v\nwant %v", got, want)
	}
}

func reserveReq(id, productID string, q int) inventory.ReserveRequest {
	return inventory.ReserveRequest{ID: id, Lines: []inventory.Line{line(productID, q)}}
}

// TestSeedStock stocks only products without stock, once.
func TestSeedStock(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	stocked := s.stock(t, 2)
	fresh := []string{uuid.NewString(), uuid.NewString()}
	ids := append([]string{stocked}, fresh...)
	for range 2 {
		if err := s.inv.SeedStock(ctx, ids, 7); err != nil {
			t.Fatal(err)
		}
	}
	s.wantLevel(t, stocked, 2, 0)
	for _, p := range fresh {
		s.wantLevel(t, p, 7, 0)
		if changes := outbox[inventory.StockChanged](t, s, p); len(changes) != 1 || changes[0].Reason != "set" || changes[0].OnHand != 7 {
			t.Errorf("changes of a seeded product = %+v, want one set to 7", changes)
		}
	}
	if changes := outbox[inventory.StockChanged](t, s, stocked); len(changes) != 1 {
		t.Errorf("a stocked product got %d changes, want only its own set", len(changes))
	}
	for _, bad := range []struct {
		ids    []string
		onHand int
	}{{[]string{"nope"}, 1}, {fresh, -1}, {fresh, 1_000_001}} {
		if err := s.inv.SeedStock(ctx, bad.ids, bad.onHand); err == nil {
			t.Errorf("SeedStock(%v, %d) succeeded", bad.ids, bad.onHand)
		}
	}
}

// TestConcurrentLateReservesOnATombstone: retries of a Reserve arriving
// after the order was cancelled race to turn the tombstone into a
// rejection; every one gets that same rejection, none a conflict.
func TestConcurrentLateReservesOnATombstone(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	p := s.stock(t, 10)
	// The race is won differently each time; several rounds make a lost one
	// show.
	for round := range 8 {
		id := fmt.Sprintf("cancelled-%d", round)
		if _, err := s.api.Release(service(), id); err != nil {
			t.Fatal(err)
		}
		const n = 20
		answers := make([]inventory.Reservation, n)
		failures := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { answers[i], failures[i] = s.api.Reserve(service(), reserveReq(id, p, 2)) })
		}
		wg.Wait()
		for i := range n {
			if failures[i] != nil || answers[i].Status != inventory.StatusRejected || len(answers[i].Lines) != 1 ||
				!answers[i].UpdatedAt.Equal(answers[0].UpdatedAt) {
				t.Fatalf("%s: late Reserve %d = %+v, %v; want the one rejection", id, i, answers[i], failures[i])
			}
		}
	}
	s.wantLevel(t, p, 10, 0)
}
