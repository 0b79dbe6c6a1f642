package domain

import "time"

// Reasons a stock level changed, as StockChanged reports them.
const (
	ReasonSet       = "set"       // an operator set the quantity on hand
	ReasonAdjusted  = "adjusted"  // an operator added or took away units
	ReasonReserved  = "reserved"  // a reservation held units
	ReasonCommitted = "committed" // a reservation took its units for good
	ReasonReleased  = "released"  // a held reservation was given back
	ReasonExpired   = "expired"   // a held reservation ran out of time
	ReasonReturned  = "returned"  // a committed reservation was given back
)

// Facts are what the service hands the store to publish in the transaction
// that made them true; the module turns them into public events.

// StockChanged says a product's level is now Level, and why.
type StockChanged struct {
	Level  Level
	Reason string
}

// ReservationExpired says the sweeper gave back a reservation's stock.
type ReservationExpired struct {
	Reservation Reservation
	At          time.Time
}
