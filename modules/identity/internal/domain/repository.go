package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Window is a fixed rate-limit window: how many hits it has seen since Start.
type Window struct {
	Start time.Time
	Count int
}

// Repository is the storage the service needs. Implementations return errs
// kinds: KindConflict (field email) for a duplicate email, KindNotFound for
// an unknown user or session, KindInternal otherwise.
type Repository interface {
	// CreateUser inserts u and publishes facts in the same transaction.
	CreateUser(ctx context.Context, u User, facts ...any) error
	UserByID(ctx context.Context, id uuid.UUID) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string) error

	// CreateSession stores s and, in the same transaction, revokes the
	// session whose token hash is revokeHash (if any and if not yet revoked).
	CreateSession(ctx context.Context, s Session, revokeHash string, now time.Time) error
	// SessionByTokenHash returns the session and its user.
	SessionByTokenHash(ctx context.Context, hash string) (Session, User, error)
	// RevokeSession marks the session revoked; an unknown or already revoked
	// one is left as it is.
	RevokeSession(ctx context.Context, hash string, now time.Time) error

	// Hit counts one hit on key in a fixed window of length window and
	// returns the window after the hit; an elapsed window restarts at now.
	Hit(ctx context.Context, key string, now time.Time, window time.Duration) (Window, error)
	// ResetHits forgets key's window.
	ResetHits(ctx context.Context, key string) error

	// BootstrapAdmin runs under a lock that serialises it across replicas.
	// When an admin exists it returns false. Otherwise decide gets the user
	// registered with email (found false when none) and returns the admin
	// to store, inserted or updated accordingly, and the facts to publish
	// with it. An updated (promoted) user loses every session in the same
	// transaction: tokens issued before the promotion must not gain rights.
	BootstrapAdmin(ctx context.Context, email string, decide func(existing User, found bool) (User, []any, error)) (bool, error)

	// Prune deletes sessions that expired or were revoked before
	// sessionsBefore and rate-limit windows that started before
	// windowsBefore.
	Prune(ctx context.Context, sessionsBefore, windowsBefore time.Time) error
}
