package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Reservation statuses (the same words as the public contract).
const (
	StatusHeld      = "held"
	StatusCommitted = "committed"
	StatusReleased  = "released"
	StatusExpired   = "expired"
	StatusRejected  = "rejected"
)

// Request limits.
const (
	MaxIDLength   = 128
	MaxLines      = 100
	MaxQuantity   = 1000
	MaxProductIDs = 100
)

// Line is a quantity of one product.
type Line struct {
	productID string
	quantity  int
}

// NewLine returns a line; the store is trusted, requests go through
// NewRequest.
func NewLine(productID string, quantity int) Line {
	return Line{productID: productID, quantity: quantity}
}

func (l Line) ProductID() string { return l.productID }
func (l Line) Quantity() int     { return l.quantity }

// Shortage is a line that could not be reserved.
type Shortage struct {
	productID            string
	requested, available int
}

// NewShortage returns a shortage; used by the store.
func NewShortage(productID string, requested, available int) Shortage {
	return Shortage{productID: productID, requested: requested, available: available}
}

func (s Shortage) ProductID() string { return s.productID }
func (s Shortage) Requested() int    { return s.requested }
func (s Shortage) Available() int    { return s.available }

// LineInput is a line as a caller sends it.
type LineInput struct {
	ProductID string
	Quantity  int
}

// Request is a validated reservation request.
type Request struct {
	id    string
	lines []Line
}

// NewRequest checks a reservation request. KindInvalid names id, lines, or
// lines[i].product_id / lines[i].quantity.
func NewRequest(id string, lines []LineInput) (Request, error) {
	var f errs.Fields
	if err := checkID(id); err != nil {
		f.Add("id", "format", err.Error())
	}
	switch {
	case len(lines) == 0:
		f.Add("lines", "required", "must hold at least one line")
	case len(lines) > MaxLines:
		f.Add("lines", "max", fmt.Sprintf("must hold at most %d lines", MaxLines))
	}
	out := Request{id: id, lines: make([]Line, 0, len(lines))}
	seen := make(map[string]bool, len(lines))
	for i, in := range lines {
		u, err := uuid.Parse(in.ProductID)
		if err != nil {
			f.Add(fmt.Sprintf("lines[%d].product_id", i), "uuid", "must be a UUID")
		}
		if in.Quantity < 1 || in.Quantity > MaxQuantity {
			f.Add(fmt.Sprintf("lines[%d].quantity", i), "range", fmt.Sprintf("must be between 1 and %d", MaxQuantity))
		}
		if err != nil {
			continue
		}
		p := u.String()
		if seen[p] {
			f.Add("lines", "unique", fmt.Sprintf("name product %s more than once", p))
			continue
		}
		seen[p] = true
		out.lines = append(out.lines, Line{productID: p, quantity: in.Quantity})
	}
	if err := f.Err(); err != nil {
		return Request{}, err
	}
	return out, nil
}

func (r Request) ID() string    { return r.id }
func (r Request) Lines() []Line { return slices.Clone(r.lines) }

// ProductIDs returns the products of the request.
func (r Request) ProductIDs() []string { return productIDs(r.lines) }

// checkID accepts the ids callers use (order ids are UUIDs) and refuses
// anything that would need escaping in a URL path, where remote adapters
// and the admin route carry it.
func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("is required")
	case len(id) > MaxIDLength:
		return fmt.Errorf("must be at most %d characters", MaxIDLength)
	case strings.IndexFunc(id, func(r rune) bool { return !idRune(r) }) >= 0:
		return fmt.Errorf("may hold only letters, digits and . _ : ~ -")
	}
	return nil
}

func idRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:~-", r)
}

// ParseReservationID normalises an id naming an existing reservation; a
// malformed one names none, so it is KindNotFound.
func ParseReservationID(id string) (string, error) {
	if checkID(id) != nil {
		return "", errs.E(errs.KindNotFound, "reservation not found")
	}
	return id, nil
}

// Reservation is stock set aside (or refused) for one caller's id.
type Reservation struct {
	id, status                      string
	lines                           []Line
	shortages                       []Shortage
	expiresAt, createdAt, updatedAt time.Time
}

// ReservationRecord is a stored reservation.
type ReservationRecord struct {
	ID, Status                      string
	Lines                           []Line
	Shortages                       []Shortage
	ExpiresAt, CreatedAt, UpdatedAt time.Time // ExpiresAt zero: nothing was ever held
}

