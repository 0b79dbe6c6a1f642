package inventorymodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ inventory.API = (*api)(nil)

func (a *api) Availability(ctx context.Context, productIDs []string) ([]inventory.StockLevel, error) {
	levels, err := a.svc.Availability(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.StockLevel, len(levels))
	for i, l := range levels {
		out[i] = toStockLevel(l)
	}
	return out, nil
}

func (a *api) SetStock(ctx context.Context, productID string, onHand int) (inventory.StockLevel, error) {
	l, err := a.svc.SetStock(ctx, productID, onHand)
	if err != nil {
		return inventory.StockLevel{}, err
	}
	return toStockLevel(l), nil
}

func (a *api) AdjustStock(ctx context.Context, productID string, delta int) (inventory.StockLevel, error) {
	l, err := a.svc.AdjustStock(ctx, productID, delta)
	if err != nil {
		return inventory.StockLevel{}, err
	}
	return toStockLevel(l), nil
}

func (a *api) Reserve(ctx context.Context, r inventory.ReserveRequest) (inventory.Reservation, error) {
	lines := make([]domain.LineInput, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = domain.LineInput{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return toReservation(a.svc.Reserve(ctx, r.ID, lines))
}

func (a *api) Commit(ctx context.Context, id string) (inventory.Reservation, error) {
	return toReservation(a.svc.Commit(ctx, id))
}

func (a *api) Release(ctx context.Context, id string) (inventory.Reservation, error) {
	return toReservation(a.svc.Release(ctx, id))
}

func (a *api) Reservation(ctx context.Context, id string) (inventory.Reservation, error) {
	return toReservation(a.svc.Reservation(ctx, id))
}

func toStockLevel(l domain.Level) inventory.StockLevel {
	return inventory.StockLevel{ProductID: l.ProductID(), OnHand: l.OnHand(), Reserved: l.Reserved(),
		Available: l.Available(), UpdatedAt: l.UpdatedAt()}
}

// toReservation converts a service result, passing its error through.
func toReservation(r domain.Reservation, err error) (inventory.Reservation, error) {
	if err != nil {
		return inventory.Reservation{}, err
	}
	out := inventory.Reservation{
		ID: r.ID(), Status: r.Status(), Lines: toLines(r.Lines()),
		ExpiresAt: r.ExpiresAt(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt(),
	}
	for _, s := range r.Shortages() {
		out.Shortages = append(out.Shortages, inventory.Shortage{ProductID: s.ProductID(), Requested: s.Requested(), Available: s.Available()})
	}
	return out, nil
}

// toLines never returns nil: a tombstone has an empty list of lines, not
// none.
func toLines(lines []domain.Line) []inventory.Line {
	out := make([]inventory.Line, len(lines))
	for i, l := range lines {
		out[i] = inventory.Line{ProductID: l.ProductID(), Quantity: l.Quantity()}
	}
	return out
}
