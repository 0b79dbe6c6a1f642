package inventorytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

// Contract runs the behavioural suite of inventory.API against api. It uses
// fresh random product and reservation ids, so it can run again and again
// on the same database. Expiry needs a clock the suite cannot move; the
// module's own tests cover it.
func Contract(t *testing.T, api inventory.API) {
	t.Helper()
	c := &contract{api: api}
	t.Run("authorization", c.authorization)
	t.Run("validation", c.validation)
	t.Run("availability", c.availability)
	t.Run("set and adjust", c.setAndAdjust)
	t.Run("reserve and commit", c.reserveAndCommit)
	t.Run("reserve and release", c.reserveAndRelease)
	t.Run("release committed", c.releaseCommitted)
	t.Run("shortages", c.shortages)
	t.Run("idempotency", c.idempotency)
	t.Run("concurrent duplicates", c.concurrentDuplicates)
	t.Run("tombstone", c.tombstone)
	t.Run("not found", c.notFound)
}

type contract struct{ api inventory.API }

func anonymous() context.Context { return context.Background() }

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-admin", Role: auth.RoleAdmin})
}

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-customer", Role: auth.RoleCustomer})
}

// service is a module acting on its own behalf, as the orders saga does.
func service() context.Context { return auth.AsService(context.Background(), "orders") }

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	errstest.Kind(t, err, errs.KindInvalid)
	var e *errs.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			if f.Field == field {
				return
			}
		}
	}
	t.Fatalf("err = %v, want field %q", err, field)
}

// must turns a (value, error) result into the value, failing the test on an
// error: must(call())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newID() string { return "order-" + uuid.NewString() }

// stocked returns a new product with onHand units on hand.
func (c *contract) stocked(t *testing.T, onHand int) string {
	t.Helper()
	p := uuid.NewString()
	must(c.api.SetStock(admin(), p, onHand))(t)
	return p
}

func (c *contract) level(t *testing.T, productID string) inventory.StockLevel {
	t.Helper()
	ls := must(c.api.Availability(anonymous(), []string{productID}))(t)
	if len(ls) != 1 {
		t.Fatalf("Availability of one product = %+v", ls)
	}
	return ls[0]
}

func (c *contract) wantLevel(t *testing.T, productID string, onHand, reserved int) {
	t.Helper()
	l := c.level(t, productID)
	if l.OnHand != onHand || l.Reserved != reserved || l.Available != onHand-reserved {
		t.Fatalf("level of %s = %+v, want on hand %d, reserved %d, available %d", productID, l, onHand, reserved, onHand-reserved)
	}
}

func (c *contract) reserve(t *testing.T, id string, lines ...inventory.Line) inventory.Reservation {
	t.Helper()
	return must(c.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: lines}))(t)
}

func line(productID string, q int) inventory.Line {
	return inventory.Line{ProductID: productID, Quantity: q}
}

func wantStatus(t *testing.T, r inventory.Reservation, status string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("reservation %s is %s, want %s (%+v)", r.ID, r.Status, status, r)
	}
}

