package identitymodule

import (
	"fmt"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/modules/identity/internal/store"
	"github.com/shopmonolith/shop/platform/events"
)

// publisher turns the facts the domain reports into this package's public
// events and records them in the outbox, inside the store's transaction.
// It lives here because only the root package may name the public events.
func publisher(outbox *events.Outbox) store.Publish { return events.Translate(outbox, toEvent) }

// toEvent maps one fact to its public event; an unknown fact is a
// programming error, reported rather than silently dropped.
func toEvent(fact any) (events.Event, error) {
	switch f := fact.(type) {
	case domain.UserRegistered:
		return toUserRegistered(f), nil
	case domain.RegistrationRepeated:
		u := f.User
		return identity.RegistrationRepeated{UserID: u.ID().String(), Email: u.Email(), Name: u.Name(), AttemptedAt: f.At}, nil
	default:
		return nil, fmt.Errorf("identity: no public event for fact %T", fact)
	}
}

func toUserRegistered(f domain.UserRegistered) identity.UserRegistered {
	u := f.User
	return identity.UserRegistered{UserID: u.ID().String(), Email: u.Email(), Name: u.Name(), RegisteredAt: u.CreatedAt()}
}
