package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// SweepBatch bounds the reservations one expiring transaction claims.
const SweepBatch = 100

// Service is the inventory's use cases. It authorizes every call itself (in
// addition to any route middleware), so that the API is safe whichever
// adapter calls it.
type Service struct {
	repo  Repository
	clock func() time.Time
	ttl   time.Duration
}

// NewService returns the service; clock is the clock and ttl how long a
// reservation holds stock before the sweeper gives it back.
func NewService(repo Repository, clock func() time.Time, ttl time.Duration) *Service {
	return &Service{repo: repo, clock: clock, ttl: ttl}
}

// now is the clock at PostgreSQL's precision, so what a call returns equals
// what it stored.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// requireOperator admits admins: KindUnauthenticated, KindForbidden.
func requireOperator(ctx context.Context) error {
	_, err := auth.RequireRole(ctx, auth.RoleAdmin)
	return err
}

// requireReserver admits modules acting on their own behalf and admins:
// KindUnauthenticated without a principal, KindForbidden for customers.
func requireReserver(ctx context.Context) error {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return err
	}
	if p.Role != auth.RoleService && p.Role != auth.RoleAdmin {
		return errs.E(errs.KindForbidden, "this needs the service or admin role")
	}
	return nil
}

// Availability returns one level per requested product, in request order;
// it needs no principal. KindInvalid names product_ids.
func (s *Service) Availability(ctx context.Context, productIDs []string) ([]Level, error) {
	ids, err := parseProductIDs(productIDs)
	if err != nil {
		return nil, err
	}
	stored, err := s.repo.Levels(ctx, ids)
	if err != nil {
		return nil, err
	}
	ledger := NewLedger(stored)
	out := make([]Level, len(ids))
	for i, id := range ids {
		out[i] = ledger.Level(id)
	}
	return out, nil
}

func parseProductIDs(in []string) ([]string, error) {
	switch {
	case len(in) == 0:
		return nil, errs.Invalid(errs.Field("product_ids", "required", "must name at least one product"))
	case len(in) > MaxProductIDs:
		return nil, errs.Invalid(errs.Field("product_ids", "max", fmt.Sprintf("must name at most %d products", MaxProductIDs)))
	}
	out := make([]string, len(in))
	for i, s := range in {
		u, err := uuid.Parse(s)
		if err != nil {
			return nil, errs.Invalid(errs.Field("product_ids", "uuid", fmt.Sprintf("must be UUIDs; %q is not", s)))
		}
		out[i] = u.String()
	}
	return out, nil
}

func parseProductID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", errs.Invalid(errs.Field("product_id", "uuid", "must be a UUID"))
	}
	return u.String(), nil
}

// SetStock sets the quantity on hand (admin). KindInvalid names product_id
// or on_hand.
func (s *Service) SetStock(ctx context.Context, productID string, onHand int) (Level, error) {
	return s.changeLevel(ctx, productID, ReasonSet, func(l *Level, now time.Time) error { return l.set(onHand, now) })
}

// AdjustStock adds delta to the quantity on hand (admin). KindInvalid names
// product_id or delta.
func (s *Service) AdjustStock(ctx context.Context, productID string, delta int) (Level, error) {
	return s.changeLevel(ctx, productID, ReasonAdjusted, func(l *Level, now time.Time) error { return l.adjust(delta, now) })
}

// changeLevel runs an operator's change of one level under its row lock and
// announces it. A change that changes nothing writes and announces nothing.
func (s *Service) changeLevel(ctx context.Context, productID, reason string, fn func(*Level, time.Time) error) (Level, error) {
	if err := requireOperator(ctx); err != nil {
		return Level{}, err
	}
	id, err := parseProductID(productID)
	if err != nil {
		return Level{}, err
	}
	now := s.now()
	var out Level
	err = s.repo.InTx(ctx, func(tx Tx) error {
		ledger, err := tx.LockLevelCreating(ctx, id, now)
		if err != nil {
			return err
		}
		before := ledger.Level(id)
		if err := ledger.change(id, func(l *Level) error { return fn(l, now) }); err != nil {
			return err
		}
		out = ledger.Level(id)
		if out.onHand == before.onHand {
			out = before
			return nil
		}
		if err := tx.SaveLevels(ctx, ledger.Changed()); err != nil {
			return err
		}
		return tx.Publish(ctx, ledger.facts(reason)...)
	})
	if err != nil {
		return Level{}, err
	}
	return out, nil
}

