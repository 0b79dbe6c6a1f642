package domain

import (
	"context"
	"time"
)

// ProductFilter selects a page of products in id order.
type ProductFilter struct {
	CategoryID      string   // empty: every category
	Terms           []string // words that must all prefix-match name, description or SKU
	After           string   // exclusive lower bound on id; empty: from the start
	Limit           int
	IncludeInactive bool // false: only active products outside inactive categories
}

// Repository is the storage the Service needs. Methods return KindNotFound
// for unknown ids and wrap storage failures as KindInternal.
type Repository interface {
	// CreateProduct returns KindConflict (field sku) for a taken SKU and
	// KindInvalid (field category_id) for an unknown category.
	CreateProduct(ctx context.Context, p Product) error
	// UpdateProduct loads the product, lets fn change it and saves it, in
	// one transaction. Errors as CreateProduct, plus fn's.
	UpdateProduct(ctx context.Context, id string, fn func(*Product) error) (Product, error)
	// Product finds by id; hidden products (inactive, or in an inactive
	// category) are KindNotFound unless includeInactive.
	Product(ctx context.Context, id string, includeInactive bool) (Product, error)
	// ProductBySKU is Product by normalised SKU.
	ProductBySKU(ctx context.Context, sku string, includeInactive bool) (Product, error)
	ListProducts(ctx context.Context, f ProductFilter) ([]Product, error)
	// CurrentDeals returns, in one query and ordered by id, the active deals
	// whose window contains now and that target one of the products or one
	// of the categories.
	CurrentDeals(ctx context.Context, productIDs, categoryIDs []string, now time.Time) ([]Deal, error)

	Categories(ctx context.Context, includeInactive bool) ([]Category, error)
	// CreateCategory returns KindConflict (field slug) for a taken slug.
	CreateCategory(ctx context.Context, c Category) error
	UpdateCategory(ctx context.Context, id string, fn func(*Category) error) (Category, error)

	// Deals lists in id order; without includeInactive only active deals.
	Deals(ctx context.Context, includeInactive bool) ([]Deal, error)
	// CreateDeal returns KindInvalid (product_id or category_id) for an
	// unknown target.
	CreateDeal(ctx context.Context, d Deal) error
	UpdateDeal(ctx context.Context, id string, fn func(*Deal) error) (Deal, error)

	// SeedCategories inserts the categories whose slug is free and returns
	// the stored category of every given slug.
	SeedCategories(ctx context.Context, cs []Category) ([]Category, error)
	// SeedProducts inserts the products whose SKU is free, in one statement.
	SeedProducts(ctx context.Context, ps []Product) error
	// SeedDeals inserts the deals whose id is free.
	SeedDeals(ctx context.Context, ds []Deal) error
}
