package identity

import (
	"context"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
)

// API is what other modules (and remote adapters) may call on identity.
type API interface {
	// Register creates a customer account and publishes UserRegistered in
	// the same transaction. It returns KindInvalid naming the broken
	// fields (email, password, name), KindRateLimited (with RetryAfter)
	// when in.ClientIP signed up too often in the window (counted before
	// the password is hashed), and KindConflict (field email) when the
	// email is registered already: then nothing is created, and
	// RegistrationRepeated is published in the same kind of transaction,
	// after the same work, so the owner is told. Trusted callers see the
	// conflict; the HTTP edge answers both outcomes alike (see http.go).
	Register(ctx context.Context, in RegisterInput) (User, error)

	// Login opens a new session and revokes in.PreviousToken's session, if
	// any. It returns KindUnauthenticated ("email or password is wrong")
	// for an unknown email, a wrong password and an email no account can
	// have (control characters) alike, and KindRateLimited (with
	// RetryAfter) when the client IP, or this account from this client IP,
	// made too many failed attempts in the current window (a successful
	// login does not count).
	Login(ctx context.Context, in LoginInput) (Session, error)

	// Logout revokes the session of token. Logging out of an unknown,
	// expired or revoked session succeeds (the call is idempotent). It
	// returns KindInternal only.
	//shop:idempotent
	Logout(ctx context.Context, token string) error

	// Authenticate returns the caller holding token; KindUnauthenticated
	// when the token is unknown, expired, unused for longer than the idle
	// timeout, or revoked.
	//shop:idempotent
	Authenticate(ctx context.Context, token string) (auth.Principal, error)

	// User returns a user; KindNotFound when id is unknown or not a UUID.
	//shop:idempotent
	User(ctx context.Context, id string) (User, error)

	// RevokeSessions ends every session of the user, whoever holds it
	// ("sign out everywhere"). KindNotFound when userID is unknown or not
	// a UUID.
	//shop:idempotent
	RevokeSessions(ctx context.Context, userID string) error

	// ChangePassword replaces a user's password, given the current one,
	// and revokes every session of theirs except in.SessionID. It returns
	// KindInvalid naming current_password when that is wrong (which counts
	// as a failed login of the account from in.ClientIP) and new_password
	// when it breaks the rules of Register, KindRateLimited (with
	// RetryAfter) past the account's failure limit, and KindNotFound for
	// an unknown user.
	ChangePassword(ctx context.Context, in ChangePasswordInput) error

	// SetRole gives a user a role on behalf of an admin, and revokes every
	// session of the user when the role changes. It returns KindInvalid
	// naming role for anything but customer or admin, KindNotFound for an
	// unknown user, KindConflict when the admin names themselves (an admin
	// cannot change their own role, so one admin always remains), and
	// KindForbidden when in.ActorID is not an admin's.
	SetRole(ctx context.Context, in SetRoleInput) (User, error)

	// EnsureAdmin makes sure an admin exists. When none does, the user with
	// email is promoted to admin and given password (and every session of
	// theirs is revoked, so no token issued to the customer carries admin
	// rights), or created as admin if there is no such user (publishing
	// UserRegistered); created then is true. When an admin exists
	// it does nothing and returns false. Safe when replicas call it at
	// once. It returns KindInvalid for a bad email or password.
	EnsureAdmin(ctx context.Context, email, password string) (created bool, err error)
}

// RegisterInput is a sign-up. The role is never chosen by the client: new
// users are customers.
type RegisterInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	// ClientIP is the address the sign-up rate limit counts; empty skips
	// it (trusted in-process callers only).
	ClientIP string `json:"client_ip,omitempty"`
}

// LoginInput is one login attempt.
type LoginInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// ClientIP is the address the per-IP rate limit counts; empty skips
	// that limit (trusted in-process callers only).
	ClientIP string `json:"client_ip,omitempty"`
	// PreviousToken is the session the login replaces, if any; it is
	// revoked when the login succeeds. The HTTP edge passes the session
	// cookie's token, never a bearer token (see the package doc).
	PreviousToken string `json:"previous_token,omitempty"`
}

// ChangePasswordInput is a user's change of their own password.
type ChangePasswordInput struct {
	UserID          string `json:"user_id"`
	SessionID       string `json:"session_id,omitempty"` // kept; the others are revoked
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// ClientIP keys the account's failure limit, as for Login.
	ClientIP string `json:"client_ip,omitempty"`
}

// SetRoleInput is an admin's change of a user's role.
type SetRoleInput struct {
	ActorID string    `json:"actor_id"` // the admin making the change
	UserID  string    `json:"user_id"`
	Role    auth.Role `json:"role"`
}

// User is an account as other modules see it (never its password hash).
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a new login: the bearer token (shown only here) and its user.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// UserRegistered is published when an account is created (by Register, or
// by EnsureAdmin creating the first admin), in the transaction that inserts
// the user: a rolled-back sign-up publishes nothing.
type UserRegistered struct {
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	RegisteredAt time.Time `json:"registered_at"`
}

// EventType is the stable name of the event; a change of the payload that
// old subscribers cannot read gets a new version.
func (UserRegistered) EventType() string { return "identity.user_registered.v1" }

// EventKey orders the events of one user.
func (e UserRegistered) EventKey() string { return e.UserID }

// RegistrationRepeated is published when someone signs up with the email of
// an existing account, in a transaction of its own (nothing else changes).
// The sign-up's HTTP answer does not say the email is taken, which would let
// anyone probe for accounts; the owner is told by this event instead.
type RegistrationRepeated struct {
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	AttemptedAt time.Time `json:"attempted_at"`
}

// EventType is the stable name of the event.
func (RegistrationRepeated) EventType() string { return "identity.registration_repeated.v1" }

// EventKey orders the events of one user.
func (e RegistrationRepeated) EventKey() string { return e.UserID }
