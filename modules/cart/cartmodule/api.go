package cartmodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ cart.API = (*api)(nil)

func (a *api) Cart(ctx context.Context) (cart.Cart, error) { return cartResult(a.svc.Cart(ctx)) }

func (a *api) AddItem(ctx context.Context, productID string, quantity int) (cart.Cart, error) {
	return cartResult(a.svc.AddItem(ctx, productID, quantity))
}

func (a *api) SetQuantity(ctx context.Context, productID string, quantity int) (cart.Cart, error) {
	return cartResult(a.svc.SetQuantity(ctx, productID, quantity))
}

func (a *api) RemoveItem(ctx context.Context, productID string) (cart.Cart, error) {
	return cartResult(a.svc.RemoveItem(ctx, productID))
}

func (a *api) Clear(ctx context.Context) error { return a.svc.Clear(ctx) }

func cartResult(c domain.Cart, err error) (cart.Cart, error) {
	if err != nil {
		return cart.Cart{}, err
	}
	return toCartDTO(c), nil
}

func toMoneyDTO(m domain.Money) cart.Money {
	return cart.Money{Amount: m.Amount(), Currency: m.Currency()}
}

func toItemDTO(l domain.Line) cart.Item {
	return cart.Item{
		ProductID: l.ProductID(), SKU: l.SKU(), Name: l.Name(), Quantity: l.Quantity(),
		UnitPrice: toMoneyDTO(l.UnitPrice()), LineTotal: toMoneyDTO(l.LineTotal()),
		Available: l.Available(), InStock: l.InStock(), Stale: l.Stale(), Unavailable: l.Unavailable(),
	}
}

// toCartDTO always gives Items, empty for an empty cart.
func toCartDTO(c domain.Cart) cart.Cart {
	lines := c.Lines()
	out := cart.Cart{
		UserID: c.UserID(), Items: make([]cart.Item, len(lines)), Total: toMoneyDTO(c.Total()),
		Stale: c.Stale(), UpdatedAt: c.UpdatedAt(),
	}
	for i, l := range lines {
		out.Items[i] = toItemDTO(l)
	}
	return out
}
