// Package authtest is the fake authenticator of HTTP tests: bearer tokens
// that stand for fixed principals.
package authtest

import (
	"context"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Tokens maps each accepted token to the principal it stands for.
type Tokens map[string]auth.Principal

var _ auth.Authenticator = Tokens(nil)

// Authenticate implements auth.Authenticator: KindUnauthenticated for any
// token not in the map.
func (ts Tokens) Authenticate(_ context.Context, token string) (auth.Principal, error) {
	if p, ok := ts[token]; ok {
		return p, nil
	}
	return auth.Principal{}, errs.E(errs.KindUnauthenticated, "unknown token")
}

// Roles accepts the token "admin" as an admin and "customer" as a customer.
func Roles() Tokens {
	return Tokens{
		"admin":    {UserID: "u-admin", Role: auth.RoleAdmin},
		"customer": {UserID: "u-customer", Role: auth.RoleCustomer},
	}
}
