package inventorymodule

import (
	"fmt"

	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/platform/events"
)

// toEvent maps each fact to its event; a fact without one is a programming
// error, reported rather than dropped so the change rolls back.
func toEvent(fact any) (events.Event, error) {
	switch f := fact.(type) {
	case domain.StockChanged:
		return toStockChanged(f), nil
	case domain.ReservationExpired:
		return toReservationExpired(f), nil
	}
	return nil, fmt.Errorf("inventory: no event for fact %T", fact)
}

func toStockChanged(f domain.StockChanged) inventory.StockChanged {
	l := f.Level
	return inventory.StockChanged{
		ProductID: l.ProductID(), OnHand: l.OnHand(), Reserved: l.Reserved(), Available: l.Available(),
		Reason: f.Reason, ChangedAt: l.UpdatedAt(),
	}
}

func toReservationExpired(f domain.ReservationExpired) inventory.ReservationExpired {
	return inventory.ReservationExpired{ReservationID: f.Reservation.ID(), Lines: toLines(f.Reservation.Lines()), ExpiredAt: f.At}
}
