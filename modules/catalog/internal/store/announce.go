package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// announceBatch bounds the deals one announcing transaction claims.
const announceBatch = 100

// Claims lock the due rows and skip rows another transaction holds (another
// replica announcing them, or an admin changing them): under READ COMMITTED
// a row that another transaction announced meanwhile is re-checked against
// the condition before it is locked, so it is never claimed twice.
const (
	claimStarts = `SELECT ` + dealColumns + ` FROM deals
		WHERE active AND started_announced_at IS NULL AND starts_at <= ? AND ends_at > ?
		ORDER BY starts_at, id LIMIT ? FOR UPDATE SKIP LOCKED`
	claimEnds = `SELECT ` + dealColumns + ` FROM deals
		WHERE started_announced_at IS NOT NULL AND ended_announced_at IS NULL AND (NOT active OR ends_at <= ?)
		ORDER BY ends_at, id LIMIT ? FOR UPDATE SKIP LOCKED`
	// A deal whose whole window passed before its start was announced is
	// never announced: it never applied while anyone could see it start.
	nextChange = `SELECT least(
		(SELECT min(starts_at) FROM deals WHERE active AND started_announced_at IS NULL AND ends_at > $1),
		(SELECT min(CASE WHEN active THEN ends_at ELSE $1 END) FROM deals
			WHERE started_announced_at IS NOT NULL AND ended_announced_at IS NULL))`
)

// AnnounceDeals publishes, once across all replicas, the start of every
// active deal whose start time has passed (while it still runs) and then the
// end of every announced deal that ended or was deactivated. Each
// announcement commits with the mark that it was made. It returns how many
// it made.
func (s *Store) AnnounceDeals(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, step := range []func(context.Context, time.Time) (int, error){s.announceStarts, s.announceEnds} {
		for {
			n, err := step(ctx, now)
			total += n
			if err != nil {
				return total, err
			}
			if n < announceBatch {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) announceStarts(ctx context.Context, now time.Time) (int, error) {
	return s.announce(ctx, "started_announced_at", now, func(tx *gorm.DB, rows *[]dealRow) error {
		return tx.Raw(claimStarts, now, now, announceBatch).Scan(rows).Error
	}, func(d domain.Deal) any { return domain.DealStarted{Deal: d} })
}

func (s *Store) announceEnds(ctx context.Context, now time.Time) (int, error) {
	return s.announce(ctx, "ended_announced_at", now, func(tx *gorm.DB, rows *[]dealRow) error {
		return tx.Raw(claimEnds, now, announceBatch).Scan(rows).Error
	}, func(d domain.Deal) any { return domain.EndFact(d) })
}

// announce claims deals, publishes a fact for each and marks them in column,
// in one transaction.
func (s *Store) announce(ctx context.Context, column string, now time.Time,
	claim func(*gorm.DB, *[]dealRow) error, fact func(domain.Deal) any,
) (int, error) {
	var n int
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		var rows []dealRow
		if err := claim(tx, &rows); err != nil {
			return fmt.Errorf("claim deals: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		deals := domain.Map(rows, toDeal)
		if err := s.publish(ctx, tx, domain.Map(deals, fact)...); err != nil {
			return err
		}
		ids := domain.Map(deals, domain.Deal.ID)
		if err := tx.Exec("UPDATE deals SET "+column+" = ? WHERE id IN ?", now, ids).Error; err != nil {
			return fmt.Errorf("mark deals: %w", err)
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, errs.Internal(fmt.Errorf("announce deals (%s): %w", column, err), "announce deals")
	}
	return n, nil
}

// NextDealChange returns when the next announcement falls due after the ones
// due at now were made; ok is false when no deal is waiting for one.
func (s *Store) NextDealChange(ctx context.Context, now time.Time) (next time.Time, ok bool, err error) {
	var at *time.Time
	if err := s.db.Pool.QueryRow(ctx, nextChange, now).Scan(&at); err != nil {
		return time.Time{}, false, errs.Internal(fmt.Errorf("next deal change: %w", err), "plan deal announcements")
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return at.UTC(), true, nil
}