// RestoreReservation rebuilds a stored reservation; the store is trusted.
func RestoreReservation(r ReservationRecord) Reservation {
	return Reservation{
		id: r.ID, status: r.Status, lines: r.Lines, shortages: r.Shortages,
		expiresAt: utc(r.ExpiresAt), createdAt: r.CreatedAt.UTC(), updatedAt: r.UpdatedAt.UTC(),
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func (r Reservation) ID() string            { return r.id }
func (r Reservation) Status() string        { return r.status }
func (r Reservation) Lines() []Line         { return slices.Clone(r.lines) }
func (r Reservation) Shortages() []Shortage { return slices.Clone(r.shortages) }
func (r Reservation) ExpiresAt() time.Time  { return r.expiresAt }
func (r Reservation) CreatedAt() time.Time  { return r.createdAt }
func (r Reservation) UpdatedAt() time.Time  { return r.updatedAt }
func (r Reservation) ProductIDs() []string  { return productIDs(r.lines) }

// Tombstone is the record of a release that came before any reservation: a
// released reservation without lines, so that a late Reserve of the id is
// rejected (a cancelled order must never take stock).
func Tombstone(id string, now time.Time) Reservation {
	return Reservation{id: id, status: StatusReleased, createdAt: now, updatedAt: now}
}

// IsTombstone reports whether r is a release recorded before any reserve.
func (r Reservation) IsTombstone() bool { return r.status == StatusReleased && len(r.lines) == 0 }

// sameLines reports whether req asks for what r recorded, in any order.
func (r Reservation) sameLines(req Request) bool {
	if len(r.lines) != len(req.lines) {
		return false
	}
	want := make(map[string]int, len(r.lines))
	for _, l := range r.lines {
		want[l.productID] = l.quantity
	}
	for _, l := range req.lines {
		if q, ok := want[l.productID]; !ok || q != l.quantity {
			return false
		}
	}
	return true
}

// reserve decides a new reservation: every line is held when every line
// has the stock, otherwise nothing is and the reservation is rejected with
// the lines that lack it.
func reserve(req Request, ledger *Ledger, now time.Time, ttl time.Duration) (Reservation, error) {
	r := Reservation{id: req.id, lines: req.Lines(), createdAt: now, updatedAt: now}
	for _, l := range req.lines {
		if avail := ledger.Level(l.productID).Available(); avail < l.quantity {
			r.shortages = append(r.shortages, Shortage{productID: l.productID, requested: l.quantity, available: avail})
		}
	}
	if len(r.shortages) > 0 {
		r.status = StatusRejected
		return r, nil
	}
	for _, l := range req.lines {
		if err := ledger.change(l.productID, func(lv *Level) error { return lv.hold(l.quantity, now) }); err != nil {
			return Reservation{}, err
		}
	}
	r.status, r.expiresAt = StatusHeld, now.Add(ttl)
	return r, nil
}

// rejectLate turns a tombstone into the rejection of a Reserve that came
// after the release: it records the lines so a retry is recognised.
func (r *Reservation) rejectLate(req Request, now time.Time) {
	r.status, r.lines, r.updatedAt = StatusRejected, req.Lines(), now
}

// commit takes the reservation's stock for good. A held reservation takes
// what it holds; an expired one takes the stock again if it is still
// available, all lines or none (KindConflict).
func (r *Reservation) commit(ledger *Ledger, now time.Time) error {
	take := (*Level).take
	if r.status == StatusExpired {
		for _, l := range r.lines {
			if ledger.Level(l.productID).Available() < l.quantity {
				return errs.E(errs.KindConflict, "reservation %s expired and its stock is no longer available", r.id)
			}
		}
		take = (*Level).takeAvailable
	}
	for _, l := range r.lines {
		if err := ledger.change(l.productID, func(lv *Level) error { return take(lv, l.quantity, now) }); err != nil {
			return err
		}
	}
	r.status, r.updatedAt = StatusCommitted, now
	return nil
}

// release gives the stock back and says why the levels changed: held stock
// becomes available (released), committed stock returns on hand (returned).
func (r *Reservation) release(ledger *Ledger, now time.Time) (string, error) {
	give, reason := (*Level).free, ReasonReleased
	if r.status == StatusCommitted {
		give, reason = (*Level).restore, ReasonReturned
	}
	for _, l := range r.lines {
		if err := ledger.change(l.productID, func(lv *Level) error { return give(lv, l.quantity, now) }); err != nil {
			return "", err
		}
	}
	r.status, r.updatedAt = StatusReleased, now
	return reason, nil
}

// expire gives back the stock of a held reservation that ran out of time.
func (r *Reservation) expire(ledger *Ledger, now time.Time) error {
	for _, l := range r.lines {
		if err := ledger.change(l.productID, func(lv *Level) error { return lv.free(l.quantity, now) }); err != nil {
			return err
		}
	}
	r.status, r.updatedAt = StatusExpired, now
	return nil
}

func productIDs(lines []Line) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.productID
	}
	return out
}
