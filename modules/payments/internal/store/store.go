// Package store keeps the payments module's cards and payments in
// PostgreSQL (the module's own schema), behind domain.Repository, and
// publishes the domain's facts in the transactions that record them.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Publish records facts as events in tx.
type Publish func(ctx context.Context, tx *gorm.DB, facts ...any) error

// Store implements domain.Repository.
type Store struct {
	db      *database.DB
	publish Publish
}

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's own database access.
func New(db *database.DB, publish Publish) *Store { return &Store{db: db, publish: publish} }

// AddCard implements domain.Repository.
func (s *Store) AddCard(ctx context.Context, c domain.Card) error {
	row := toCardRow(c)
	if err := s.db.Gorm.WithContext(ctx).Create(&row).Error; err != nil {
		return errs.Internal(fmt.Errorf("insert card: %w", err), "store card")
	}
	return nil
}

// Card implements domain.Repository.
func (s *Store) Card(ctx context.Context, token string) (domain.Card, error) {
	var row cardRow
	err := s.db.Gorm.WithContext(ctx).Where("token = ?", token).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.Card{}, errs.E(errs.KindNotFound, "unknown card token")
	case err != nil:
		return domain.Card{}, errs.Internal(fmt.Errorf("select card: %w", err), "read card")
	}
	return toCard(row), nil
}

// Payment implements domain.Repository.
func (s *Store) Payment(ctx context.Context, orderID string) (domain.Payment, error) {
	return paymentOf(s.db.Gorm.WithContext(ctx), orderID)
}

func paymentOf(q *gorm.DB, orderID string) (domain.Payment, error) {
	var row paymentRow
	err := q.Where("order_id = ?", orderID).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.Payment{}, domain.NoPayment()
	case err != nil:
		return domain.Payment{}, errs.Internal(fmt.Errorf("select payment: %w", err), "read payment")
	}
	return toPayment(row), nil
}

// AddPayment implements domain.Repository: the unique order_id, not a read
// before the write, decides which of two concurrent authorizations is
// kept. ON CONFLICT waits for the other transaction, so the existing row
// read afterwards is the committed one.
func (s *Store) AddPayment(ctx context.Context, p domain.Payment, facts ...any) (domain.Payment, bool, error) {
	stored, added := p, false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		row := toPaymentRow(p)
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "order_id"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return fmt.Errorf("insert payment: %w", res.Error)
		}
		if added = res.RowsAffected == 1; added {
			return s.publish(ctx, tx, facts...)
		}
		var err error
		stored, err = paymentOf(tx, p.OrderID())
		return err
	})
	if err != nil {
		return domain.Payment{}, false, errs.Internal(err, "store payment")
	}
	return stored, added, nil
}

// UpdatePayment implements domain.Repository with SELECT … FOR UPDATE:
// concurrent changes of one payment take turns, each seeing the last one's
// result.
func (s *Store) UpdatePayment(ctx context.Context, orderID string, fn func(*domain.Payment) ([]any, error)) (domain.Payment, error) {
	var p domain.Payment
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		var err error
		if p, err = paymentOf(tx.Clauses(clause.Locking{Strength: "UPDATE"}), orderID); err != nil {
			return err
		}
		before := p
		facts, err := fn(&p)
		if err != nil || p == before {
			return err
		}
		row := toPaymentRow(p)
		if err := tx.Exec(`UPDATE payments SET status = ?, reason = ?, provider_ref = ?, pending_operation = ?,
			attempted_at = ?, authorized_at = ?, captured_at = ?, refunded_at = ?, updated_at = ? WHERE id = ?`,
			row.Status, row.Reason, row.ProviderRef, row.PendingOperation, row.AttemptedAt,
			row.AuthorizedAt, row.CapturedAt, row.RefundedAt, row.UpdatedAt, row.ID).Error; err != nil {
			return fmt.Errorf("update payment: %w", err)
		}
		return s.publish(ctx, tx, facts...)
	})
	if err != nil {
		return domain.Payment{}, errs.Internal(err, "update payment")
	}
	return p, nil
}

// ClaimPending implements domain.Repository in one statement, so the claim
// is committed before the caller goes to the gateway. SKIP LOCKED passes
// over payments another transaction holds (a request's step, or another
// sweep's claim); under READ COMMITTED a payment that such a transaction
// changed meanwhile is checked against the condition again before it is
// locked, so one another sweep has just claimed (its attempted_at moved
// past due) or a request has just settled is not claimed a second time.
func (s *Store) ClaimPending(ctx context.Context, due, now time.Time) (string, bool, error) {
	var orders []string
	err := s.db.Gorm.WithContext(ctx).Raw(`WITH claimed AS (
			SELECT id FROM payments WHERE pending_operation <> '' AND attempted_at <= ?
			ORDER BY attempted_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE payments p SET attempted_at = ? FROM claimed WHERE p.id = claimed.id RETURNING p.order_id`,
		due, now).Scan(&orders).Error
	if err != nil {
		return "", false, errs.Internal(fmt.Errorf("claim pending payment: %w", err), "finish pending payments")
	}
	if len(orders) == 0 {
		return "", false, nil
	}
	return orders[0], true, nil
}
