package domain

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// MaxOnHand bounds the quantity an operator may put on hand.
const MaxOnHand = 1_000_000

// Level is the stock of one product: OnHand units in the warehouse, of which
// Reserved are held for orders. 0 ≤ Reserved ≤ OnHand always.
type Level struct {
	productID        string
	onHand, reserved int
	updatedAt        time.Time // zero for a product nobody stocked
}

// ZeroLevel is the level of a product nobody stocked.
func ZeroLevel(productID string) Level { return Level{productID: productID} }

// RestoreLevel rebuilds a stored level; the store is trusted.
func RestoreLevel(productID string, onHand, reserved int, updatedAt time.Time) Level {
	return Level{productID: productID, onHand: onHand, reserved: reserved, updatedAt: updatedAt.UTC()}
}

func (l Level) ProductID() string    { return l.productID }
func (l Level) OnHand() int          { return l.onHand }
func (l Level) Reserved() int        { return l.reserved }
func (l Level) Available() int       { return l.onHand - l.reserved }
func (l Level) UpdatedAt() time.Time { return l.updatedAt }

// set puts onHand units on hand. KindInvalid names on_hand.
func (l *Level) set(onHand int, now time.Time) error {
	switch {
	case onHand < 0 || onHand > MaxOnHand:
		return errs.Invalid(errs.Field("on_hand", "range", "must be between 0 and 1000000"))
	case onHand < l.reserved:
		return errs.Invalid(errs.Field("on_hand", "reserved",
			fmt.Sprintf("must not be below the %d units reserved now", l.reserved)))
	}
	l.onHand, l.updatedAt = onHand, now
	return nil
}

// adjust adds delta to the units on hand. KindInvalid names delta.
func (l *Level) adjust(delta int, now time.Time) error {
	if delta < -MaxOnHand || delta > MaxOnHand { // no level can take it (nor overflow the sum)
		return errs.Invalid(errs.Field("delta", "range", fmt.Sprintf("must be between -%d and %d", MaxOnHand, MaxOnHand)))
	}
	next := l.onHand + delta
	switch {
	case delta == 0:
		return errs.Invalid(errs.Field("delta", "nonzero", "must not be zero"))
	case next < 0:
		return errs.Invalid(errs.Field("delta", "range", fmt.Sprintf("would leave %d on hand; it must not be negative", next)))
	case next > MaxOnHand:
		return errs.Invalid(errs.Field("delta", "range", fmt.Sprintf("would leave %d on hand; at most 1000000 are allowed", next)))
	case next < l.reserved:
		return errs.Invalid(errs.Field("delta", "reserved",
			fmt.Sprintf("would leave %d on hand, below the %d units reserved now", next, l.reserved)))
	}
	l.onHand, l.updatedAt = next, now
	return nil
}

// The movements of reserved stock. Each checks the level's invariant: a
// violation means stored data disagrees with itself, which is reported as
// an internal error rather than written.

// hold reserves q available units.
func (l *Level) hold(q int, now time.Time) error {
	return l.move(0, q, now, "hold")
}

// take removes q held units from stock for good (a commit).
func (l *Level) take(q int, now time.Time) error {
	return l.move(-q, -q, now, "take")
}

// takeAvailable removes q available, unheld units (the commit of an expired
// reservation).
func (l *Level) takeAvailable(q int, now time.Time) error {
	return l.move(-q, 0, now, "take available")
}

// free makes q held units available again (a release or an expiry).
func (l *Level) free(q int, now time.Time) error {
	return l.move(0, -q, now, "free")
}

// restore puts q committed units back on hand (a committed reservation
// released).
func (l *Level) restore(q int, now time.Time) error {
	return l.move(q, 0, now, "restore")
}

func (l *Level) move(dOnHand, dReserved int, now time.Time, op string) error {
	onHand, reserved := l.onHand+dOnHand, l.reserved+dReserved
	if onHand < 0 || reserved < 0 || reserved > onHand {
		return errs.Internal(fmt.Errorf("%s on product %s: on hand %d, reserved %d would become %d, %d",
			op, l.productID, l.onHand, l.reserved, onHand, reserved), "move stock")
	}
	l.onHand, l.reserved, l.updatedAt = onHand, reserved, now
	return nil
}

// Ledger is the stock levels one transaction locked, and which of them it
// changed: the store writes back and announces exactly those.
type Ledger struct {
	levels  map[string]*Level
	changed []string
}

// NewLedger returns a ledger of the given (locked) levels. A product not
// among them has no stock row: it counts as zero of everything.
func NewLedger(levels []Level) *Ledger {
	l := &Ledger{levels: make(map[string]*Level, len(levels))}
	for _, lv := range levels {
		l.levels[lv.productID] = &lv
	}
	return l
}

// Level returns the current level of a product.
func (l *Ledger) Level(productID string) Level {
	if lv, ok := l.levels[productID]; ok {
		return *lv
	}
	return ZeroLevel(productID)
}

// change applies fn to a product's level and marks it changed when fn
// succeeds.
func (l *Ledger) change(productID string, fn func(*Level) error) error {
	lv, ok := l.levels[productID]
	if !ok {
		zero := ZeroLevel(productID)
		lv = &zero
	}
	next := *lv
	if err := fn(&next); err != nil {
		return err
	}
	*lv = next
	l.levels[productID] = lv
	if !slices.Contains(l.changed, productID) {
		l.changed = append(l.changed, productID)
	}
	return nil
}

// Changed returns the levels that changed, in product order (the order the
// store locked them in).
func (l *Ledger) Changed() []Level {
	ids := slices.Clone(l.changed)
	slices.Sort(ids)
	out := make([]Level, len(ids))
	for i, id := range ids {
		out[i] = *l.levels[id]
	}
	return out
}

// facts announces every changed level with one reason.
func (l *Ledger) facts(reason string) []any {
	changed := l.Changed()
	out := make([]any, len(changed))
	for i, lv := range changed {
		out[i] = StockChanged{Level: lv, Reason: reason}
	}
	return out
}
