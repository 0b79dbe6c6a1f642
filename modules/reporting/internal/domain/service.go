package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Service keeps the sales figures from events and reads them for admins.
type Service struct {
	repo   Repository
	decode Decoder
	now    func() time.Time
	self   auth.Principal // the module acting on its own behalf (the CLI's rebuild)
}

// NewService returns the service; decode reads journal records, now is the
// clock, and self is the module's own service principal, which may rebuild.
func NewService(repo Repository, decode Decoder, now func() time.Time, self auth.Principal) *Service {
	return &Service{repo: repo, decode: decode, now: now, self: self}
}

// Record journals one consumed event through tx, the repository bound to
// the event handler's transaction, and changes the figures as the order's
// ledger says, so that the journal entry, the figures and the inbox's
// "handled" mark commit together. An event journalled already changes
// nothing. A malformed event is KindInvalid and changes nothing.
func (s *Service) Record(ctx context.Context, tx Tx, rec Record) error {
	fact, err := s.decode(rec)
	if err != nil {
		return fmt.Errorf("event %s %s: %w", rec.Type, rec.EventID, err)
	}
	rec.OrderID = fact.OrderID()
	if err := tx.Lock(ctx); err != nil {
		return err
	}
	seq, added, err := tx.Append(ctx, rec)
	if err != nil || !added {
		return err
	}
	history, err := tx.History(ctx, rec.OrderID, seq)
	if err != nil {
		return err
	}
	var l ledger
	for _, h := range history {
		f, err := s.decode(h)
		if err != nil {
			return errs.Internal(fmt.Errorf("journal entry %d: %w", h.Seq, err), "read the journal")
		}
		l.step(f, h.Seq)
	}
	if d, changed := l.step(fact, seq); changed {
		return tx.Apply(ctx, d)
	}
	return nil
}

// Rebuild recomputes every figure from the journal in one transaction and
// returns how many entries it replayed: KindUnauthenticated, KindForbidden
// unless the caller is an admin or the module itself.
func (s *Service) Rebuild(ctx context.Context) (int, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return 0, err
	}
	if !p.IsAdmin() && p != s.self {
		return 0, errs.E(errs.KindForbidden, "this needs the %s role", auth.RoleAdmin)
	}
	var n int
	err = s.repo.InTx(ctx, func(tx Tx) error {
		if err := tx.Lock(ctx); err != nil {
			return err
		}
		proj := NewProjection()
		var (
			l     ledger
			order string
		)
		count, err := tx.Replay(ctx, func(rec Record) error {
			f, err := s.decode(rec)
			if err != nil {
				return errs.Internal(fmt.Errorf("journal entry %d: %w", rec.Seq, err), "read the journal")
			}
			if rec.OrderID != order {
				l, order = ledger{}, rec.OrderID
			}
			if d, changed := l.step(f, rec.Seq); changed {
				proj.Add(d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		n = count
		return tx.Replace(ctx, proj)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Sales returns a sales report (admin only): KindUnauthenticated,
// KindForbidden, and KindInvalid naming from, to or currency.
func (s *Service) Sales(ctx context.Context, q SalesQuery) (SalesReport, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleAdmin); err != nil {
		return SalesReport{}, err
	}
	now := s.now().UTC()
	f, err := salesFilter(q, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC))
	if err != nil {
		return SalesReport{}, err
	}
	days, err := s.repo.Days(ctx, f)
	if err != nil {
		return SalesReport{}, err
	}
	return SalesReport{From: f.From, To: f.To, Currency: f.Currency, Days: days, Totals: totals(days)}, nil
}

// TopProducts returns the best-selling products (admin only):
// KindUnauthenticated, KindForbidden, and KindInvalid naming limit or
// currency.
func (s *Service) TopProducts(ctx context.Context, q TopQuery) ([]ProductRow, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	f, err := topFilter(q)
	if err != nil {
		return nil, err
	}
	return s.repo.TopProducts(ctx, f)
}
