// Package subscribe is the notifications module's event transport: it turns
// other modules' events into calls of the domain service, inside the
// transaction the event pipeline opened for the handler.
package subscribe

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
)

// Subscriber ids key the inbox: never rename them, or undelivered events
// are orphaned.
const (
	// WelcomeEmail sends the welcome message of a registration.
	WelcomeEmail = "notifications.welcome_email"
	// RegistrationRepeatedEmail tells an account's owner that someone
	// tried to sign up with their address.
	RegistrationRepeatedEmail = "notifications.registration_repeated_email"
	// OrderEmails sends the messages of an order's life. One id for all
	// order events keeps them in order per order: a shipping notice never
	// overtakes its confirmation.
	OrderEmails = "notifications.order_emails"
)

// InTx gives the repository working inside a handler's transaction.
type InTx func(tx *gorm.DB) domain.Repository

// Register subscribes the module's handlers; call it before the bus starts.
func Register(bus *events.Bus, db *database.DB, svc *domain.Service, inTx InTx) error {
	subs := []subscription{
		on(WelcomeEmail, func(ctx context.Context, tx *gorm.DB, e identity.UserRegistered, env events.Envelope) error {
			return svc.Welcome(ctx, inTx(tx), toWelcome(e, env))
		}),
		on(RegistrationRepeatedEmail, func(ctx context.Context, tx *gorm.DB, e identity.RegistrationRepeated, env events.Envelope) error {
			return svc.RegistrationRepeated(ctx, inTx(tx), domain.RegistrationRepeated{
				Source: source(env), UserID: e.UserID, Email: e.Email, Name: e.Name,
			})
		}),
		on(OrderEmails, func(ctx context.Context, tx *gorm.DB, e orders.OrderConfirmed, env events.Envelope) error {
			return svc.OrderConfirmed(ctx, inTx(tx), toOrderConfirmed(e, env))
		}),
		on(OrderEmails, func(ctx context.Context, tx *gorm.DB, e orders.OrderFailed, env events.Envelope) error {
			return svc.OrderFailed(ctx, inTx(tx), domain.OrderFailed{
				Source: source(env), OrderID: e.OrderID, UserID: e.UserID, Email: e.Email, Reason: e.Reason,
			})
		}),
		on(OrderEmails, func(ctx context.Context, tx *gorm.DB, e orders.OrderRejected, env events.Envelope) error {
			return svc.OrderFailed(ctx, inTx(tx), domain.OrderFailed{
				Source: source(env), OrderID: e.OrderID, UserID: e.UserID, Email: e.Email, Reason: e.Reason,
			})
		}),
		on(OrderEmails, func(ctx context.Context, tx *gorm.DB, e orders.OrderShipped, env events.Envelope) error {
			return svc.OrderShipped(ctx, inTx(tx), domain.OrderShipped{
				Source: source(env), OrderID: e.OrderID, UserID: e.UserID, Email: e.Email,
			})
		}),
	}
	for _, s := range subs {
		// The handlers hold an SMTP conversation: the dispatchers run them,
		// with the whole handler timeout.
		if err := bus.Subscribe(db, s.id, s.typ, s.h, events.Dispatched()); err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", s.id, s.typ, err)
		}
	}
	return nil
}

// subscription is one event type a subscriber id handles.
type subscription struct {
	id, typ string
	h       events.Handler
}

// on pairs a subscriber id with a typed handler.
func on[E events.Event](id string, fn func(context.Context, *gorm.DB, E, events.Envelope) error) subscription {
	typ, h := events.On(fn)
	return subscription{id: id, typ: typ, h: h}
}

func source(env events.Envelope) domain.Source {
	return domain.Source{EventID: env.ID, OccurredAt: env.OccurredAt}
}

func toWelcome(e identity.UserRegistered, env events.Envelope) domain.Welcome {
	return domain.Welcome{Source: source(env), UserID: e.UserID, Email: e.Email, Name: e.Name}
}

func toOrderConfirmed(e orders.OrderConfirmed, env events.Envelope) domain.OrderConfirmed {
	items := make([]domain.Line, len(e.Items))
	for i, it := range e.Items {
		items[i] = domain.Line{
			SKU: it.SKU, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: toMoney(it.UnitPrice), LineTotal: toMoney(it.LineTotal),
		}
	}
	return domain.OrderConfirmed{
		Source: source(env), OrderID: e.OrderID, UserID: e.UserID, Email: e.Email, Items: items, Total: toMoney(e.Total),
	}
}

func toMoney(m orders.Money) domain.Money {
	return domain.Money{Amount: m.Amount, Currency: m.Currency}
}
