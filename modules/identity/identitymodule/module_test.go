package identitymodule_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

const password = "correct horse battery"

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testConfig(t *testing.T, edit func(*config.Auth)) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg.Auth)
	}
	return cfg
}

func newModule(t *testing.T, dbs *kernel.Databases, cfg config.Config, now func() time.Time) *identitymodule.Module {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The bus is not started: these tests read the outbox, not deliveries.
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := identitymodule.NewWithClock(context.Background(), dbs, log, cfg, bus, now)
	if err != nil {
		t.Fatalf("new identity module: %v", err)
	}
	return m
}

func dbtestDatabases(t *testing.T) *kernel.Databases {
	t.Helper()
	return dbtest.Databases(t, dbtest.NewURL(t), "identity")
}

func freshModule(t *testing.T, edit func(*config.Auth), now func() time.Time) *identitymodule.Module {
	t.Helper()
	return newModule(t, dbtestDatabases(t), testConfig(t, edit), now)
}

func register(t *testing.T, api identity.API) identity.User {
	t.Helper()
	u, err := api.Register(context.Background(), identity.RegisterInput{Email: identitytest.Email("u"), Password: password, Name: "Ada"})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

func TestContract(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, nil, nil)
	identitytest.Contract(t, mod.API())
	// A second run on the same database proves the suite is repeatable.
	identitytest.Contract(t, mod.API())
}

func wantRateLimited(t *testing.T, err error, window time.Duration) {
	t.Helper()
	var e *errs.Error
	if !errs.Is(err, errs.KindRateLimited) || !asError(err, &e) {
		t.Fatalf("error = %v, want rate_limited", err)
	}
	if e.RetryAfter <= 0 || e.RetryAfter > window {
		t.Errorf("RetryAfter = %v, want in (0, %v]", e.RetryAfter, window)
	}
}

// TestLoginRateLimitPerAccount counts an account's failures per client IP:
// the guesser is locked out, the owner signing in from elsewhere is not.
func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	clk := newClock()
	const window = 10 * time.Minute
	mod := freshModule(t, func(a *config.Auth) {
		a.LoginPerAccount, a.LoginPerIP, a.LoginWindow = 3, 1000, window
	}, clk.Now)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	login := func(pw, ip string) error {
		_, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: pw, ClientIP: ip})
		return err
	}

	// A success resets the account's failures.
	for range 2 {
		if err := login("wrong password", "192.0.2.1"); !errs.Is(err, errs.KindUnauthenticated) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if err := login(password, "192.0.2.1"); err != nil {
		t.Fatalf("login after 2 failures: %v", err)
	}
	for i := range 3 {
		if err := login("wrong password", "192.0.2.2"); !errs.Is(err, errs.KindUnauthenticated) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	clk.Advance(time.Minute)
	// The guessing IP is over the limit even with the right password …
	wantRateLimited(t, login(password, "192.0.2.2"), window-time.Minute)
	// … but the owner signing in from elsewhere is not locked out.
	if err := login(password, "192.0.2.3"); err != nil {
		t.Fatalf("owner from another IP after a stranger's failures: %v", err)
	}

	clk.Advance(window)
	if err := login(password, "192.0.2.2"); err != nil {
		t.Fatalf("login after the window: %v", err)
	}
}

// TestLoginRateLimitPerAccountIPv6Block: rotating addresses inside one /64
// does not reset the account's failure count.
func TestLoginRateLimitPerAccountIPv6Block(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, func(a *config.Auth) { a.LoginPerAccount, a.LoginPerIP = 2, 1000 }, nil)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	var err error
	for _, ip := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"} {
		_, err = api.Login(ctx, identity.LoginInput{Email: u.Email, Password: "wrong password", ClientIP: ip})
	}
	wantRateLimited(t, err, 15*time.Minute)
	if _, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: "2001:db8:0:1::1"}); err != nil {
		t.Errorf("login from another /64: %v", err)
	}
}

func TestLoginRateLimitUnknownAccount(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, func(a *config.Auth) { a.LoginPerAccount, a.LoginPerIP = 2, 1000 }, nil)
	api, ctx := mod.API(), context.Background()
	email := identitytest.Email("ghost")
	var err error
	for range 3 {
		_, err = api.Login(ctx, identity.LoginInput{Email: email, Password: password, ClientIP: "192.0.2.9"})
	}
	wantRateLimited(t, err, 15*time.Minute)
}

