package cart

import (
	"context"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// catalogPrices is domain.Prices on the catalog's public API.
type catalogPrices struct{ api catalog.API }

var _ domain.Prices = catalogPrices{}

// Product asks as the cart itself, not as the caller: an admin would see
// hidden products, which nobody can buy. An inactive product is not found
// all the same, should the catalog ever show one.
func (p catalogPrices) Product(ctx context.Context, id string) (domain.ProductInfo, error) {
	pr, err := p.api.Product(auth.AsService(ctx, Descriptor().Name), id)
	if err != nil {
		return domain.ProductInfo{}, err
	}
	if !pr.Active {
		return domain.ProductInfo{}, errs.E(errs.KindNotFound, "product not found")
	}
	return domain.ProductInfo{
		ID: pr.ID, SKU: pr.SKU, Name: pr.Name,
		PriceMinor: pr.EffectivePrice.Amount, Currency: pr.EffectivePrice.Currency,
	}, nil
}

// inventoryStock is domain.Stock on the inventory's public API.
type inventoryStock struct{ api inventory.API }

var _ domain.Stock = inventoryStock{}

func (s inventoryStock) Available(ctx context.Context, ids []string) (map[string]int, error) {
	levels, err := s.api.Availability(auth.AsService(ctx, Descriptor().Name), ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(levels))
	for _, l := range levels {
		out[l.ProductID] = l.Available
	}
	return out, nil
}
