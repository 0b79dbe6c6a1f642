package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// tokenBytes is the entropy of a session token (256 bits).
const tokenBytes = 32

// touchEvery is how stale a session's last_seen_at may grow before a request
// refreshes it: authenticating then writes at most once a minute per
// session, not on every request, and the idle timeout is kept to within a
// minute.
const touchEvery = time.Minute

// Session is a server-side login. Only the SHA-256 of its token is kept: the
// token itself goes to the client once and is never stored. It ends at
// expiresAt however busy, or earlier when unused for the idle timeout
// (lastSeenAt is when it last authenticated a request).
type Session struct {
	id         uuid.UUID
	userID     uuid.UUID
	tokenHash  string
	createdAt  time.Time
	expiresAt  time.Time
	lastSeenAt time.Time
	revokedAt  *time.Time
}

// RestoreSession rebuilds a stored session.
func RestoreSession(id, userID uuid.UUID, tokenHash string, createdAt, expiresAt, lastSeenAt time.Time, revokedAt *time.Time) Session {
	s := Session{
		id: id, userID: userID, tokenHash: tokenHash,
		createdAt: createdAt.UTC(), expiresAt: expiresAt.UTC(), lastSeenAt: lastSeenAt.UTC(),
	}
	if revokedAt != nil {
		t := revokedAt.UTC()
		s.revokedAt = &t
	}
	return s
}

// newSession opens a session for user, returning it with its clear token.
func newSession(userID uuid.UUID, now time.Time, ttl time.Duration) (Session, string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Session{}, "", errs.Internal(fmt.Errorf("session id: %w", err), "create session")
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, "", errs.Internal(fmt.Errorf("session token: %w", err), "create session")
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now = now.UTC()
	return Session{id: id, userID: userID, tokenHash: HashToken(token), createdAt: now, expiresAt: now.Add(ttl), lastSeenAt: now}, token, nil
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken rejects what newSession can never have produced, sparing
// the database a lookup.
func wellFormedToken(token string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(raw) == tokenBytes
}

func (s Session) ID() uuid.UUID         { return s.id }
func (s Session) UserID() uuid.UUID     { return s.userID }
func (s Session) TokenHash() string     { return s.tokenHash }
func (s Session) CreatedAt() time.Time  { return s.createdAt }
func (s Session) ExpiresAt() time.Time  { return s.expiresAt }
func (s Session) LastSeenAt() time.Time { return s.lastSeenAt }
func (s Session) RevokedAt() *time.Time { return s.revokedAt }

// Active reports whether the session may still authenticate at now: not
// revoked, not past its absolute expiry, and used within idle.
func (s Session) Active(now time.Time, idle time.Duration) bool {
	return s.revokedAt == nil && now.Before(s.expiresAt) && now.Before(s.lastSeenAt.Add(idle))
}

// stale reports whether a use at now should refresh lastSeenAt.
func (s Session) stale(now time.Time) bool { return now.Sub(s.lastSeenAt) >= touchEvery }
