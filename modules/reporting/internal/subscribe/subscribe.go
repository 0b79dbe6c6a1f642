// Package subscribe is the reporting module's event transport: it turns the
// orders module's events into journal records for the domain service,
// inside the transaction the event pipeline opened for the handler, and
// decodes journalled records back into facts.
package subscribe

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
)

// Sales is the subscriber id of the sales figures. It keys the inbox: never
// rename it, or undelivered events are orphaned. Both event types share it,
// so one order's confirmation and cancellation are handled in order.
const Sales = "reporting.sales"

// The event types the figures are built from.
var (
	confirmedType = orders.OrderConfirmed{}.EventType()
	cancelledType = orders.OrderCancelled{}.EventType()
)

// InTx gives the journal and figures inside a handler's transaction.
type InTx func(tx *gorm.DB) domain.Tx

// Recorder is what the handler needs of the domain service.
type Recorder interface {
	Record(ctx context.Context, tx domain.Tx, rec domain.Record) error
}

// Register subscribes the module's handler; call it before the bus starts.
func Register(bus *events.Bus, db *database.DB, svc Recorder, inTx InTx) error {
	h := Handler(svc, inTx)
	for _, typ := range []string{confirmedType, cancelledType} {
		if err := bus.Subscribe(db, Sales, typ, h); err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", Sales, typ, err)
		}
	}
	return nil
}

// Handler journals every delivered event as it was published.
func Handler(svc Recorder, inTx InTx) events.Handler {
	return func(ctx context.Context, tx *gorm.DB, env events.Envelope) error {
		return svc.Record(ctx, inTx(tx), toRecord(env))
	}
}

func toRecord(env events.Envelope) domain.Record {
	return domain.Record{EventID: env.ID, Type: env.Type, OccurredAt: env.OccurredAt, Payload: env.Payload}
}

// Decode implements domain.Decoder for the orders events the module
// subscribes to.
func Decode(rec domain.Record) (domain.Fact, error) {
	switch rec.Type {
	case confirmedType:
		var e orders.OrderConfirmed
		if err := json.Unmarshal(rec.Payload, &e); err != nil {
			return domain.Fact{}, fmt.Errorf("decode %s: %w", rec.Type, err)
		}
		s, err := domain.NewSale(toSaleInput(e))
		if err != nil {
			return domain.Fact{}, err
		}
		return domain.Confirmation(s), nil
	case cancelledType:
		var e orders.OrderCancelled
		if err := json.Unmarshal(rec.Payload, &e); err != nil {
			return domain.Fact{}, fmt.Errorf("decode %s: %w", rec.Type, err)
		}
		return domain.Cancellation(e.OrderID)
	default:
		return domain.Fact{}, fmt.Errorf("reporting does not handle %s events", rec.Type)
	}
}

func toSaleInput(e orders.OrderConfirmed) domain.SaleInput {
	in := domain.SaleInput{OrderID: e.OrderID, ConfirmedAt: e.ConfirmedAt, Total: e.Total.Amount, Currency: e.Total.Currency}
	for _, it := range e.Items {
		in.Lines = append(in.Lines, domain.LineInput{
			ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: it.UnitPrice.Amount, Currency: it.UnitPrice.Currency,
		})
	}
	return in
}
