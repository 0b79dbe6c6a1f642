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

// DealFilter selects deals.
type DealFilter struct {
	IncludeInactive bool      // false: active deals only
	RunningAt       time.Time // non-zero: only deals with starts_at ≤ RunningAt < ends_at
	VisibleOnly     bool      // only deals whose product or category customers can see
}

// Repository is the storage the Service needs. Methods return KindNotFound
// for unknown ids and wrap storage failures as KindInternal.
type Repository interface {
	// CreateProduct stores p and publishes facts in the same transaction.
	// It returns KindConflict (field sku) for a taken SKU and KindInvalid
	// (field category_id) for an unknown category.
	CreateProduct(ctx context.Context, p Product, facts ...any) error
	// UpdateProduct loads the product, lets fn change it and saves it, and
	// publishes the facts fn returns, in one transaction. Errors as
	// CreateProduct, plus fn's.
	UpdateProduct(ctx context.Context, id string, fn func(*Product) ([]any, error)) (Product, error)
	// Product finds by id; hidden products (inactive, or in an inactive
	// category) are KindNotFound unless includeInactive.
	Product(ctx context.Context, id string, includeInactive bool) (Product, error)
	// Products finds the products of ids (canonical, distinct) in one
	// query, in no particular order; unknown and (unless includeInactive)
	// hidden ones are left out.
	Products(ctx context.Context, ids []string, includeInactive bool) ([]Product, error)
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

	// Deals lists the deals f selects in id order.
	Deals(ctx context.Context, f DealFilter) ([]Deal, error)
	// CreateDeal returns KindInvalid (product_id or category_id) for an
	// unknown target.
	CreateDeal(ctx context.Context, d Deal) error
	UpdateDeal(ctx context.Context, id string, fn func(*Deal) error) (Deal, error)

	// SeedCategories inserts the categories whose slug is free and returns
	// the stored category of every given slug.
	SeedCategories(ctx context.Context, cs []Category) ([]Category, error)
	// SeedProducts inserts the products whose SKU is free, in one
	// statement, and publishes, in the same transaction, the facts that
	// factsOf gives for each product it inserted.
	SeedProducts(ctx context.Context, ps []Product, factsOf func(Product) []any) error
	// SeedDeals inserts the deals whose id is free.
	SeedDeals(ctx context.Context, ds []Deal) error
}