// TestLoginRateLimitPerIP counts failed logins per client IP: successes
// never use the limit up, however many; failures from any accounts do, and
// then even the right password waits; another IP is not affected.
func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, func(a *config.Auth) { a.LoginPerAccount, a.LoginPerIP = 1000, 3 }, nil)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	const ip = "198.51.100.7"
	for i := range 10 {
		if _, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: ip}); err != nil {
			t.Fatalf("successful login %d: %v", i+1, err)
		}
	}
	failures := []identity.LoginInput{
		{Email: identitytest.Email("x"), Password: password, ClientIP: ip},
		{Email: u.Email, Password: "wrong password", ClientIP: ip},
		{Email: identitytest.Email("y"), Password: password, ClientIP: ip},
	}
	for i, in := range failures {
		if _, err := api.Login(ctx, in); !errs.Is(err, errs.KindUnauthenticated) {
			t.Fatalf("failure %d: %v, want unauthenticated", i+1, err)
		}
	}
	_, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: ip})
	wantRateLimited(t, err, 15*time.Minute)
	if _, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: "198.51.100.8"}); err != nil {
		t.Errorf("login from another IP: %v", err)
	}
}

// TestRegisterRateLimitPerIP: sign-ups are limited per client IP, new and
// taken addresses alike; another IP, and trusted callers (no IP), are not
// affected; the window's end lifts the limit.
func TestRegisterRateLimitPerIP(t *testing.T) {
	t.Parallel()
	clk := newClock()
	const window = time.Hour
	mod := freshModule(t, func(a *config.Auth) { a.RegisterPerIP, a.RegisterWindow = 2, window }, clk.Now)
	api, ctx := mod.API(), context.Background()
	signUp := func(email, ip string) error {
		_, err := api.Register(ctx, identity.RegisterInput{Email: email, Password: password, Name: "Ada", ClientIP: ip})
		return err
	}
	taken := identitytest.Email("taken")
	if err := signUp(taken, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := signUp(taken, "192.0.2.1"); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("second sign-up: %v, want conflict", err)
	}
	clk.Advance(time.Minute)
	wantRateLimited(t, signUp(identitytest.Email("new"), "192.0.2.1"), window-time.Minute)
	// Invalid input is refused before the limit is counted or consulted.
	if err := signUp("not an email", "192.0.2.1"); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("invalid sign-up over the limit: %v, want invalid", err)
	}
	for _, ip := range []string{"192.0.2.2", ""} {
		if err := signUp(identitytest.Email("new"), ip); err != nil {
			t.Errorf("sign-up from %q: %v", ip, err)
		}
	}
	clk.Advance(window)
	if err := signUp(identitytest.Email("new"), "192.0.2.1"); err != nil {
		t.Errorf("sign-up after the window: %v", err)
	}
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	clk := newClock()
	mod := freshModule(t, func(a *config.Auth) { a.SessionTTL = time.Hour }, clk.Now)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	s, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(time.Hour); !s.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", s.ExpiresAt, want)
	}
	clk.Advance(time.Hour - time.Second)
	if _, err := api.Authenticate(ctx, s.Token); err != nil {
		t.Fatalf("Authenticate before expiry: %v", err)
	}
	clk.Advance(time.Second)
	_, err = api.Authenticate(ctx, s.Token)
	if !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("Authenticate after expiry: %v, want unauthenticated", err)
	}
}

// TestEnsureAdminConcurrent runs the bootstrap of two replicas (two modules
// on one database) at once: exactly one creates the admin.
func TestEnsureAdminConcurrent(t *testing.T) {
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "identity")
	cfg := testConfig(t, nil)
	mods := []*identitymodule.Module{newModule(t, dbs, cfg, nil), newModule(t, dbs, cfg, nil)}
	emails := []string{identitytest.Email("root"), identitytest.Email("root")}
	created := make([]bool, len(mods))
	errc := make([]error, len(mods))
	var wg sync.WaitGroup
	for i, m := range mods {
		wg.Go(func() { created[i], errc[i] = m.API().EnsureAdmin(context.Background(), emails[i], password) })
	}
	wg.Wait()
	if errc[0] != nil || errc[1] != nil {
		t.Fatalf("EnsureAdmin errors: %v, %v", errc[0], errc[1])
	}
	if created[0] == created[1] {
		t.Fatalf("created = %v, want exactly one true", created)
	}
	var admins int
	db, err := dbs.Open(context.Background(), "identity")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
		t.Fatal(err)
	}
	if admins != 1 {
		t.Errorf("%d admins, want 1", admins)
	}
}

