package domain

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNewRequest(t *testing.T) {
	t.Parallel()
	p, q := uuid.NewString(), uuid.NewString()
	ok := []LineInput{{ProductID: strings.ToUpper(p), Quantity: 2}, {ProductID: q, Quantity: 1000}}
	r, err := NewRequest("order-1", ok)
	for _, id := range []string{"0195a2b0-0000-7000-8000-00000000abcd", "order:42", "A.b_c~d"} {
		if _, err := NewRequest(id, ok); err != nil {
			t.Errorf("id %q: %v", id, err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != "order-1" || fmt.Sprint(r.ProductIDs()) != fmt.Sprint([]string{p, q}) || r.Lines()[1].Quantity() != 1000 {
		t.Errorf("request = %+v, want canonical product ids in request order", r)
	}
	many := make([]LineInput, MaxLines+1)
	for i := range many {
		many[i] = LineInput{ProductID: uuid.NewString(), Quantity: 1}
	}
	for _, tc := range []struct {
		name, id string
		lines    []LineInput
		fields   string
	}{
		{"empty id", "", ok, "id"},
		{"tab in id", "order\t1", ok, "id"},
		{"long id", strings.Repeat("x", MaxIDLength+1), ok, "id"},
		{"non-ASCII id", "bestellung-ü", ok, "id"},
		{"slash in id", "order/1", ok, "id"},
		{"no lines", "o", nil, "lines"},
		{"too many lines", "o", many, "lines"},
		{"repeated product", "o", []LineInput{{p, 1}, {strings.ToUpper(p), 2}}, "lines"},
		{"bad product and quantity", "o", []LineInput{{p, 1}, {"x", 0}}, "lines[1].product_id,lines[1].quantity"},
		{"quantity above 1000", "o", []LineInput{{p, 1001}}, "lines[0].quantity"},
		{"everything", "", nil, "id,lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewRequest(tc.id, tc.lines)
			if !errs.Is(err, errs.KindInvalid) || errstest.Fields(err) != tc.fields {
				t.Fatalf("err = %v, want invalid naming %s", err, tc.fields)
			}
		})
	}
}

func TestLevelSetAndAdjust(t *testing.T) {
	t.Parallel()
	base := RestoreLevel("p", 10, 4, now.Add(-time.Hour))
	for _, tc := range []struct {
		name   string
		change func(*Level) error
		onHand int
		field  string
	}{
		{"set", func(l *Level) error { return l.set(7, now) }, 7, ""},
		{"set to reserved", func(l *Level) error { return l.set(4, now) }, 4, ""},
		{"set to the maximum", func(l *Level) error { return l.set(MaxOnHand, now) }, MaxOnHand, ""},
		{"set below reserved", func(l *Level) error { return l.set(3, now) }, 10, "on_hand"},
		{"set negative", func(l *Level) error { return l.set(-1, now) }, 10, "on_hand"},
		{"set above the maximum", func(l *Level) error { return l.set(MaxOnHand+1, now) }, 10, "on_hand"},
		{"add", func(l *Level) error { return l.adjust(5, now) }, 15, ""},
		{"take to reserved", func(l *Level) error { return l.adjust(-6, now) }, 4, ""},
		{"take below reserved", func(l *Level) error { return l.adjust(-7, now) }, 10, "delta"},
		{"take below zero", func(l *Level) error { return l.adjust(-11, now) }, 10, "delta"},
		{"zero", func(l *Level) error { return l.adjust(0, now) }, 10, "delta"},
		{"above the maximum", func(l *Level) error { return l.adjust(MaxOnHand, now) }, 10, "delta"},
		{"add past the largest int", func(l *Level) error { return l.adjust(math.MaxInt, now) }, 10, "delta"},
		{"take past the smallest int", func(l *Level) error { return l.adjust(math.MinInt, now) }, 10, "delta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := base
			err := tc.change(&l)
			if tc.field != "" {
				if !errs.Is(err, errs.KindInvalid) || errstest.Fields(err) != tc.field || l != base {
					t.Fatalf("err = %v, level %+v; want invalid %s and the level unchanged", err, l, tc.field)
				}
				return
			}
			if err != nil || l.OnHand() != tc.onHand || l.Reserved() != 4 || !l.UpdatedAt().Equal(now) {
				t.Fatalf("level = %+v, %v; want %d on hand", l, err, tc.onHand)
			}
		})
	}
}

// A delta no level could take is refused as out of range, not described by
// the sum it would make (which wraps around past the int's limits).
func TestAnAdjustmentBeyondAnyLevelIsOutOfRange(t *testing.T) {
	t.Parallel()
	for _, delta := range []int{math.MaxInt, math.MinInt, MaxOnHand + 1, -MaxOnHand - 1} {
		l := RestoreLevel("p", 10, 4, now)
		err := l.adjust(delta, now)
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "must be between -1000000 and 1000000") {
			t.Errorf("adjust(%d) = %v, want delta out of range", delta, err)
		}
	}
}