// same compares what a repeated call must return unchanged.
func same(a, b inventory.Reservation) bool {
	return a.ID == b.ID && a.Status == b.Status && fmt.Sprint(a.Lines) == fmt.Sprint(b.Lines) &&
		fmt.Sprint(a.Shortages) == fmt.Sprint(b.Shortages) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func (c *contract) authorization(t *testing.T) {
	p := c.stocked(t, 5)
	held := c.reserve(t, newID(), line(p, 1))
	// Each call would succeed for a permitted caller.
	calls := map[string]func(ctx context.Context) error{
		"SetStock": func(ctx context.Context) error {
			_, err := c.api.SetStock(ctx, p, 9)
			return err
		},
		"AdjustStock": func(ctx context.Context) error {
			_, err := c.api.AdjustStock(ctx, p, 1)
			return err
		},
		"Reserve": func(ctx context.Context) error {
			_, err := c.api.Reserve(ctx, inventory.ReserveRequest{ID: newID(), Lines: []inventory.Line{line(p, 1)}})
			return err
		},
		"Commit": func(ctx context.Context) error {
			_, err := c.api.Commit(ctx, held.ID)
			return err
		},
		"Release": func(ctx context.Context) error {
			_, err := c.api.Release(ctx, held.ID)
			return err
		},
		"Reservation": func(ctx context.Context) error {
			_, err := c.api.Reservation(ctx, held.ID)
			return err
		},
	}
	operatorOnly := map[string]bool{"SetStock": true, "AdjustStock": true}
	for name, call := range calls {
		errstest.Kind(t, call(anonymous()), errs.KindUnauthenticated)
		errstest.Kind(t, call(customer()), errs.KindForbidden)
		if operatorOnly[name] {
			errstest.Kind(t, call(service()), errs.KindForbidden)
		}
	}
	// Nothing the refused calls asked for happened.
	c.wantLevel(t, p, 5, 1)
	wantStatus(t, must(c.api.Reservation(service(), held.ID))(t), inventory.StatusHeld)
	for _, ctx := range []context.Context{anonymous(), customer()} {
		if _, err := c.api.Availability(ctx, []string{p}); err != nil {
			t.Errorf("Availability is public, got %v", err)
		}
	}
	// Admins may do what modules do.
	if _, err := c.api.Reservation(admin(), held.ID); err != nil {
		t.Errorf("admin Reservation: %v", err)
	}
	wantStatus(t, must(c.api.Release(admin(), held.ID))(t), inventory.StatusReleased)
}

func (c *contract) validation(t *testing.T) {
	p := c.stocked(t, 5)
	c.reserve(t, newID(), line(p, 3))
	tooMany := make([]string, 101) // one more than a call may name
	for i := range tooMany {
		tooMany[i] = uuid.NewString()
	}
	for name, ids := range map[string][]string{"none": nil, "101": tooMany, "not a UUID": {p, "nope"}} {
		_, err := c.api.Availability(anonymous(), ids)
		t.Run("Availability "+name, func(t *testing.T) { wantField(t, err, "product_ids") })
	}

	for _, tc := range []struct {
		name, productID string
		onHand          int
		field           string
	}{
		{"malformed product", "nope", 1, "product_id"},
		{"negative", p, -1, "on_hand"},
		{"too many", p, 1_000_001, "on_hand"},
		{"below reserved", p, 2, "on_hand"},
	} {
		_, err := c.api.SetStock(admin(), tc.productID, tc.onHand)
		t.Run("SetStock "+tc.name, func(t *testing.T) { wantField(t, err, tc.field) })
	}
	for _, tc := range []struct {
		name, productID string
		delta           int
		field           string
	}{
		{"malformed product", "nope", 1, "product_id"},
		{"zero", p, 0, "delta"},
		{"negative result", p, -6, "delta"},
		{"too many", p, 1_000_000, "delta"},
		{"below reserved", p, -3, "delta"},
	} {
		_, err := c.api.AdjustStock(admin(), tc.productID, tc.delta)
		t.Run("AdjustStock "+tc.name, func(t *testing.T) { wantField(t, err, tc.field) })
	}
	c.wantLevel(t, p, 5, 3) // no refused change landed

	hundredOne := make([]inventory.Line, 101)
	for i := range hundredOne {
		hundredOne[i] = line(uuid.NewString(), 1)
	}
	ok := []inventory.Line{line(p, 1)}
	for _, tc := range []struct {
		name  string
		req   inventory.ReserveRequest
		field string
	}{
		{"empty id", inventory.ReserveRequest{Lines: ok}, "id"},
		{"id with a space", inventory.ReserveRequest{ID: "order 1", Lines: ok}, "id"},
		{"id with a slash", inventory.ReserveRequest{ID: "order/1", Lines: ok}, "id"},
		{"long id", inventory.ReserveRequest{ID: strings.Repeat("x", 129), Lines: ok}, "id"},
		{"no lines", inventory.ReserveRequest{ID: newID()}, "lines"},
		{"101 lines", inventory.ReserveRequest{ID: newID(), Lines: hundredOne}, "lines"},
		{"repeated product", inventory.ReserveRequest{ID: newID(), Lines: []inventory.Line{line(p, 1), line(strings.ToUpper(p), 1)}}, "lines"},
		{"malformed product", inventory.ReserveRequest{ID: newID(), Lines: []inventory.Line{line(p, 1), line("nope", 1)}}, "lines[1].product_id"},
		{"zero quantity", inventory.ReserveRequest{ID: newID(), Lines: []inventory.Line{line(p, 0)}}, "lines[0].quantity"},
		{"quantity above 1000", inventory.ReserveRequest{ID: newID(), Lines: []inventory.Line{line(p, 1001)}}, "lines[0].quantity"},
	} {
		_, err := c.api.Reserve(service(), tc.req)
		t.Run("Reserve "+tc.name, func(t *testing.T) { wantField(t, err, tc.field) })
	}
	_, err := c.api.Release(service(), "")
	wantField(t, err, "id")
	c.wantLevel(t, p, 5, 3)
}

func (c *contract) availability(t *testing.T) {
	stocked, unstocked := c.stocked(t, 7), uuid.NewString()
	got := must(c.api.Availability(anonymous(), []string{unstocked, strings.ToUpper(stocked), unstocked}))(t)
	if len(got) != 3 {
		t.Fatalf("Availability of 3 ids = %+v", got)
	}
	if got[0].ProductID != unstocked || got[0].OnHand != 0 || got[0].Reserved != 0 || got[0].Available != 0 || got[2] != got[0] {
		t.Errorf("unstocked product = %+v, %+v; want zeros, once per request", got[0], got[2])
	}
	if got[1].ProductID != stocked || got[1].OnHand != 7 || got[1].Available != 7 || got[1].UpdatedAt.IsZero() {
		t.Errorf("stocked product = %+v, want 7 on hand under its canonical id", got[1])
	}
}

func (c *contract) setAndAdjust(t *testing.T) {
	p := uuid.NewString()
	set := must(c.api.SetStock(admin(), p, 10))(t)
	if set.ProductID != p || set.OnHand != 10 || set.Reserved != 0 || set.Available != 10 || set.UpdatedAt.IsZero() {
		t.Fatalf("SetStock = %+v", set)
	}
	if got := c.level(t, p); got != set {
		t.Errorf("Availability = %+v, want what SetStock returned %+v", got, set)
	}
	if l := must(c.api.AdjustStock(admin(), p, 5))(t); l.OnHand != 15 || l.Available != 15 {
		t.Errorf("AdjustStock +5 = %+v", l)
	}
	if l := must(c.api.AdjustStock(admin(), p, -15))(t); l.OnHand != 0 || l.Available != 0 {
		t.Errorf("AdjustStock -15 = %+v", l)
	}
	if l := must(c.api.AdjustStock(admin(), uuid.NewString(), 4))(t); l.OnHand != 4 {
		t.Errorf("AdjustStock of an unstocked product = %+v, want 4 on hand", l)
	}
	wantStatus(t, c.reserve(t, newID(), line(p, 1)), inventory.StatusRejected) // nothing on hand
	c.wantLevel(t, p, 0, 0)
	must(c.api.SetStock(admin(), p, 3))(t)
	c.reserve(t, newID(), line(p, 2))
	if l := must(c.api.SetStock(admin(), p, 2))(t); l.OnHand != 2 || l.Reserved != 2 || l.Available != 0 {
		t.Errorf("SetStock down to what is reserved = %+v", l)
	}
}

func (c *contract) reserveAndCommit(t *testing.T) {
	p, q := c.stocked(t, 10), c.stocked(t, 4)
	id := newID()
	r := c.reserve(t, id, line(q, 4), line(p, 3))
	wantStatus(t, r, inventory.StatusHeld)
	if r.ID != id || fmt.Sprint(r.Lines) != fmt.Sprint([]inventory.Line{line(q, 4), line(p, 3)}) || len(r.Shortages) != 0 {
		t.Errorf("Reserve = %+v, want the request's lines in its order and no shortages", r)
	}
	if r.CreatedAt.IsZero() || !r.ExpiresAt.After(r.CreatedAt) {
		t.Errorf("Reserve times: created %v, expires %v", r.CreatedAt, r.ExpiresAt)
	}
	c.wantLevel(t, p, 10, 3)
	c.wantLevel(t, q, 4, 4)
	if got := must(c.api.Reservation(service(), id))(t); !same(got, r) {
		t.Errorf("Reservation = %+v, want %+v", got, r)
	}

	committed := must(c.api.Commit(service(), id))(t)
	wantStatus(t, committed, inventory.StatusCommitted)
	if fmt.Sprint(committed.Lines) != fmt.Sprint(r.Lines) || !committed.CreatedAt.Equal(r.CreatedAt) {
		t.Errorf("Commit = %+v, want the reservation %+v", committed, r)
	}
	c.wantLevel(t, p, 7, 0)
	c.wantLevel(t, q, 0, 0)
	if again := must(c.api.Commit(service(), id))(t); !same(again, committed) {
		t.Errorf("second Commit = %+v, want the first answer %+v", again, committed)
	}
	c.wantLevel(t, p, 7, 0)
}

func (c *contract) reserveAndRelease(t *testing.T) {
	p := c.stocked(t, 5)
	id := newID()
	c.reserve(t, id, line(p, 5))
	c.wantLevel(t, p, 5, 5)
	released := must(c.api.Release(service(), id))(t)
	wantStatus(t, released, inventory.StatusReleased)
	c.wantLevel(t, p, 5, 0)
	if again := must(c.api.Release(service(), id))(t); !same(again, released) {
		t.Errorf("second Release = %+v, want %+v", again, released)
	}
	c.wantLevel(t, p, 5, 0)
	_, err := c.api.Commit(service(), id)
	errstest.Kind(t, err, errs.KindConflict)
	// The released stock serves the next order.
	wantStatus(t, c.reserve(t, newID(), line(p, 5)), inventory.StatusHeld)
}

func (c *contract) releaseCommitted(t *testing.T) {
	p := c.stocked(t, 6)
	id := newID()
	c.reserve(t, id, line(p, 2))
	must(c.api.Commit(service(), id))(t)
	c.wantLevel(t, p, 4, 0)
	wantStatus(t, must(c.api.Release(service(), id))(t), inventory.StatusReleased)
	c.wantLevel(t, p, 6, 0) // returned to on hand
	must(c.api.Release(service(), id))(t)
	c.wantLevel(t, p, 6, 0) // once
}

func (c *contract) shortages(t *testing.T) {
	plenty, scarce, none := c.stocked(t, 5), c.stocked(t, 1), uuid.NewString()
	id := newID()
	r := c.reserve(t, id, line(plenty, 2), line(scarce, 3), line(none, 1))
	wantStatus(t, r, inventory.StatusRejected)
	want := []inventory.Shortage{
		{ProductID: scarce, Requested: 3, Available: 1},
		{ProductID: none, Requested: 1, Available: 0},
	}
	if fmt.Sprint(r.Shortages) != fmt.Sprint(want) {
		t.Errorf("shortages = %+v, want %+v", r.Shortages, want)
	}
	if len(r.Lines) != 3 {
		t.Errorf("a rejection keeps its lines: %+v", r.Lines)
	}
	c.wantLevel(t, plenty, 5, 0) // all or nothing
	c.wantLevel(t, scarce, 1, 0)
	if got := must(c.api.Reservation(admin(), id))(t); !same(got, r) {
		t.Errorf("Reservation = %+v, want %+v", got, r)
	}
	_, err := c.api.Commit(service(), id)
	errstest.Kind(t, err, errs.KindConflict)
	if got := must(c.api.Release(service(), id))(t); !same(got, r) {
		t.Errorf("Release of a rejection = %+v, want it unchanged %+v", got, r)
	}
	// A rejection is the answer for good, even once the stock is there.
	must(c.api.SetStock(admin(), scarce, 10))(t)
	must(c.api.SetStock(admin(), none, 10))(t)
	if again := c.reserve(t, id, line(plenty, 2), line(scarce, 3), line(none, 1)); !same(again, r) {
		t.Errorf("repeated Reserve = %+v, want the first answer %+v", again, r)
	}
	c.wantLevel(t, scarce, 10, 0)
}

func (c *contract) idempotency(t *testing.T) {
	p, q := c.stocked(t, 10), c.stocked(t, 10)
	id := newID()
	first := c.reserve(t, id, line(p, 2), line(q, 1))
	for _, lines := range [][]inventory.Line{
		{line(p, 2), line(q, 1)},
		{line(q, 1), line(p, 2)}, // the same lines in another order
	} {
		if again := c.reserve(t, id, lines...); !same(again, first) {
			t.Errorf("repeated Reserve = %+v, want the first answer %+v", again, first)
		}
	}
	c.wantLevel(t, p, 10, 2)
	for _, lines := range [][]inventory.Line{
		{line(p, 3), line(q, 1)},
		{line(p, 2)},
		{line(p, 2), line(q, 1), line(uuid.NewString(), 1)},
	} {
		_, err := c.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: lines})
		errstest.Kind(t, err, errs.KindConflict)
	}
	c.wantLevel(t, p, 10, 2)
	c.wantLevel(t, q, 10, 1)
}

