package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func placed(t *testing.T) *Order {
	t.Helper()
	o, err := NewOrder("o1", "u1", "u@example.com", []Item{
		{ProductID: "p1", SKU: "A", Name: "Beans", Quantity: 2, UnitPrice: 1250},
		{ProductID: "p2", SKU: "B", Name: "Mug", Quantity: 1, UnitPrice: 900},
	}, "EUR", "tok", "4242", t0)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestNewOrderTotalsAndRefusesAnEmptyCart(t *testing.T) {
	o := placed(t)
	if o.Total() != 3400 || o.Status() != StatusPlaced || len(o.Timeline()) != 1 || o.Timeline()[0].Detail != "2 item(s), 34.00 EUR" {
		t.Errorf("order = %+v", o)
	}
	if _, err := NewOrder("o2", "u1", "e", nil, "EUR", "t", "1", t0); !errs.Is(err, errs.KindConflict) {
		t.Errorf("empty order: %v, want conflict", err)
	}
}

func TestCancelAndShipFollowTheStatus(t *testing.T) {
	for _, tc := range []struct {
		name              string
		prepare           func(*Order)
		cancelOK, changed bool
	}{
		{"placed", func(*Order) {}, true, true},
		{"stock reserved", func(o *Order) { o.StockReserved(t0) }, true, true},
		{"confirmed", func(o *Order) { o.StockReserved(t0); o.Confirm(t0) }, true, true},
		{"rejected", func(o *Order) { o.Reject("not enough stock", t0) }, false, false},
		{"failed", func(o *Order) { o.StockReserved(t0); o.PaymentRejected("declined", t0) }, false, false},
		{"cancelled", func(o *Order) { _, _ = o.Cancel("x", t0) }, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := placed(t)
			tc.prepare(o)
			changed, err := o.Cancel("cancelled by the customer", t0)
			if (err == nil) != tc.cancelOK || changed != tc.changed {
				t.Errorf("Cancel = %v, %v; want ok %v, changed %v", changed, err, tc.cancelOK, tc.changed)
			}
		})
	}
	o := placed(t)
	o.StockReserved(t0)
	o.Confirm(t0)
	if _, err := o.Ship(t0); !errs.Is(err, errs.KindConflict) {
		t.Errorf("shipping before capture: %v, want conflict", err)
	}
	o.StockCommitted(t0)
	o.PaymentCaptured(t0)
	if changed, err := o.Ship(t0); err != nil || !changed || o.Status() != StatusShipped {
		t.Errorf("Ship = %v, %v (%s)", changed, err, o.Status())
	}
	if changed, err := o.Ship(t0); err != nil || changed {
		t.Errorf("second Ship = %v, %v; want unchanged", changed, err)
	}
	if _, err := o.Cancel("late", t0); !errs.Is(err, errs.KindConflict) {
		t.Errorf("cancelling a shipped order: %v, want conflict", err)
	}
}

func TestTimelineRecordsEveryStepOnce(t *testing.T) {
	o := placed(t)
	o.MarkSaved()
	o.StockReserved(t0)
	o.Confirm(t0)
	first, steps := o.NewSteps()
	if first != 1 || len(steps) != 3 || steps[0].Step != StepStockReserved || steps[2].Step != StepConfirmed {
		t.Errorf("new steps from %d: %+v", first, steps)
	}
	o.MarkSaved()
	if _, steps := o.NewSteps(); len(steps) != 0 {
		t.Errorf("after saving: %+v", steps)
	}
}

func TestShortageReasonNamesProducts(t *testing.T) {
	got := shortageReason(placed(t), []Shortage{{ProductID: "p1", Requested: 2, Available: 1}})
	if got != "not enough stock: Beans (2 wanted, 1 available)" {
		t.Errorf("reason = %q", got)
	}
}

func TestIdempotencyKeyAndCursor(t *testing.T) {
	for key, ok := range map[string]bool{"k": true, "": false, strings.Repeat("k", 201): false, "tab\there": false, "é": false} {
		if err := checkKey(key); (err == nil) != ok {
			t.Errorf("checkKey(%q) = %v", key, err)
		}
	}
	if requestHash("4242 4242 4242 4242") != requestHash("4242-4242-4242-4242") || requestHash("4242") == requestHash("4243") ||
		requestHash("4242424242424242") == requestHash("4000000000000002") {
		t.Error("request hash does not follow the card's digits")
	}
	// Only the truncated number counts: the digits between the first six
	// and the last four never reach the stored hash.
	if requestHash("4242424242424242") != requestHash("4242429999994242") {
		t.Error("request hash depends on the middle digits of the card number")
	}
	c := Cursor{CreatedAt: t0, ID: "01a2012c-0f51-77c7-8c04-1740484e9534"}
	got, err := decodeCursor(encodeCursor(c))
	if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Errorf("cursor round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{"x", encodeCursor(Cursor{CreatedAt: t0, ID: "not-a-uuid"})} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for minor, want := range map[int64]string{0: "0.00 EUR", 5: "0.05 EUR", 3400: "34.00 EUR", -150: "-1.50 EUR"} {
		if got := FormatMoney(minor, "EUR"); got != want {
			t.Errorf("FormatMoney(%d) = %q, want %q", minor, got, want)
		}
	}
}
