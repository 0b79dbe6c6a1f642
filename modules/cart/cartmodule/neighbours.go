package cartmodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/platform/auth"
)

// catalogPrices is domain.Prices on the catalog's public API.
type catalogPrices struct{ api catalog.API }

var _ domain.Prices = catalogPrices{}

// A full cart is priced in one catalog call: this constant does not
// compile (a negative uint) should a cart ever hold more lines than one
// Products call takes.
const _ = uint(catalog.MaxProductIDs - domain.MaxLines)

// Products asks as the cart itself, not as the caller: an admin would see
// hidden products, which nobody can buy. An inactive product is left out
// all the same, should the catalog ever show one.
func (p catalogPrices) Products(ctx context.Context, ids []string) (map[string]domain.ProductInfo, error) {
	out := make(map[string]domain.ProductInfo, len(ids))
	if len(ids) == 0 {
		return out, nil // the catalog refuses an empty batch; there is nothing to ask
	}
	ps, err := p.api.Products(auth.AsService(ctx, Descriptor().Name), ids)
	if err != nil {
		return nil, err
	}
	for _, pr := range ps {
		if !pr.Active {
			continue
		}
		out[pr.ID] = domain.ProductInfo{
			ID: pr.ID, SKU: pr.SKU, Name: pr.Name,
			PriceMinor: pr.EffectivePrice.Amount, Currency: pr.EffectivePrice.Currency,
		}
	}
	return out, nil
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
