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
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
)

// WelcomeEmail is the subscriber id of the welcome message. It keys the
// inbox: never rename it, or undelivered events are orphaned.
const WelcomeEmail = "notifications.welcome_email"

// InTx gives the repository working inside a handler's transaction.
type InTx func(tx *gorm.DB) domain.Repository

// Register subscribes the module's handlers; call it before the bus starts.
func Register(bus *events.Bus, db *database.DB, svc *domain.Service, inTx InTx) error {
	typ, h := events.On(func(ctx context.Context, tx *gorm.DB, e identity.UserRegistered, env events.Envelope) error {
		return svc.Welcome(ctx, inTx(tx), toWelcome(e, env))
	})
	if err := bus.Subscribe(db, WelcomeEmail, typ, h); err != nil {
		return fmt.Errorf("subscribe %s: %w", WelcomeEmail, err)
	}
	return nil
}

func toWelcome(e identity.UserRegistered, env events.Envelope) domain.Welcome {
	return domain.Welcome{EventID: env.ID, UserID: e.UserID, Email: e.Email, Name: e.Name}
}
