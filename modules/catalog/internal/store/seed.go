package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// SeedCategories implements domain.Repository. The result follows the order
// of cs.
func (s *Store) SeedCategories(ctx context.Context, cs []domain.Category) ([]domain.Category, error) {
	rows := domain.Map(cs, toCategoryRow)
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
// whose SKU exists is skipped. The products inserted are those stored under
// the new ids afterwards (a skipped one keeps its old id), and only they are
// announced.
func (s *Store) SeedProducts(ctx context.Context, ps []domain.Product, factsOf func(domain.Product) []any) error {
	if len(ps) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		rows := domain.Map(ps, toProductRow)
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return errs.Internal(fmt.Errorf("seed products: %w", err), "seed products")
		}
		ids := domain.Map(ps, domain.Product.ID)
		var inserted []string
		if err := tx.Model(&productRow{}).Where("id IN ?", ids).Pluck("id", &inserted).Error; err != nil {
			return errs.Internal(fmt.Errorf("seeded products: %w", err), "seed products")
		}
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}
		var facts []any
		for _, p := range ps {
			if isNew[p.ID()] {
				facts = append(facts, factsOf(p)...)
			}
		}
		if err := s.publish(ctx, tx, facts...); err != nil {
			return errs.Internal(err, "publish seeded products")
		}
		return nil
	})
}

// SeedDeals implements domain.Repository.
func (s *Store) SeedDeals(ctx context.Context, ds []domain.Deal) error {
	if len(ds) == 0 {
		return nil
	}
	rows := domain.Map(ds, toDealRow)
	err := s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("seed deals: %w", err), "seed deals")
	}
	return nil
}