// concurrentDuplicates: retries racing each other hold the stock once and
// all get the same answer.
func (c *contract) concurrentDuplicates(t *testing.T) {
	p := c.stocked(t, 10)
	id := newID()
	const n = 20
	var (
		wg       sync.WaitGroup
		answers  [n]inventory.Reservation
		failures [n]error
	)
	for i := range n {
		wg.Go(func() {
			answers[i], failures[i] = c.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: []inventory.Line{line(p, 3)}})
		})
	}
	wg.Wait()
	for i := range n {
		if failures[i] != nil {
			t.Fatalf("Reserve %d: %v", i, failures[i])
		}
		if !same(answers[i], answers[0]) {
			t.Errorf("answer %d = %+v, want %+v", i, answers[i], answers[0])
		}
	}
	wantStatus(t, answers[0], inventory.StatusHeld)
	c.wantLevel(t, p, 10, 3)
}

func (c *contract) tombstone(t *testing.T) {
	p := c.stocked(t, 5)
	id := newID()
	released := must(c.api.Release(service(), id))(t)
	wantStatus(t, released, inventory.StatusReleased)
	if released.ID != id || released.Lines == nil || len(released.Lines) != 0 {
		t.Errorf("Release of an unknown id = %+v, want released without lines", released)
	}
	if got := must(c.api.Reservation(service(), id))(t); !same(got, released) {
		t.Errorf("Reservation = %+v, want %+v", got, released)
	}
	if again := must(c.api.Release(service(), id))(t); !same(again, released) {
		t.Errorf("second Release = %+v, want %+v", again, released)
	}
	late := c.reserve(t, id, line(p, 1))
	wantStatus(t, late, inventory.StatusRejected)
	c.wantLevel(t, p, 5, 0) // a cancelled order never takes stock
	if again := c.reserve(t, id, line(p, 1)); !same(again, late) {
		t.Errorf("repeated late Reserve = %+v, want %+v", again, late)
	}
	_, err := c.api.Reserve(service(), inventory.ReserveRequest{ID: id, Lines: []inventory.Line{line(p, 2)}})
	errstest.Kind(t, err, errs.KindConflict)
	_, err = c.api.Commit(service(), id)
	errstest.Kind(t, err, errs.KindConflict)
	c.wantLevel(t, p, 5, 0)
}

func (c *contract) notFound(t *testing.T) {
	for _, id := range []string{newID(), "", "has space", "a/b", strings.Repeat("x", 129)} {
		_, err := c.api.Commit(service(), id)
		errstest.Kind(t, err, errs.KindNotFound)
		_, err = c.api.Reservation(service(), id)
		errstest.Kind(t, err, errs.KindNotFound)
	}
}
