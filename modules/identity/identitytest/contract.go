// Package identitytest holds the behavioural contract of identity.API. The
// same suite runs against the in-process module and against any remote
// adapter; it only uses the API and may run repeatedly on one database.
package identitytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

const password = "correct horse battery"

// Contract checks api's behaviour. It registers users with random emails and
// logs in from a random client IP, so earlier runs do not interfere.
func Contract(t *testing.T, api identity.API) {
	t.Helper()
	c := &contract{api: api, ip: randomIP()}
	t.Run("Register", c.register)
	t.Run("RegisterDuplicateEmail", c.duplicate)
	t.Run("RegisterInvalid", c.invalid)
	t.Run("Login", c.login)
	t.Run("LoginWrongCredentials", c.wrongCredentials)
	t.Run("Logout", c.logout)
	t.Run("LoginRevokesPreviousToken", c.rotation)
	t.Run("User", c.user)
	t.Run("RevokeSessions", c.revokeSessions)
	t.Run("ChangePassword", c.changePassword)
	t.Run("SetRoleRefusals", c.setRoleRefusals)
	t.Run("EnsureAdmin", c.ensureAdmin)
}

type contract struct {
	api identity.API
	ip  string
}

// Email returns an address no earlier run used.
func Email(prefix string) string { return fmt.Sprintf("%s-%s@example.com", prefix, randomHex(6)) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomIP() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

func (c *contract) registered(t *testing.T, prefix string) identity.User {
	t.Helper()
	u, err := c.api.Register(context.Background(), identity.RegisterInput{Email: Email(prefix), Password: password, Name: "Ada"})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

func (c *contract) loggedIn(t *testing.T, email, previous string) identity.Session {
	t.Helper()
	s, err := c.api.Login(context.Background(), identity.LoginInput{Email: email, Password: password, ClientIP: c.ip, PreviousToken: previous})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return s
}

func (c *contract) register(t *testing.T) {
	email := Email("Reg")
	u, err := c.api.Register(context.Background(), identity.RegisterInput{Email: "  " + email + " ", Password: password, Name: "  Ada Lovelace "})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if u.ID == "" || u.CreatedAt.IsZero() {
		t.Errorf("user %+v lacks id or created_at", u)
	}
	if want := normalized(email); u.Email != want {
		t.Errorf("email = %q, want %q (trimmed, lower case)", u.Email, want)
	}
	if u.Name != "Ada Lovelace" || u.Role != auth.RoleCustomer {
		t.Errorf("name, role = %q, %q; want trimmed name and customer", u.Name, u.Role)
	}
}

// duplicate: a taken email is a conflict for trusted callers, and the
// account keeps its password.
func (c *contract) duplicate(t *testing.T) {
	u := c.registered(t, "dup")
	_, err := c.api.Register(context.Background(), identity.RegisterInput{Email: upper(u.Email), Password: "another password", Name: "Other"})
	errstest.Kind(t, err, errs.KindConflict)
	wantFields(t, err, "email")
	if s := c.loggedIn(t, u.Email, ""); s.User.ID != u.ID || s.User.Name != u.Name {
		t.Errorf("after a repeated sign-up the account is %+v, want %+v", s.User, u)
	}
}

func (c *contract) invalid(t *testing.T) {
	cases := []struct {
		name   string
		in     identity.RegisterInput
		fields []string
	}{
		{"all empty", identity.RegisterInput{}, []string{"email", "password", "name"}},
		{"bad email", identity.RegisterInput{Email: "not-an-email", Password: password, Name: "A"}, []string{"email"}},
		{"short password", identity.RegisterInput{Email: Email("inv"), Password: "1234567", Name: "A"}, []string{"password"}},
		{"blank name", identity.RegisterInput{Email: Email("inv"), Password: password, Name: "   "}, []string{"name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.api.Register(context.Background(), tc.in)
			errstest.Kind(t, err, errs.KindInvalid)
			wantFields(t, err, tc.fields...)
		})
	}
}

func (c *contract) login(t *testing.T) {
	u := c.registered(t, "login")
	s := c.loggedIn(t, upper(u.Email), "")
	if s.Token == "" || !s.ExpiresAt.After(u.CreatedAt) || s.User.ID != u.ID {
		t.Fatalf("session %+v for user %+v", s, u)
	}
	p, err := c.api.Authenticate(context.Background(), s.Token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.UserID != u.ID || p.Email != u.Email || p.Role != auth.RoleCustomer || p.SessionID == "" {
		t.Errorf("principal %+v for user %+v", p, u)
	}
	_, err = c.api.Authenticate(context.Background(), "not-a-token")
	errstest.Kind(t, err, errs.KindUnauthenticated)
}

func (c *contract) wrongCredentials(t *testing.T) {
	u := c.registered(t, "wrong")
	ctx := context.Background()
	_, wrongPassword := c.api.Login(ctx, identity.LoginInput{Email: u.Email, Password: "not the password", ClientIP: c.ip})
	_, unknownEmail := c.api.Login(ctx, identity.LoginInput{Email: Email("nobody"), Password: password, ClientIP: c.ip})
	errstest.Kind(t, wrongPassword, errs.KindUnauthenticated)
	errstest.Kind(t, unknownEmail, errs.KindUnauthenticated)
	if message(wrongPassword) != message(unknownEmail) {
		t.Errorf("messages differ: %q vs %q", message(wrongPassword), message(unknownEmail))
	}
}

func (c *contract) logout(t *testing.T) {
	u := c.registered(t, "logout")
	s := c.loggedIn(t, u.Email, "")
	ctx := context.Background()
	if err := c.api.Logout(ctx, s.Token); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err := c.api.Authenticate(ctx, s.Token)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	if err := c.api.Logout(ctx, s.Token); err != nil {
		t.Errorf("second Logout: %v, want nil (idempotent)", err)
	}
}

func (c *contract) rotation(t *testing.T) {
	u := c.registered(t, "rotate")
	first := c.loggedIn(t, u.Email, "")
	second := c.loggedIn(t, u.Email, first.Token)
	if second.Token == first.Token {
		t.Fatal("login reused the previous token")
	}
	_, err := c.api.Authenticate(context.Background(), first.Token)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	if _, err := c.api.Authenticate(context.Background(), second.Token); err != nil {
		t.Errorf("Authenticate new token: %v", err)
	}
}

func (c *contract) user(t *testing.T) {
	u := c.registered(t, "user")
	got, err := c.api.User(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if got.ID != u.ID || got.Email != u.Email || got.Name != u.Name || got.Role != u.Role || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("User = %+v, want %+v", got, u)
	}
	for _, id := range []string{"01890000-0000-7000-8000-000000000000", "not-a-uuid"} {
		_, err := c.api.User(context.Background(), id)
		errstest.Kind(t, err, errs.KindNotFound)
	}
}

// ensureAdmin cannot assume an empty database: a first call may find an
// admin already; a second call must always find one.
func (c *contract) ensureAdmin(t *testing.T) {
	ctx := context.Background()
	first, second := Email("admin"), Email("admin")
	created, err := c.api.EnsureAdmin(ctx, first, password)
	if err != nil {
		t.Fatalf("EnsureAdmin: %v", err)
	}
	if created {
		s := c.loggedIn(t, first, "")
		if s.User.Role != auth.RoleAdmin {
			t.Errorf("created admin has role %q", s.User.Role)
		}
	}
	again, err := c.api.EnsureAdmin(ctx, second, password)
	if err != nil || again {
		t.Fatalf("second EnsureAdmin = %v, %v; want false, nil", again, err)
	}
	_, err = c.api.Login(ctx, identity.LoginInput{Email: second, Password: password, ClientIP: c.ip})
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.EnsureAdmin(ctx, "nope", "short")
	errstest.Kind(t, err, errs.KindInvalid)
}

// active reports whether token still authenticates.
func (c *contract) active(t *testing.T, token string) bool {
	t.Helper()
	_, err := c.api.Authenticate(context.Background(), token)
	if err != nil && !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("Authenticate: %v", err)
	}
	return err == nil
}

func (c *contract) revokeSessions(t *testing.T) {
	u, other := c.registered(t, "everywhere"), c.registered(t, "bystander")
	a, b, kept := c.loggedIn(t, u.Email, ""), c.loggedIn(t, u.Email, ""), c.loggedIn(t, other.Email, "")
	ctx := context.Background()
	if err := c.api.RevokeSessions(ctx, u.ID); err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	if c.active(t, a.Token) || c.active(t, b.Token) {
		t.Error("a session survived RevokeSessions")
	}
	if !c.active(t, kept.Token) {
		t.Error("another user's session was revoked")
	}
	if s := c.loggedIn(t, u.Email, ""); !c.active(t, s.Token) {
		t.Error("signing in again after RevokeSessions failed")
	}
	for _, id := range []string{"01890000-0000-7000-8000-000000000000", "not-a-uuid"} {
		errstest.Kind(t, c.api.RevokeSessions(ctx, id), errs.KindNotFound)
	}
}

func (c *contract) changePassword(t *testing.T) {
	u := c.registered(t, "passwd")
	current, other := c.loggedIn(t, u.Email, ""), c.loggedIn(t, u.Email, "")
	ctx := context.Background()
	p, err := c.api.Authenticate(ctx, current.Token)
	if err != nil {
		t.Fatal(err)
	}
	change := func(cur, next string) error {
		return c.api.ChangePassword(ctx, identity.ChangePasswordInput{
			UserID: u.ID, SessionID: p.SessionID, CurrentPassword: cur, NewPassword: next, ClientIP: c.ip,
		})
	}
	err = change("not the password", "a new password")
	errstest.Kind(t, err, errs.KindInvalid)
	wantFields(t, err, "current_password")
	err = change(password, "short")
	errstest.Kind(t, err, errs.KindInvalid)
	wantFields(t, err, "new_password")
	if !c.active(t, other.Token) {
		t.Fatal("a refused change revoked a session")
	}

	const next = "a brand new password"
	if err := change(password, next); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if !c.active(t, current.Token) || c.active(t, other.Token) {
		t.Errorf("after the change: current session active %v, other %v; want true, false",
			c.active(t, current.Token), c.active(t, other.Token))
	}
	_, err = c.api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: c.ip})
	errstest.Kind(t, err, errs.KindUnauthenticated)
	if _, err := c.api.Login(ctx, identity.LoginInput{Email: u.Email, Password: next, ClientIP: c.ip}); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	err = c.api.ChangePassword(ctx, identity.ChangePasswordInput{UserID: "not-a-uuid", CurrentPassword: next, NewPassword: next})
	errstest.Kind(t, err, errs.KindNotFound)
}

// setRoleRefusals: what SetRole refuses whoever calls it. Granting a role
// needs an admin, which a contract run on a shared database cannot make
// (see ensureAdmin); the module's own tests cover it.
func (c *contract) setRoleRefusals(t *testing.T) {
	u, customer := c.registered(t, "role"), c.registered(t, "notadmin")
	ctx := context.Background()
	set := func(actor, user string, role auth.Role) error {
		_, err := c.api.SetRole(ctx, identity.SetRoleInput{ActorID: actor, UserID: user, Role: role})
		return err
	}
	errstest.Kind(t, set(customer.ID, u.ID, auth.RoleAdmin), errs.KindForbidden)
	errstest.Kind(t, set(u.ID, u.ID, auth.RoleAdmin), errs.KindConflict)
	err := set(customer.ID, u.ID, "root")
	errstest.Kind(t, err, errs.KindInvalid)
	wantFields(t, err, "role")
	errstest.Kind(t, set(customer.ID, "01890000-0000-7000-8000-000000000000", auth.RoleAdmin), errs.KindNotFound)
	if got, err := c.api.User(ctx, u.ID); err != nil || got.Role != auth.RoleCustomer {
		t.Errorf("after refused changes the user is %+v (%v), want a customer", got, err)
	}
}
