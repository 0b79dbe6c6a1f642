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
	// InsertUser inserts u unless a user has its email already, and in the
	// same transaction publishes the facts that facts returns for the
	// outcome: it gets the user holding the email (u itself when inserted)
	// and whether u was inserted. Either way it is one transaction and one
	// outbox write, so a taken email costs what a new one does.
	InsertUser(ctx context.Context, u User, facts func(holder User, inserted bool) []any) (inserted bool, err error)
	UserByID(ctx context.Context, id uuid.UUID) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string) error
	// SetPassword replaces the user's hash and, in the same transaction,
	// revokes every session of theirs but keep (uuid.Nil keeps none).
	SetPassword(ctx context.Context, userID uuid.UUID, hash string, keep uuid.UUID, now time.Time) error
	// UpdateRole locks the acting user and the user, in id order, and
	// stores the user decide returns; when its role changed, every session
	// of the user is revoked in the same transaction. decide gets the zero
	// User as actor when no user has actorID; KindNotFound when none has
	// userID.
	UpdateRole(ctx context.Context, actorID, userID uuid.UUID, now time.Time, decide func(actor, user User) (User, error)) (User, error)

	// CreateSession stores s and, in the same transaction, revokes the
	// session whose token hash is revokeHash (if any and if not yet revoked).
	CreateSession(ctx context.Context, s Session, revokeHash string, now time.Time) error
	// SessionByTokenHash returns the session and its user.
	SessionByTokenHash(ctx context.Context, hash string) (Session, User, error)
	// TouchSession sets the session's last use to now unless it is later
	// than staleBefore already: one conditional write, so concurrent
	// requests of one session do not queue on its row.
	TouchSession(ctx context.Context, id uuid.UUID, now, staleBefore time.Time) error
	// RevokeSession marks the session revoked; an unknown or already revoked
	// one is left as it is.
	RevokeSession(ctx context.Context, hash string, now time.Time) error
	// RevokeSessions revokes every session of the user but keep (uuid.Nil
	// keeps none); KindNotFound when there is no such user.
	RevokeSessions(ctx context.Context, userID, keep uuid.UUID, now time.Time) error

	// Hit counts one hit on key in a fixed window of length window and
	// returns the window after the hit; an elapsed window restarts at now.
	Hit(ctx context.Context, key string, now time.Time, window time.Duration) (Window, error)
	// Unhit takes back one hit on key if its window is still the one that
	// started at start (a window restarted since has not seen that hit).
	Unhit(ctx context.Context, key string, start time.Time) error
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
	// sessionsBefore or were last used before idleBefore, and rate-limit
	// windows that started before windowsBefore.
	Prune(ctx context.Context, sessionsBefore, idleBefore, windowsBefore time.Time) error
}
