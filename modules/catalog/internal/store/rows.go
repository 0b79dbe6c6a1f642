// Package store is the catalog's PostgreSQL repository: gorm row structs,
// their converters to and from domain types, and the queries. Every query is
// parameterized; writes that read first run in one transaction.
package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
)

// Row timestamps come from the domain, on the catalog's clock: gorm's
// automatic created_at/updated_at are off, so that what is stored equals
// what the write returned and published.

type productRow struct {
	ID          string    `gorm:"column:id;type:uuid;primaryKey"`
	SKU         string    `gorm:"column:sku"`
	Name        string    `gorm:"column:name"`
	Description string    `gorm:"column:description"`
	PriceMinor  int64     `gorm:"column:price_minor"`
	Currency    string    `gorm:"column:currency"`
	CategoryID  *string   `gorm:"column:category_id;type:uuid"`
	Active      bool      `gorm:"column:active"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (productRow) TableName() string { return "products" }

type categoryRow struct {
	ID        string    `gorm:"column:id;type:uuid;primaryKey"`
	Slug      string    `gorm:"column:slug"`
	Name      string    `gorm:"column:name"`
	Active    bool      `gorm:"column:active"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (categoryRow) TableName() string { return "categories" }

type dealRow struct {
	ID         string    `gorm:"column:id;type:uuid;primaryKey"`
	Name       string    `gorm:"column:name"`
	Kind       string    `gorm:"column:kind"`
	Value      int64     `gorm:"column:value"`
	Currency   string    `gorm:"column:currency"`
	ProductID  *string   `gorm:"column:product_id;type:uuid"`
	CategoryID *string   `gorm:"column:category_id;type:uuid"`
	StartsAt   time.Time `gorm:"column:starts_at"`
	EndsAt     time.Time `gorm:"column:ends_at"`
	Active     bool      `gorm:"column:active"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (dealRow) TableName() string { return "deals" }

// nullable maps the domain's "empty means none" to SQL NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toProductRow(p domain.Product) productRow {
	return productRow{
		ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Description: p.Description(),
		PriceMinor: p.Price().Amount(), Currency: p.Price().Currency(),
		CategoryID: nullable(p.CategoryID()), Active: p.Active(),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
}

func toProduct(r productRow) domain.Product {
	return domain.RestoreProduct(domain.ProductRecord{
		ID: r.ID, SKU: r.SKU, Name: r.Name, Description: r.Description,
		CategoryID: deref(r.CategoryID), Currency: r.Currency, PriceMinor: r.PriceMinor,
		Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	})
}

func toCategoryRow(c domain.Category) categoryRow {
	return categoryRow{ID: c.ID(), Slug: c.Slug(), Name: c.Name(), Active: c.Active(),
		CreatedAt: c.CreatedAt(), UpdatedAt: c.UpdatedAt()}
}

func toCategory(r categoryRow) domain.Category {
	return domain.RestoreCategory(domain.CategoryRecord{ID: r.ID, Slug: r.Slug, Name: r.Name,
		Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
}

func toDealRow(d domain.Deal) dealRow {
	return dealRow{
		ID: d.ID(), Name: d.Name(), Kind: d.Kind(), Value: d.Value(), Currency: d.Currency(),
		ProductID: nullable(d.ProductID()), CategoryID: nullable(d.CategoryID()),
		StartsAt: d.StartsAt(), EndsAt: d.EndsAt(), Active: d.Active(),
		CreatedAt: d.CreatedAt(), UpdatedAt: d.UpdatedAt(),
	}
}

func toDeal(r dealRow) domain.Deal {
	return domain.RestoreDeal(domain.DealRecord{
		ID: r.ID, Name: r.Name, Kind: r.Kind, Value: r.Value, Currency: r.Currency,
		ProductID: deref(r.ProductID), CategoryID: deref(r.CategoryID),
		StartsAt: r.StartsAt, EndsAt: r.EndsAt, Active: r.Active,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	})
}
