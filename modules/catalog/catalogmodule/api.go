package catalogmodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ catalog.API = (*api)(nil)

func (a *api) ListProducts(ctx context.Context, q catalog.ProductQuery) (catalog.ProductPage, error) {
	page, err := a.svc.ListProducts(ctx, domain.ProductQuery{
		CategoryID: q.CategoryID, Search: q.Search, After: q.After,
		Limit: q.Limit, IncludeInactive: q.IncludeInactive,
	})
	if err != nil {
		return catalog.ProductPage{}, err
	}
	out := catalog.ProductPage{Items: make([]catalog.Product, len(page.Items)), NextCursor: page.NextCursor}
	for i, p := range page.Items {
		out.Items[i] = toProductDTO(p)
	}
	return out, nil
}

func (a *api) Product(ctx context.Context, id string) (catalog.Product, error) {
	return productResult(a.svc.Product(ctx, id))
}

func (a *api) Products(ctx context.Context, ids []string) ([]catalog.Product, error) {
	ps, err := a.svc.Products(ctx, ids)
	if err != nil {
		return nil, err
	}
	return domain.Map(ps, toProductDTO), nil
}

func (a *api) ProductBySKU(ctx context.Context, sku string) (catalog.Product, error) {
	return productResult(a.svc.ProductBySKU(ctx, sku))
}

func (a *api) CreateProduct(ctx context.Context, in catalog.NewProduct) (catalog.Product, error) {
	return productResult(a.svc.CreateProduct(ctx, domain.ProductSpec{
		SKU: in.SKU, Name: in.Name, Description: in.Description,
		CategoryID: in.CategoryID, Currency: in.Currency, PriceMinor: in.PriceMinor,
	}))
}

func (a *api) UpdateProduct(ctx context.Context, id string, in catalog.ProductUpdate) (catalog.Product, error) {
	return productResult(a.svc.UpdateProduct(ctx, id, domain.ProductChanges{
		Name: in.Name, Description: in.Description, CategoryID: in.CategoryID,
		Currency: in.Currency, PriceMinor: in.PriceMinor, Active: in.Active,
	}))
}

func (a *api) DeactivateProduct(ctx context.Context, id string) error {
	return a.svc.DeactivateProduct(ctx, id)
}

func (a *api) Categories(ctx context.Context, includeInactive bool) ([]catalog.Category, error) {
	cs, err := a.svc.Categories(ctx, includeInactive)
	if err != nil {
		return nil, err
	}
	return domain.Map(cs, toCategoryDTO), nil
}

func (a *api) CreateCategory(ctx context.Context, in catalog.NewCategory) (catalog.Category, error) {
	return categoryResult(a.svc.CreateCategory(ctx, in.Slug, in.Name))
}

func (a *api) UpdateCategory(ctx context.Context, id string, in catalog.CategoryUpdate) (catalog.Category, error) {
	return categoryResult(a.svc.UpdateCategory(ctx, id, domain.CategoryChanges{
		Slug: in.Slug, Name: in.Name, Active: in.Active,
	}))
}

func (a *api) DeactivateCategory(ctx context.Context, id string) error {
	return a.svc.DeactivateCategory(ctx, id)
}

func (a *api) Deals(ctx context.Context, includeInactive bool) ([]catalog.Deal, error) {
	ds, err := a.svc.Deals(ctx, includeInactive)
	if err != nil {
		return nil, err
	}
	return domain.Map(ds, toDealDTO), nil
}

func (a *api) CreateDeal(ctx context.Context, in catalog.NewDeal) (catalog.Deal, error) {
	return dealResult(a.svc.CreateDeal(ctx, domain.DealSpec{
		Name: in.Name, Kind: in.Kind, Value: in.Value, Currency: in.Currency,
		ProductID: in.ProductID, CategoryID: in.CategoryID,
		StartsAt: in.StartsAt, EndsAt: in.EndsAt,
	}))
}

func (a *api) UpdateDeal(ctx context.Context, id string, in catalog.DealUpdate) (catalog.Deal, error) {
	return dealResult(a.svc.UpdateDeal(ctx, id, domain.DealChanges{
		Name: in.Name, Value: in.Value, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Active: in.Active,
	}))
}

func (a *api) DeactivateDeal(ctx context.Context, id string) error {
	return a.svc.DeactivateDeal(ctx, id)
}

func productResult(p domain.PricedProduct, err error) (catalog.Product, error) {
	if err != nil {
		return catalog.Product{}, err
	}
	return toProductDTO(p), nil
}

func categoryResult(c domain.Category, err error) (catalog.Category, error) {
	if err != nil {
		return catalog.Category{}, err
	}
	return toCategoryDTO(c), nil
}

func dealResult(d domain.Deal, err error) (catalog.Deal, error) {
	if err != nil {
		return catalog.Deal{}, err
	}
	return toDealDTO(d), nil
}

func toMoneyDTO(m domain.Money) catalog.Money {
	return catalog.Money{Amount: m.Amount(), Currency: m.Currency()}
}

func toProductDTO(pp domain.PricedProduct) catalog.Product {
	p := pp.Product
	out := catalog.Product{
		ID: p.ID(), SKU: p.SKU(), Name: p.Name(), Description: p.Description(),
		CategoryID: p.CategoryID(), Price: toMoneyDTO(p.Price()),
		EffectivePrice: toMoneyDTO(pp.Effective), Active: p.Active(),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
	if d := pp.Deal; d != nil {
		out.Deal = &catalog.AppliedDeal{ID: d.ID(), Name: d.Name(), EndsAt: d.EndsAt()}
	}
	return out
}

func toCategoryDTO(c domain.Category) catalog.Category {
	return catalog.Category{ID: c.ID(), Slug: c.Slug(), Name: c.Name(), Active: c.Active(), CreatedAt: c.CreatedAt()}
}

func toDealDTO(d domain.Deal) catalog.Deal {
	return catalog.Deal{
		ID: d.ID(), Name: d.Name(), Kind: d.Kind(), Value: d.Value(), Currency: d.Currency(),
		ProductID: d.ProductID(), CategoryID: d.CategoryID(),
		StartsAt: d.StartsAt(), EndsAt: d.EndsAt(), Active: d.Active(),
	}
}
