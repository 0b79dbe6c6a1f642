package catalogmodule

import (
	"fmt"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/events"
)

// toEvent maps each fact to its event; a fact without one is a programming
// error, reported rather than dropped so the change rolls back.
func toEvent(fact any) (events.Event, error) {
	switch f := fact.(type) {
	case domain.ProductCreated:
		return toProductCreated(f), nil
	case domain.ProductUpdated:
		return toProductUpdated(f), nil
	case domain.ProductPriceChanged:
		return toProductPriceChanged(f), nil
	case domain.DealStarted:
		return toDealStarted(f), nil
	case domain.DealEnded:
		return toDealEnded(f), nil
	}
	return nil, fmt.Errorf("catalog: no event for fact %T", fact)
}

func toProductCreated(f domain.ProductCreated) catalog.ProductCreated {
	p := f.Product
	return catalog.ProductCreated{
		ProductID: p.ID(), SKU: p.SKU(), Name: p.Name(), CategoryID: p.CategoryID(),
		PriceMinor: p.Price().Amount(), Currency: p.Price().Currency(), Active: p.Active(), At: p.CreatedAt(),
	}
}

func toProductUpdated(f domain.ProductUpdated) catalog.ProductUpdated {
	p := f.Product
	return catalog.ProductUpdated{
		ProductID: p.ID(), SKU: p.SKU(), Name: p.Name(), CategoryID: p.CategoryID(),
		Active: p.Active(), At: p.UpdatedAt(),
	}
}

func toProductPriceChanged(f domain.ProductPriceChanged) catalog.ProductPriceChanged {
	p := f.Product
	return catalog.ProductPriceChanged{
		ProductID: p.ID(), OldPriceMinor: f.Old.Amount(), NewPriceMinor: p.Price().Amount(),
		Currency: p.Price().Currency(), At: p.UpdatedAt(),
	}
}

func toDealStarted(f domain.DealStarted) catalog.DealStarted {
	d := f.Deal
	return catalog.DealStarted{
		DealID: d.ID(), Name: d.Name(), Kind: d.Kind(), Value: d.Value(), Currency: d.Currency(),
		ProductID: d.ProductID(), CategoryID: d.CategoryID(), StartsAt: d.StartsAt(), EndsAt: d.EndsAt(),
	}
}

func toDealEnded(f domain.DealEnded) catalog.DealEnded {
	d := f.Deal
	return catalog.DealEnded{DealID: d.ID(), ProductID: d.ProductID(), CategoryID: d.CategoryID(), EndedAt: f.EndedAt}
}