// TestEnsureAdminPromotes covers an admin email that already belongs to a
// customer: the customer becomes admin with the given password.
func TestEnsureAdminPromotes(t *testing.T) {
	t.Parallel()
	api, ctx := freshModule(t, nil, nil).API(), context.Background()
	u := register(t, api)
	const newPassword = "a brand new admin password"
	created, err := api.EnsureAdmin(ctx, u.Email, newPassword)
	if err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v", created, err)
	}
	s, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: newPassword})
	if err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if s.User.Role != "admin" || s.User.ID != u.ID {
		t.Errorf("user after promotion = %+v", s.User)
	}
}

// TestSessionIdleTimeout: a session used within the idle timeout stays valid
// beyond it (up to its absolute expiry); one left unused that long ends.
func TestSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	clk := newClock()
	const idle = time.Hour
	mod := freshModule(t, func(a *config.Auth) { a.SessionTTL, a.SessionIdleTimeout = 3*time.Hour, idle }, clk.Now)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	login := func() string {
		s, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	busy, unused := login(), login()
	for range 5 { // 2.5 hours, used every 30 minutes
		clk.Advance(30 * time.Minute)
		if _, err := api.Authenticate(ctx, busy); err != nil {
			t.Fatalf("session used every 30 minutes, at %v: %v", clk.Now(), err)
		}
	}
	if _, err := api.Authenticate(ctx, unused); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("session unused for 2.5h with a 1h idle timeout: %v, want unauthenticated", err)
	}
	clk.Advance(30 * time.Minute) // 3h: the absolute expiry ends even a busy session
	if _, err := api.Authenticate(ctx, busy); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("busy session at its absolute expiry: %v, want unauthenticated", err)
	}

	fresh := login()
	clk.Advance(idle - time.Second)
	if _, err := api.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("just within the idle timeout: %v", err)
	}
	clk.Advance(idle)
	if _, err := api.Authenticate(ctx, fresh); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("idle for the timeout: %v, want unauthenticated", err)
	}
}

// TestSetRole: an admin's change of a user's role takes effect and ends the
// user's sessions; no admin can change their own role; one demoted is no
// longer allowed to change roles.
func TestSetRole(t *testing.T) {
	t.Parallel()
	api, ctx := freshModule(t, nil, nil).API(), context.Background()
	root := identitytest.Email("root")
	if created, err := api.EnsureAdmin(ctx, root, password); err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v", created, err)
	}
	admin, err := api.Login(ctx, identity.LoginInput{Email: root, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	u := register(t, api)
	before, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	set := func(actor, user string, role auth.Role) (identity.User, error) {
		return api.SetRole(ctx, identity.SetRoleInput{ActorID: actor, UserID: user, Role: role})
	}
	got, err := set(admin.User.ID, u.ID, auth.RoleAdmin)
	if err != nil || got.Role != auth.RoleAdmin || got.ID != u.ID {
		t.Fatalf("SetRole = %+v, %v", got, err)
	}
	if _, err := api.Authenticate(ctx, before.Token); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("the user's token after the role change: %v, want unauthenticated", err)
	}
	if _, err := api.Authenticate(ctx, admin.Token); err != nil {
		t.Errorf("the acting admin's token: %v", err)
	}
	_, err = set(admin.User.ID, admin.User.ID, auth.RoleCustomer)
	errstest.Kind(t, err, errs.KindConflict)

	// The new admin demotes the first; the first may then change nothing.
	if _, err := set(u.ID, admin.User.ID, auth.RoleCustomer); err != nil {
		t.Fatalf("demote: %v", err)
	}
	_, err = set(admin.User.ID, u.ID, auth.RoleCustomer)
	errstest.Kind(t, err, errs.KindForbidden)
	if got, _ := api.User(ctx, u.ID); got.Role != auth.RoleAdmin {
		t.Errorf("role after a refused change = %q", got.Role)
	}
}
