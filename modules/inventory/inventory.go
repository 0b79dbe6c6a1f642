package inventory

import (
	"context"
	"time"
)

// Reservation statuses.
const (
	StatusHeld      = "held"      // stock set aside until committed, released or expired
	StatusCommitted = "committed" // stock taken out of on-hand for good
	StatusReleased  = "released"  // given back (also: committed stock returned by Release)
	StatusExpired   = "expired"   // not committed in time; given back by the sweeper
	StatusRejected  = "rejected"  // not enough stock; nothing was set aside
)

// API is the stock of every product as other modules and remote adapters
// see it. Availability is public; SetStock and AdjustStock need the admin
// role; Reserve, Commit, Release and Reservation need the service role (a
// module acting on its own, auth.AsService) or admin. Without a principal
// those return KindUnauthenticated, with another role KindForbidden. Any
// method may also return KindInternal.
//
// Reserve, Commit and Release are idempotent per reservation id: a retry
// returns the first answer and changes nothing, so callers (saga steps
// retried by the event pipeline) may repeat them freely.
type API interface {
	// Availability returns one level per requested product, in request
	// order; a product nobody stocked has zero of everything. KindInvalid
	// names product_ids (empty, more than 100, or not UUIDs).
	//shop:idempotent
	Availability(ctx context.Context, productIDs []string) ([]StockLevel, error)
	// SetStock sets the quantity on hand. KindInvalid names product_id or
	// on_hand (negative, above 1,000,000, or below what is reserved now).
	SetStock(ctx context.Context, productID string, onHand int) (StockLevel, error)
	// AdjustStock adds delta (negative to take away) to the quantity on
	// hand. KindInvalid names product_id or delta (zero, or a result that
	// would be negative, above 1,000,000 or below what is reserved now).
	AdjustStock(ctx context.Context, productID string, delta int) (StockLevel, error)
	// Reserve sets aside every line or none: when any line lacks stock the
	// reservation is recorded as rejected with the shortages, and nothing is
	// held. A reservation id that was released before it was ever reserved
	// is rejected too (a cancelled order never takes stock). KindInvalid
	// names id (empty, longer than 128 characters, or holding anything but
	// letters, digits and . _ : ~ -), lines (empty, more than 100, repeated
	// product), lines[i].product_id (not a UUID) or lines[i].quantity
	// (outside 1..1000). KindConflict when the id was used with different
	// lines.
	//shop:idempotent
	Reserve(ctx context.Context, r ReserveRequest) (Reservation, error)
	// Commit takes held stock out of on-hand for good. Committing a
	// committed reservation returns it unchanged. An expired reservation is
	// committed if the stock is still there; otherwise, and for a released
	// or rejected one, KindConflict. KindNotFound for an unknown id.
	//shop:idempotent
	Commit(ctx context.Context, id string) (Reservation, error)
	// Release gives the stock back: held stock becomes available again and
	// committed stock returns to on-hand. Releasing twice, or releasing an
	// expired or rejected reservation, changes nothing. Releasing an
	// unknown id records it as released, so a later Reserve with that id is
	// rejected. KindInvalid names id when it could name no reservation
	// (see Reserve); Commit and Reservation answer such an id KindNotFound.
	//shop:idempotent
	Release(ctx context.Context, id string) (Reservation, error)
	// Reservation returns one reservation; KindNotFound.
	//shop:idempotent
	Reservation(ctx context.Context, id string) (Reservation, error)
}

// StockLevel is the stock of one product. Available = OnHand - Reserved.
type StockLevel struct {
	ProductID string    `json:"product_id"`
	OnHand    int       `json:"on_hand"`
	Reserved  int       `json:"reserved"`
	Available int       `json:"available"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReserveRequest asks to hold stock; the id is the caller's (an order id).
type ReserveRequest struct {
	ID    string `json:"id"`
	Lines []Line `json:"lines"`
}

// Line is a quantity of one product.
type Line struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// Reservation is the state of one reservation. Shortages is set when it
// was rejected for lack of stock. ExpiresAt is zero when nothing was ever
// held (rejected, or released before it was reserved); Lines is empty only
// for a reservation released before it was reserved.
type Reservation struct {
	ID        string     `json:"id"`
	Status    string     `json:"status" enum:"held,committed,released,expired,rejected"`
	Lines     []Line     `json:"lines"`
	Shortages []Shortage `json:"shortages,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Shortage is a line that could not be reserved.
type Shortage struct {
	ProductID string `json:"product_id"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

// StockChanged is published whenever a product's on-hand or reserved
// quantity changes, with the levels after the change.
type StockChanged struct {
	ProductID string    `json:"product_id"`
	OnHand    int       `json:"on_hand"`
	Reserved  int       `json:"reserved"`
	Available int       `json:"available"`
	Reason    string    `json:"reason"` // set, adjusted, reserved, committed, released, expired, returned
	ChangedAt time.Time `json:"changed_at"`
}

// EventType implements events.Event.
func (StockChanged) EventType() string { return "inventory.stock_changed.v1" }

// EventKey implements events.Event.
func (e StockChanged) EventKey() string { return e.ProductID }

// ReservationExpired is published when the sweeper gives back the stock of
// a reservation that was not committed in time.
type ReservationExpired struct {
	ReservationID string    `json:"reservation_id"`
	Lines         []Line    `json:"lines"`
	ExpiredAt     time.Time `json:"expired_at"`
}

// EventType implements events.Event.
func (ReservationExpired) EventType() string { return "inventory.reservation_expired.v1" }

// EventKey implements events.Event.
func (e ReservationExpired) EventKey() string { return e.ReservationID }
