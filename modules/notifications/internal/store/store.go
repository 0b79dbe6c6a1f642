// Package store keeps the notifications mailbox in PostgreSQL (the module's
// own schema), behind domain.Repository.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Store implements domain.Repository on a connection or on a transaction.
type Store struct{ db *gorm.DB }

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's own database access.
func New(db *database.DB) *Store { return &Store{db: db.Gorm} }

// WithTx returns the store working inside tx (an event handler's
// transaction), so what it writes commits with the inbox record.
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx} }

// AddMessage implements domain.Repository: the event_id constraint, not a
// read before the write, decides whether the event has a message already.
func (s *Store) AddMessage(ctx context.Context, m domain.Message) (bool, error) {
	row := toMessageRow(m)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "event_id"}}, DoNothing: true,
	}).Create(&row)
	if res.Error != nil {
		return false, errs.Internal(fmt.Errorf("insert message: %w", res.Error), "store message")
	}
	return res.RowsAffected == 1, nil
}

// MarkSent implements domain.Repository.
func (s *Store) MarkSent(ctx context.Context, id string, at time.Time) error {
	return s.mark(ctx, id, "mark message sent", map[string]any{"status": domain.StatusSent, "sent_at": at})
}

// MarkFailed implements domain.Repository.
func (s *Store) MarkFailed(ctx context.Context, id, reason string) error {
	return s.mark(ctx, id, "mark message failed", map[string]any{"status": domain.StatusFailed, "failure": reason})
}

// mark records what became of message id.
func (s *Store) mark(ctx context.Context, id, op string, set map[string]any) error {
	res := s.db.WithContext(ctx).Model(&messageRow{}).Where("id = ?", id).Updates(set)
	switch {
	case res.Error != nil:
		return errs.Internal(fmt.Errorf("update message: %w", res.Error), op)
	case res.RowsAffected == 0:
		return errs.E(errs.KindNotFound, "message not found")
	}
	return nil
}

// Message implements domain.Repository.
func (s *Store) Message(ctx context.Context, id string) (domain.Message, error) {
	var row messageRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.Message{}, errs.E(errs.KindNotFound, "message not found")
	case err != nil:
		return domain.Message{}, errs.Internal(fmt.Errorf("select message: %w", err), "read message")
	}
	return toMessage(row), nil
}

// Mailbox implements domain.Repository (keyset pagination on id).
func (s *Store) Mailbox(ctx context.Context, f domain.MailboxFilter) ([]domain.Message, error) {
	q := s.db.WithContext(ctx).Order("id").Limit(f.Limit)
	if f.RecipientUserID != "" {
		q = q.Where("recipient_user_id = ?", f.RecipientUserID)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var rows []messageRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("select mailbox: %w", err), "read mailbox")
	}
	out := make([]domain.Message, len(rows))
	for i, r := range rows {
		out[i] = toMessage(r)
	}
	return out, nil
}
