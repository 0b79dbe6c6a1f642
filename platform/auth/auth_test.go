package auth_test

import (
	"context"
	"testing"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

func TestRequireRole(t *testing.T) {
	t.Parallel()
	customer := auth.Principal{UserID: "c", Role: auth.RoleCustomer}
	admin := auth.Principal{UserID: "a", Role: auth.RoleAdmin}
	tests := []struct {
		name     string
		ctx      context.Context
		role     auth.Role
		wantKind errs.Kind
		wantOK   bool
	}{
		{"anonymous", context.Background(), auth.RoleCustomer, errs.KindUnauthenticated, false},
		{"customer as customer", auth.WithPrincipal(context.Background(), customer), auth.RoleCustomer, 0, true},
		{"customer as admin", auth.WithPrincipal(context.Background(), customer), auth.RoleAdmin, errs.KindForbidden, false},
		{"admin as admin", auth.WithPrincipal(context.Background(), admin), auth.RoleAdmin, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := auth.RequireRole(tt.ctx, tt.role)
			if tt.wantOK {
				if err != nil || p.Role != tt.role {
					t.Errorf("RequireRole = %+v, %v", p, err)
				}
				return
			}
			if !errs.Is(err, tt.wantKind) {
				t.Errorf("RequireRole err = %v, want kind %v", err, tt.wantKind)
			}
			if p != (auth.Principal{}) {
				t.Errorf("RequireRole returned %+v with an error", p)
			}
		})
	}
}

func TestPrincipalInContext(t *testing.T) {
	t.Parallel()
	if _, ok := auth.FromContext(context.Background()); ok {
		t.Error("empty context has a principal")
	}
	if _, err := auth.RequireUser(context.Background()); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("RequireUser(anonymous) = %v", err)
	}
	p := auth.Principal{UserID: "u", Email: "u@x", Role: auth.RoleAdmin}
	got, err := auth.RequireUser(auth.WithPrincipal(context.Background(), p))
	if err != nil || got != p {
		t.Errorf("RequireUser = %+v, %v", got, err)
	}
	if !p.IsAdmin() || (auth.Principal{Role: auth.RoleCustomer}).IsAdmin() {
		t.Error("IsAdmin wrong")
	}
	for r, valid := range map[auth.Role]bool{auth.RoleAdmin: true, auth.RoleCustomer: true, "root": false, "": false} {
		if r.Valid() != valid {
			t.Errorf("Role(%q).Valid() = %v", r, !valid)
		}
	}
}
