package store

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// SeedCategories implements domain.Repository. The result follows the order
// of cs.
func (s *Store) SeedCategories(ctx context.Context, cs []domain.Category) ([]domain.Category, error) {
	rows := mapRows(cs, toCategoryRow)
	g := s.db.Gorm.WithContext(ctx)
	err := g.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "slug"}}, DoNothing: true}).Create(&rows).Error
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("seed categories: %w", err), "seed categories")
	}
	slugs := make([]string, len(cs))
	for i, c := range cs {
		slugs[i] = c.Slug()
	}
	var stored []categoryRow
	if err := g.Where("slug IN ?", slugs).Find(&stored).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("read seeded categories: %w", err), "seed categories")
	}
	bySlug := make(map[string]categoryRow, len(stored))
	for _, r := range stored {
		bySlug[r.Slug] = r
	}
	out := make([]domain.Category, len(cs))
	for i, slug := range slugs {
		out[i] = toCategory(bySlug[slug])
	}
	return out, nil
}

// SeedProducts implements domain.Repository: one multi-row INSERT; a row
// whose SKU exists is skipped.
func (s *Store) SeedProducts(ctx context.Context, ps []domain.Product) error {
	if len(ps) == 0 {
		return nil
	}
	rows := mapRows(ps, toProductRow)
	err := s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("seed products: %w", err), "seed products")
	}
	return nil
}

// SeedDeals implements domain.Repository.
func (s *Store) SeedDeals(ctx context.Context, ds []domain.Deal) error {
	if len(ds) == 0 {
		return nil
	}
	rows := mapRows(ds, toDealRow)
	err := s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("seed deals: %w", err), "seed deals")
	}
	return nil
}
