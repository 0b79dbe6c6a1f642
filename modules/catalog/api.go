package catalog

import (
	"context"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ API = (*api)(nil)

func (a *api) ListProducts(ctx context.Context, q ProductQuery) (ProductPage, error) {
	page, err := a.svc.ListProducts(ctx, domain.ProductQuery{
		CategoryID: q.CategoryID, Search: q.Search, After: q.After,
		Limit: q.Limit, IncludeInactive: q.IncludeInactive,
	})
	if err != nil {
		return ProductPage{}, err
	}
	out := ProductPage{Items: make([]Product, len(page.Items)), NextCursor: page.NextCursor}
	for i, p := range page.Items {
		out.Items[i] = toProductDTO(p)
	}
	return out, nil
}

func (a *api) Product(ctx context.Context, id string) (Product, error) {
	return productResult(a.svc.Product(ctx, id))
}

func (a *api) Products(ctx context.Context, ids []string) ([]Product, error) {
	ps, err := a.svc.Products(ctx, ids)
	if err != nil {
		return nil, err
	}
	return domain.Map(ps, toProductDTO), nil
}

func (a *api) ProductBySKU(ctx context.Context, sku string) (Product, error) {
	return productResult(a.svc.ProductBySKU(ctx, sku))
}

func (a *api) CreateProduct(ctx context.Context, in NewProduct) (Product, error) {
	return productResult(a.svc.CreateProduct(ctx, domain.ProductSpec{
		SKU: in.SKU, Name: in.Name, Description: in.Description,
		CategoryID: in.CategoryID, Currency: in.Currency, PriceMinor: in.PriceMinor,
	}))
}

func (a *api) UpdateProduct(ctx context.Context, id string, in ProductUpdate) (Product, error) {
	return productResult(a.svc.UpdateProduct(ctx, id, domain.ProductChanges{
		Name: in.Name, Description: in.Description, CategoryID: in.CategoryID,
		Currency: in.Currency, PriceMinor: in.PriceMinor, Active: in.Active,
	}))
}

func (a *api) DeactivateProduct(ctx context.Context, id string) error {
	return a.svc.DeactivateProduct(ctx, id)
}

func (a *api) Categories(ctx context.Context, includeInactive bool) ([]Category, error) {
	cs, err := a.svc.Categories(ctx, includeInactive)
	if err != nil {
		return nil, err
	}
	return domain.Map(cs, toCategoryDTO), nil
}

func (a *api) CreateCategory(ctx context.Context, in NewCategory) (Category, error) {
	return categoryResult(a.svc.CreateCategory(ctx, in.Slug, in.Name))
}

func (a *api) UpdateCategory(ctx context.Context, id string, in CategoryUpdate) (Category, error) {
	return categoryResult(a.svc.UpdateCategory(ctx, id, domain.CategoryChanges{
		Slug: in.Slug, Name: in.Name, Active: in.Active,
	}))
}

func (a *api) DeactivateCategory(ctx context.Context, id string) error {
	return a.svc.DeactivateCategory(ctx, id)
}

func (a *api) Deals(ctx context.Context, includeInactive bool) ([]Deal, error) {
	ds, err := a.svc.Deals(ctx, includeInactive)
	if err != nil {
		return nil, err
	}
	return domain.Map(ds, toDealDTO), nil
}

func (a *api) CreateDeal(ctx context.Context, in NewDeal) (Deal, error) {
	return dealResult(a.svc.CreateDeal(ctx, domain.DealSpec{
		Name: in.Name, Kind: in.Kind, Value: in.Value, Currency: in.Currency,
		ProductID: in.ProductID, CategoryID: in.CategoryID,
		StartsAt: in.StartsAt, EndsAt: in.EndsAt,
	}))
}

func (a *api) UpdateDeal(ctx context.Context, id string, in DealUpdate) (Deal, error) {
	return dealResult(a.svc.UpdateDeal(ctx, id, domain.DealChanges{
		Name: in.Name, Value: in.Value, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Active: in.Active,
	}))
}

func (a *api) DeactivateDeal(ctx context.Context, id string) error {
	return a.svc.DeactivateDeal(ctx, id)
}

func productResult(p domain.PricedProduct, err error) (Product, error) {
	if err != nil {
		return Product{}, err
	}
	return toProductDTO(p), nil
}

func categoryResult(c domain.Category, err error) (Category, error) {
	if err != nil {
		return Category{}, err
	}
	return toCategoryDTO(c), nil
}

func dealResult(d domain.Deal, err error) (Deal, error) {
	if err != nil {
		return Deal{}, err
	}
	return toDealDTO(d), nil
}

func toMoneyDTO(m domain.Money) Money {
	return Money{Amount: m.Amount(), Currency: m.Currency()}
}

func toProductDTO(pp domain.PricedProduct) Product {
	p := pp.Product
	out := Product{
		ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Description: p.Description(),
		CategoryID: p.CategoryID(), Price: toMoneyDTO(p.Price()),
		EffectivePrice: toMoneyDTO(pp.Effective), Active: p.Active(),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
	if d := pp.Deal; d != nil {
		out.Deal = &AppliedDeal{ID: d.ID(), Name: d.Name(), EndsAt: d.EndsAt()}
	}
	return out
}

func toCategoryDTO(c domain.Category) Category {
	return Category{ID: c.ID(), Slug: c.Slug(), Name: c.Name(), Active: c.Active(), CreatedAt: c.CreatedAt()}
}

func toDealDTO(d domain.Deal) Deal {
	return Deal{
		ID: d.ID(), Name: d.Name(), Kind: d.Kind(), Value: d.Value(), Currency: d.Currency(),
		ProductID: d.ProductID(), CategoryID: d.CategoryID(),
		StartsAt: d.StartsAt(), EndsAt: d.EndsAt(), Active: d.Active(),
	}
}
