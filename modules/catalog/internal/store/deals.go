package store

import (
	"context"
	"fmt"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// dealVisible keeps deals whose target customers can see: an active category,
// or a visible product (see visible).
const dealVisible = `(deals.category_id IS NOT NULL AND EXISTS (
		SELECT 1 FROM categories dc WHERE dc.id = deals.category_id AND dc.active))
	OR (deals.product_id IS NOT NULL AND EXISTS (
		SELECT 1 FROM products WHERE products.id = deals.product_id AND ` + visible + `))`

// Deals implements domain.Repository.
func (s *Store) Deals(ctx context.Context, f domain.DealFilter) ([]domain.Deal, error) {
	q := s.db.Gorm.WithContext(ctx)
	if !f.IncludeInactive {
		q = q.Where("deals.active")
	}
	if !f.RunningAt.IsZero() {
		q = q.Where("deals.starts_at <= ? AND deals.ends_at > ?", f.RunningAt, f.RunningAt)
	}
	if f.VisibleOnly {
		q = q.Where(dealVisible)
	}
	var rows []dealRow
	if err := q.Order("deals.id").Find(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("list deals: %w", err), "list deals")
	}
	return domain.Map(rows, toDeal), nil
}

// CreateDeal implements domain.Repository.
func (s *Store) CreateDeal(ctx context.Context, d domain.Deal) error {
	row := toDealRow(d)
	if err := s.db.Gorm.WithContext(ctx).Create(&row).Error; err != nil {
		return writeError(err, "create deal")
	}
	return nil
}

// UpdateDeal implements domain.Repository.
func (s *Store) UpdateDeal(ctx context.Context, id string, fn func(*domain.Deal) error) (domain.Deal, error) {
	return updateLocked(ctx, s, id, "deal", toDeal, toDealRow, noFacts(fn))
}
