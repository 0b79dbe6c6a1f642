package domain

// ledger is what one order's journal entries say so far: the sale counted
// for it, if any, and whether it was cancelled. Folding an order's entries
// in journal order through step is the only rule of the figures, used both
// when an event is handled and when the journal is replayed.
//
// An order counts as a sale when a confirmation is journalled and no
// cancellation is: a cancellation takes back the sale counted (from the day
// it was counted on), and a confirmation journalled after a cancellation (a
// dead-lettered confirmation replayed late) or after another confirmation
// of the same order counts for nothing. So the figures never go negative,
// even for a cancellation whose confirmation was never seen.
type ledger struct {
	sale      Sale
	counted   bool
	cancelled bool
}

// step applies the order's next fact, journalled as seq, and returns the
// change it makes to the figures, if any.
func (l *ledger) step(f Fact, seq int64) (Delta, bool) {
	switch {
	case f.cancelled:
		if l.cancelled {
			return Delta{}, false
		}
		l.cancelled = true
		if !l.counted {
			return Delta{}, false
		}
		return l.sale.delta(-1, seq), true
	case l.cancelled || l.counted:
		return Delta{}, false
	default:
		l.sale, l.counted = f.sale, true
		return f.sale.delta(+1, seq), true
	}
}
