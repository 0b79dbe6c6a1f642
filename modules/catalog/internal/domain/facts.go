package domain

import "time"

// Facts are what happened, as the domain sees it. A repository hands them to
// its publish function inside the transaction that made them true; the
// module's root package turns each into its public event. They are plain
// values so that the domain knows nothing of events or their encoding.

// ProductCreated: p was stored.
type ProductCreated struct{ Product Product }

// ProductUpdated: p was stored with a change (deactivation included).
type ProductUpdated struct{ Product Product }

// ProductPriceChanged: p's list price or currency changed from Old.
type ProductPriceChanged struct {
	Product Product
	Old     Money
}

// DealStarted: d began to apply (its start time passed while it was active).
type DealStarted struct{ Deal Deal }

// DealEnded: d stopped applying at EndedAt, because its end time passed or
// it was deactivated.
type DealEnded struct {
	Deal    Deal
	EndedAt time.Time
}

// productChangeFacts says what an update of before into after means. An
// update that changes nothing but the update time says nothing.
func productChangeFacts(before, after Product) []any {
	same := after
	same.updatedAt = before.updatedAt
	if same == before {
		return nil
	}
	facts := []any{ProductUpdated{Product: after}}
	if after.price != before.price {
		facts = append(facts, ProductPriceChanged{Product: after, Old: before.price})
	}
	return facts
}

// EndFact says when an announced deal stopped applying: at its end time, or
// when it was deactivated if that came first.
func EndFact(d Deal) DealEnded {
	end := d.endsAt
	if !d.active && d.updatedAt.Before(end) {
		end = d.updatedAt
	}
	return DealEnded{Deal: d, EndedAt: end}
}
