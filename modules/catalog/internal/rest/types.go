// Package rest is the catalog's HTTP transport: request and response
// structs, their converters, and echo handlers that call the domain service.
// Handlers return errors; the HTTP edge turns them into problem documents.
package rest

import (
	"time"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
)

// Request structs check presence and JSON types only: the rules (lengths,
// ranges, patterns) belong to the domain constructors, which report every
// broken field at once.

type createProductRequest struct {
	SKU         string `json:"sku" validate:"required"`
	Name        string `json:"name" validate:"required"`
	Description string `json:"description"`
	PriceMinor  *int64 `json:"price_minor" validate:"required"`
	Currency    string `json:"currency" validate:"required"`
	CategoryID  string `json:"category_id"`
}

type updateProductRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	PriceMinor  *int64  `json:"price_minor"`
	Currency    *string `json:"currency"`
	CategoryID  *string `json:"category_id"`
	Active      *bool   `json:"active"`
}

type createCategoryRequest struct {
	Slug string `json:"slug" validate:"required"`
	Name string `json:"name" validate:"required"`
}

type updateCategoryRequest struct {
	Slug   *string `json:"slug"`
	Name   *string `json:"name"`
	Active *bool   `json:"active"`
}

type createDealRequest struct {
	Name       string    `json:"name" validate:"required"`
	Kind       string    `json:"kind" validate:"required"`
	Value      *int64    `json:"value" validate:"required"`
	Currency   string    `json:"currency"`
	ProductID  string    `json:"product_id"`
	CategoryID string    `json:"category_id"`
	StartsAt   timestamp `json:"starts_at" validate:"required"`
	EndsAt     timestamp `json:"ends_at" validate:"required"`
}

type updateDealRequest struct {
	Name     *string    `json:"name"`
	Value    *int64     `json:"value"`
	StartsAt *timestamp `json:"starts_at"`
	EndsAt   *timestamp `json:"ends_at"`
	Active   *bool      `json:"active"`
}

type moneyResponse struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type appliedDealResponse struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	EndsAt time.Time `json:"ends_at"`
}

type productResponse struct {
	ID             string               `json:"id"`
	SKU            string               `json:"sku"`
	Name           string               `json:"name"`
	Description    string               `json:"description"`
	CategoryID     string               `json:"category_id,omitempty"`
	Price          moneyResponse        `json:"price"`
	EffectivePrice moneyResponse        `json:"effective_price"`
	Deal           *appliedDealResponse `json:"deal"`
	Active         bool                 `json:"active"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
}

// Every list has the same envelope: items, and next_cursor, empty on the
// last page. Categories and deals come in one page.

type productPageResponse struct {
	Items      []productResponse `json:"items"`
	NextCursor string            `json:"next_cursor" description:"empty on the last page"`
}

type categoryListResponse struct {
	Items      []categoryResponse `json:"items"`
	NextCursor string             `json:"next_cursor" description:"always empty: every category comes in one page"`
}

type dealListResponse struct {
	Items      []dealResponse `json:"items"`
	NextCursor string         `json:"next_cursor" description:"always empty: every deal comes in one page"`
}

type categoryResponse struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

type dealResponse struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Value      int64     `json:"value"`
	Currency   string    `json:"currency,omitempty"`
	ProductID  string    `json:"product_id,omitempty"`
	CategoryID string    `json:"category_id,omitempty"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Active     bool      `json:"active"`
}

func toProductSpec(r createProductRequest) domain.ProductSpec {
	return domain.ProductSpec{SKU: r.SKU, Name: r.Name, Description: r.Description,
		CategoryID: r.CategoryID, Currency: r.Currency, PriceMinor: *r.PriceMinor}
}

func toProductChanges(r updateProductRequest) domain.ProductChanges {
	return domain.ProductChanges{Name: r.Name, Description: r.Description, CategoryID: r.CategoryID,
		Currency: r.Currency, PriceMinor: r.PriceMinor, Active: r.Active}
}

func toCategoryChanges(r updateCategoryRequest) domain.CategoryChanges {
	return domain.CategoryChanges{Slug: r.Slug, Name: r.Name, Active: r.Active}
}

func toDealSpec(r createDealRequest) domain.DealSpec {
	return domain.DealSpec{Name: r.Name, Kind: r.Kind, Value: *r.Value, Currency: r.Currency,
		ProductID: r.ProductID, CategoryID: r.CategoryID, StartsAt: r.StartsAt.Time, EndsAt: r.EndsAt.Time}
}

func toDealChanges(r updateDealRequest) domain.DealChanges {
	return domain.DealChanges{Name: r.Name, Value: r.Value, StartsAt: r.StartsAt.timePtr(), EndsAt: r.EndsAt.timePtr(), Active: r.Active}
}

func toMoneyResponse(m domain.Money) moneyResponse {
	return moneyResponse{Amount: m.Amount(), Currency: m.Currency()}
}

func toProductResponse(pp domain.PricedProduct) productResponse {
	p := pp.Product
	out := productResponse{
		ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Description: p.Description(),
		CategoryID: p.CategoryID(), Price: toMoneyResponse(p.Price()),
		EffectivePrice: toMoneyResponse(pp.Effective), Active: p.Active(),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
	if d := pp.Deal; d != nil {
		out.Deal = &appliedDealResponse{ID: d.ID(), Name: d.Name(), EndsAt: d.EndsAt()}
	}
	return out
}

func toProductPageResponse(p domain.ProductPage) productPageResponse {
	return productPageResponse{Items: domain.Map(p.Items, toProductResponse), NextCursor: p.NextCursor}
}

func toCategoryResponse(c domain.Category) categoryResponse {
	return categoryResponse{ID: c.ID(), Slug: c.Slug(), Name: c.Name(), Active: c.Active(), CreatedAt: c.CreatedAt()}
}

func toDealResponse(d domain.Deal) dealResponse {
	return dealResponse{
		ID: d.ID(), Name: d.Name(), Kind: d.Kind(), Value: d.Value(), Currency: d.Currency(),
		ProductID: d.ProductID(), CategoryID: d.CategoryID(),
		StartsAt: d.StartsAt(), EndsAt: d.EndsAt(), Active: d.Active(),
	}
}