// Reserve holds every line or none (service or admin). A known id gets the
// stored answer: KindConflict when the lines differ, and a release recorded
// before the reserve turns into a rejection. KindInvalid names id, lines or
// lines[i].product_id / lines[i].quantity.
func (s *Service) Reserve(ctx context.Context, id string, lines []LineInput) (Reservation, error) {
	if err := requireReserver(ctx); err != nil {
		return Reservation{}, err
	}
	req, err := NewRequest(id, lines)
	if err != nil {
		return Reservation{}, err
	}
	now := s.now()
	var out Reservation
	err = s.repo.InTx(ctx, func(tx Tx) error {
		known, found, err := tx.Reservation(ctx, req.id, false)
		if err != nil {
			return err
		}
		if found {
			out, err = s.reserveAgain(ctx, tx, known, req, now)
			return err
		}
		ledger, err := tx.LockLevels(ctx, req.ProductIDs())
		if err != nil {
			return err
		}
		r, err := reserve(req, ledger, now, s.ttl)
		if err != nil {
			return err
		}
		inserted, err := tx.InsertReservation(ctx, r)
		if err != nil {
			return err
		}
		if !inserted {
			// A concurrent call with the same id committed first (the
			// insert waited for it); its answer is the answer.
			known, found, err := tx.Reservation(ctx, req.id, false)
			if err != nil {
				return err
			}
			if !found {
				return errs.Internal(fmt.Errorf("reservation %s taken but not found", req.id), "reserve stock")
			}
			out, err = s.reserveAgain(ctx, tx, known, req, now)
			return err
		}
		if err := tx.SaveLevels(ctx, ledger.Changed()); err != nil {
			return err
		}
		out = r
		return tx.Publish(ctx, ledger.facts(ReasonReserved)...)
	})
	if err != nil {
		return Reservation{}, err
	}
	return out, nil
}

// reserveAgain answers a Reserve of a known id: the stored reservation, or
// for a tombstone its rejection.
func (s *Service) reserveAgain(ctx context.Context, tx Tx, known Reservation, req Request, now time.Time) (Reservation, error) {
	if known.IsTombstone() {
		// Read again under the row lock: a concurrent Reserve may have
		// turned it into a rejection already.
		locked, found, err := tx.Reservation(ctx, req.id, true)
		switch {
		case err != nil:
			return Reservation{}, err
		case !found: // reservations are never deleted
			return Reservation{}, errs.Internal(fmt.Errorf("reservation %s vanished", req.id), "reserve stock")
		}
		if locked.IsTombstone() {
			locked.rejectLate(req, now)
			if err := tx.UpdateReservation(ctx, locked); err != nil {
				return Reservation{}, err
			}
			if err := tx.InsertLines(ctx, locked); err != nil {
				return Reservation{}, err
			}
			return locked, nil
		}
		known = locked
	}
	if !known.sameLines(req) {
		return Reservation{}, &errs.Error{Kind: errs.KindConflict,
			Message: fmt.Sprintf("reservation %s was made with other lines", req.id),
			Fields:  []errs.FieldError{errs.Field("id", "unique", "was used with different lines")}}
	}
	return known, nil
}

// Commit takes a reservation's stock for good (service or admin). A held
// reservation past its expiry that no sweep has reached yet still holds its
// stock, so it commits like any held one. KindNotFound, KindConflict.
func (s *Service) Commit(ctx context.Context, id string) (Reservation, error) {
	if err := requireReserver(ctx); err != nil {
		return Reservation{}, err
	}
	id, err := ParseReservationID(id)
	if err != nil {
		return Reservation{}, err
	}
	now := s.now()
	var out Reservation
	err = s.repo.InTx(ctx, func(tx Tx) error {
		r, found, err := tx.Reservation(ctx, id, true)
		switch {
		case err != nil:
			return err
		case !found:
			return errs.E(errs.KindNotFound, "reservation not found")
		case r.status == StatusCommitted:
			out = r
			return nil
		case r.status != StatusHeld && r.status != StatusExpired:
			return errs.E(errs.KindConflict, "reservation %s is %s and cannot be committed", id, r.status)
		}
		ledger, err := tx.LockLevels(ctx, r.ProductIDs())
		if err != nil {
			return err
		}
		if err := r.commit(ledger, now); err != nil {
			return err
		}
		out = r
		return s.save(ctx, tx, r, ledger, ReasonCommitted)
	})
	if err != nil {
		return Reservation{}, err
	}
	return out, nil
}

