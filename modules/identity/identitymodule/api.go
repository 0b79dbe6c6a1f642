package identitymodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
)

// api adapts the domain service to the public API.
type api struct{ svc *domain.Service }

var _ identity.API = (*api)(nil)

func (a *api) Register(ctx context.Context, in identity.RegisterInput) (identity.User, error) {
	u, err := a.svc.Register(ctx, domain.RegisterRequest{Email: in.Email, Password: in.Password, Name: in.Name, ClientIP: in.ClientIP})
	if err != nil {
		return identity.User{}, err
	}
	return toUserDTO(u), nil
}

func (a *api) Login(ctx context.Context, in identity.LoginInput) (identity.Session, error) {
	res, err := a.svc.Login(ctx, toLoginRequest(in))
	if err != nil {
		return identity.Session{}, err
	}
	return toSessionDTO(res), nil
}

func (a *api) Logout(ctx context.Context, token string) error { return a.svc.Logout(ctx, token) }

func (a *api) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	return a.svc.Authenticate(ctx, token)
}

func (a *api) User(ctx context.Context, id string) (identity.User, error) {
	u, err := a.svc.User(ctx, id)
	if err != nil {
		return identity.User{}, err
	}
	return toUserDTO(u), nil
}

func (a *api) RevokeSessions(ctx context.Context, userID string) error {
	return a.svc.RevokeSessions(ctx, userID)
}

func (a *api) ChangePassword(ctx context.Context, in identity.ChangePasswordInput) error {
	return a.svc.ChangePassword(ctx, domain.PasswordChange{
		UserID: in.UserID, SessionID: in.SessionID, Current: in.CurrentPassword, New: in.NewPassword, ClientIP: in.ClientIP,
	})
}

func (a *api) SetRole(ctx context.Context, in identity.SetRoleInput) (identity.User, error) {
	u, err := a.svc.SetRole(ctx, in.ActorID, in.UserID, in.Role)
	if err != nil {
		return identity.User{}, err
	}
	return toUserDTO(u), nil
}

func (a *api) EnsureAdmin(ctx context.Context, email, password string) (bool, error) {
	return a.svc.EnsureAdmin(ctx, email, password)
}

func toUserDTO(u domain.User) identity.User {
	return identity.User{ID: u.ID().String(), Email: u.Email(), Name: u.Name(), Role: u.Role(), CreatedAt: u.CreatedAt()}
}

func toSessionDTO(r domain.LoginResult) identity.Session {
	return identity.Session{Token: r.Token, ExpiresAt: r.Session.ExpiresAt(), User: toUserDTO(r.User)}
}

func toLoginRequest(in identity.LoginInput) domain.LoginRequest {
	return domain.LoginRequest{Email: in.Email, Password: in.Password, ClientIP: in.ClientIP, PreviousToken: in.PreviousToken}
}
