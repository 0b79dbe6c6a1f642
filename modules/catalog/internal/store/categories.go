package store

import (
	"context"
	"fmt"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// Categories implements domain.Repository.
func (s *Store) Categories(ctx context.Context, includeInactive bool) ([]domain.Category, error) {
	q := s.db.Gorm.WithContext(ctx)
	if !includeInactive {
		q = q.Where("active")
	}
	var rows []categoryRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("list categories: %w", err), "list categories")
	}
	return domain.Map(rows, toCategory), nil
}

// CreateCategory implements domain.Repository.
func (s *Store) CreateCategory(ctx context.Context, c domain.Category) error {
	row := toCategoryRow(c)
	if err := s.db.Gorm.WithContext(ctx).Create(&row).Error; err != nil {
		return writeError(err, "create category")
	}
	return nil
}

// UpdateCategory implements domain.Repository.
func (s *Store) UpdateCategory(ctx context.Context, id string, fn func(*domain.Category) error) (domain.Category, error) {
	return updateLocked(ctx, s, id, "category", toCategory, toCategoryRow, noFacts(fn))
}
