package store

import (
	"context"
	"fmt"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// Deals implements domain.Repository.
func (s *Store) Deals(ctx context.Context, includeInactive bool) ([]domain.Deal, error) {
	q := s.db.Gorm.WithContext(ctx)
	if !includeInactive {
		q = q.Where("active")
	}
	var rows []dealRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("list deals: %w", err), "list deals")
	}
	return mapRows(rows, toDeal), nil
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
	return updateLocked(ctx, s.db, id, "deal", toDeal, toDealRow, fn)
}