// TestLevelMovesKeepTheInvariant: a movement that would break 0 ≤ reserved
// ≤ on hand is refused as internal (stored data disagreeing with itself),
// never applied.
func TestLevelMovesKeepTheInvariant(t *testing.T) {
	t.Parallel()
	for name, move := range map[string]func(*Level) error{
		"hold more than available": func(l *Level) error { return l.hold(7, now) },
		"take more than held":      func(l *Level) error { return l.take(5, now) },
		"free more than held":      func(l *Level) error { return l.free(5, now) },
		"take held stock as free":  func(l *Level) error { return l.takeAvailable(7, now) },
	} {
		l := RestoreLevel("p", 10, 4, now)
		if err := move(&l); !errs.Is(err, errs.KindInternal) || l.OnHand() != 10 || l.Reserved() != 4 {
			t.Errorf("%s: %v, level %+v", name, err, l)
		}
	}
}

func request(t *testing.T, id string, lines ...LineInput) Request {
	t.Helper()
	r, err := NewRequest(id, lines)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReserveIsAllOrNothing(t *testing.T) {
	t.Parallel()
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	levels := []Level{RestoreLevel(a, 5, 0, now), RestoreLevel(b, 3, 2, now)}

	ledger := NewLedger(levels)
	r, err := reserve(request(t, "short", LineInput{a, 5}, LineInput{b, 2}, LineInput{c, 1}), ledger, now, time.Minute)
	if err != nil || r.Status() != StatusRejected || len(ledger.Changed()) != 0 || !r.ExpiresAt().IsZero() {
		t.Fatalf("reserve = %+v, %v; changed %v", r, err, ledger.Changed())
	}
	want := []Shortage{{b, 2, 1}, {c, 1, 0}}
	if fmt.Sprint(r.Shortages()) != fmt.Sprint(want) {
		t.Errorf("shortages = %v, want %v", r.Shortages(), want)
	}

	ledger = NewLedger(levels)
	r, err = reserve(request(t, "fits", LineInput{b, 1}, LineInput{a, 5}), ledger, now, time.Minute)
	if err != nil || r.Status() != StatusHeld || !r.ExpiresAt().Equal(now.Add(time.Minute)) {
		t.Fatalf("reserve = %+v, %v", r, err)
	}
	changed := ledger.Changed()
	if len(changed) != 2 || changed[0].ProductID() > changed[1].ProductID() {
		t.Fatalf("changed = %v, want both, in product order", changed)
	}
	if ledger.Level(a).Reserved() != 5 || ledger.Level(b).Reserved() != 3 {
		t.Errorf("levels after the hold: %+v, %+v", ledger.Level(a), ledger.Level(b))
	}
}

func TestReservationTransitions(t *testing.T) {
	t.Parallel()
	p := uuid.NewString()
	held := func(onHand, reserved int) (Reservation, *Ledger) {
		ledger := NewLedger([]Level{RestoreLevel(p, onHand, reserved, now)})
		r := RestoreReservation(ReservationRecord{ID: "r", Status: StatusHeld, Lines: []Line{NewLine(p, 2)}})
		return r, ledger
	}
	later := now.Add(time.Minute)

	r, ledger := held(5, 2)
	if err := r.commit(ledger, later); err != nil || r.Status() != StatusCommitted || ledger.Level(p) != RestoreLevel(p, 3, 0, later) {
		t.Errorf("commit held: %v, %+v, %+v", err, r, ledger.Level(p))
	}
	reason, err := r.release(ledger, later)
	if err != nil || reason != ReasonReturned || ledger.Level(p).OnHand() != 5 {
		t.Errorf("release committed: %v, %s, %+v", err, reason, ledger.Level(p))
	}

	r, ledger = held(5, 2)
	reason, err = r.release(ledger, later)
	if err != nil || reason != ReasonReleased || r.Status() != StatusReleased || ledger.Level(p) != RestoreLevel(p, 5, 0, later) {
		t.Errorf("release held: %v, %s, %+v", err, reason, ledger.Level(p))
	}

	r, ledger = held(5, 2)
	if err := r.expire(ledger, later); err != nil || r.Status() != StatusExpired || ledger.Level(p).Reserved() != 0 {
		t.Errorf("expire: %v, %+v", err, ledger.Level(p))
	}
	// The freed stock went to someone else: committing is a conflict.
	ledger = NewLedger([]Level{RestoreLevel(p, 5, 4, later)})
	if err := r.commit(ledger, later); !errs.Is(err, errs.KindConflict) || r.Status() != StatusExpired || len(ledger.Changed()) != 0 {
		t.Errorf("commit expired without stock: %v, %+v", err, r)
	}
	ledger = NewLedger([]Level{RestoreLevel(p, 5, 3, later)})
	if err := r.commit(ledger, later); err != nil || r.Status() != StatusCommitted || ledger.Level(p) != RestoreLevel(p, 3, 3, later) {
		t.Errorf("commit expired with stock: %v, %+v", err, ledger.Level(p))
	}
}

func TestTombstone(t *testing.T) {
	t.Parallel()
	p := uuid.NewString()
	ts := Tombstone("r", now)
	if !ts.IsTombstone() || ts.Status() != StatusReleased || len(ts.Lines()) != 0 {
		t.Fatalf("tombstone = %+v", ts)
	}
	req := request(t, "r", LineInput{p, 1})
	ts.rejectLate(req, now.Add(time.Second))
	if ts.IsTombstone() || ts.Status() != StatusRejected || !ts.sameLines(req) {
		t.Fatalf("late reserve = %+v", ts)
	}
	if ts.sameLines(request(t, "r", LineInput{p, 2})) {
		t.Error("different quantities count as the same lines")
	}
}
