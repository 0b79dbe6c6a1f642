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

// Session is a server-side login. Only the SHA-256 of its token is kept: the
// token itself goes to the client once and is never stored.
type Session struct {
	id        uuid.UUID
	userID    uuid.UUID
	tokenHash string
	createdAt time.Time
	expiresAt time.Time
	revokedAt *time.Time
}

// RestoreSession rebuilds a stored session.
func RestoreSession(id, userID uuid.UUID, tokenHash string, createdAt, expiresAt time.Time, revokedAt *time.Time) Session {
	s := Session{id: id, userID: userID, tokenHash: tokenHash, createdAt: createdAt.UTC(), expiresAt: expiresAt.UTC()}
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
	return Session{id: id, userID: userID, tokenHash: HashToken(token), createdAt: now, expiresAt: now.Add(ttl)}, token, nil
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
func (s Session) RevokedAt() *time.Time { return s.revokedAt }

// Active reports whether the session may still authenticate at now.
func (s Session) Active(now time.Time) bool {
	return s.revokedAt == nil && now.Before(s.expiresAt)
}
