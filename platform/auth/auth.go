// Package auth is the authentication and authorization vocabulary every
// module shares: who the caller is (Principal), what they may be (Role), and
// how a session token becomes a Principal (Authenticator). Modules use it
// without importing the identity module, which implements Authenticator.
package auth

import (
	"context"

	"github.com/shopmonolith/shop/platform/errs"
)

// Role is a coarse permission level.
type Role string

// Roles.
const (
	RoleCustomer Role = "customer"
	RoleAdmin    Role = "admin"
	// RoleService is a module acting on its own behalf (a saga step calling
	// a neighbour), never a user: identity never issues it.
	RoleService Role = "service"
)

// Valid reports whether r is a role a user can hold.
func (r Role) Valid() bool { return r == RoleCustomer || r == RoleAdmin }

// Principal is an authenticated caller.
type Principal struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Role      Role   `json:"role"`
	SessionID string `json:"session_id,omitempty"`
}

// IsAdmin reports whether the principal has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// Authenticator turns a presented session token into a Principal.
type Authenticator interface {
	// Authenticate returns KindUnauthenticated when the token is unknown,
	// expired or revoked.
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// ContextAuthenticator is an Authenticator whose answer is more than the
// principal: what the request's context must carry for it. A process that
// checks sessions at identity in another process gets identity's assertion
// of the user along, for its own calls to other processes to carry. The
// HTTP edge prefers it to Authenticate.
type ContextAuthenticator interface {
	Authenticator
	// WithSession returns ctx acting for the holder of token, with the
	// errors of Authenticate.
	WithSession(ctx context.Context, token string) (context.Context, error)
}

// Service returns the principal of a module acting on its own behalf.
func Service(module string) Principal {
	return Principal{UserID: "service:" + module, Role: RoleService}
}

// AsService returns ctx acting as module: what an event handler uses to call
// a neighbour's service-only methods.
func AsService(ctx context.Context, module string) context.Context {
	return WithPrincipal(ctx, Service(module))
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if the request is authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// RequireUser returns the caller or KindUnauthenticated.
func RequireUser(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, errs.E(errs.KindUnauthenticated, "sign in first")
	}
	return p, nil
}

// RequireRole returns the caller if they have the role: KindUnauthenticated
// without a session, KindForbidden with the wrong role.
func RequireRole(ctx context.Context, role Role) (Principal, error) {
	p, err := RequireUser(ctx)
	if err != nil {
		return p, err
	}
	if p.Role != role {
		return Principal{}, errs.E(errs.KindForbidden, "this needs the %s role", role)
	}
	return p, nil
}