// Release gives a reservation's stock back (service or admin); an unknown
// id is recorded as released. KindInvalid names a malformed id.
func (s *Service) Release(ctx context.Context, id string) (Reservation, error) {
	if err := requireReserver(ctx); err != nil {
		return Reservation{}, err
	}
	if err := checkID(id); err != nil {
		return Reservation{}, errs.Invalid(errs.Field("id", "format", err.Error()))
	}
	now := s.now()
	var out Reservation
	err := s.repo.InTx(ctx, func(tx Tx) error {
		r, found, err := tx.Reservation(ctx, id, true)
		if err != nil {
			return err
		}
		if !found {
			t := Tombstone(id, now)
			inserted, err := tx.InsertReservation(ctx, t)
			if err != nil || inserted {
				out = t
				return err
			}
			// A Reserve of the id committed meanwhile: release that.
			if r, found, err = tx.Reservation(ctx, id, true); err != nil {
				return err
			} else if !found {
				return errs.Internal(fmt.Errorf("reservation %s taken but not found", id), "release stock")
			}
		}
		if r.status != StatusHeld && r.status != StatusCommitted {
			out = r // released, expired or rejected: nothing is held
			return nil
		}
		ledger, err := tx.LockLevels(ctx, r.ProductIDs())
		if err != nil {
			return err
		}
		reason, err := r.release(ledger, now)
		if err != nil {
			return err
		}
		out = r
		return s.save(ctx, tx, r, ledger, reason)
	})
	if err != nil {
		return Reservation{}, err
	}
	return out, nil
}

// save writes a changed reservation and the levels it moved, and announces
// the levels.
func (s *Service) save(ctx context.Context, tx Tx, r Reservation, ledger *Ledger, reason string) error {
	if err := tx.UpdateReservation(ctx, r); err != nil {
		return err
	}
	if err := tx.SaveLevels(ctx, ledger.Changed()); err != nil {
		return err
	}
	return tx.Publish(ctx, ledger.facts(reason)...)
}

// Reservation returns one reservation (service or admin). KindNotFound.
func (s *Service) Reservation(ctx context.Context, id string) (Reservation, error) {
	if err := requireReserver(ctx); err != nil {
		return Reservation{}, err
	}
	id, err := ParseReservationID(id)
	if err != nil {
		return Reservation{}, err
	}
	return s.repo.Reservation(ctx, id)
}

// ExpireDue gives back the stock of every held reservation whose expiry is
// at or before now, a batch per transaction, and returns how many it
// expired. Reservations another transaction has locked (being committed or
// released, or expired by another replica) are left for the next sweep.
// It is the sweeper's work, not a caller's, so it checks no principal.
func (s *Service) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Microsecond)
	total := 0
	for {
		n, err := s.expireBatch(ctx, now)
		total += n
		if err != nil || n < SweepBatch {
			return total, err
		}
	}
}

func (s *Service) expireBatch(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.repo.InTx(ctx, func(tx Tx) error {
		due, err := tx.DueReservations(ctx, now, SweepBatch)
		if err != nil || len(due) == 0 {
			return err
		}
		var products []string
		for _, r := range due {
			products = append(products, r.ProductIDs()...)
		}
		ledger, err := tx.LockLevels(ctx, products)
		if err != nil {
			return err
		}
		facts := make([]any, 0, len(due))
		for _, r := range due {
			if err := r.expire(ledger, now); err != nil {
				return err
			}
			if err := tx.UpdateReservation(ctx, r); err != nil {
				return err
			}
			facts = append(facts, ReservationExpired{Reservation: r, At: now})
		}
		if err := tx.SaveLevels(ctx, ledger.Changed()); err != nil {
			return err
		}
		n = len(due)
		return tx.Publish(ctx, append(facts, ledger.facts(ReasonExpired)...)...)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Seed puts onHand units on hand for every product that has no stock yet
// (an operator's demo data; no principal needed) and returns how many it
// stocked. Products stocked already keep their levels.
func (s *Service) Seed(ctx context.Context, productIDs []string, onHand int) (int, error) {
	if onHand < 0 || onHand > MaxOnHand {
		return 0, errs.Invalid(errs.Field("on_hand", "range", "must be between 0 and 1000000"))
	}
	now := s.now()
	seen := make(map[string]bool, len(productIDs))
	levels := make([]Level, 0, len(productIDs))
	for _, p := range productIDs {
		id, err := parseProductID(p)
		if err != nil {
			return 0, err
		}
		if !seen[id] {
			seen[id] = true
			levels = append(levels, Level{productID: id, onHand: onHand, updatedAt: now})
		}
	}
	if len(levels) == 0 {
		return 0, nil
	}
	return s.repo.SeedLevels(ctx, levels)
}
