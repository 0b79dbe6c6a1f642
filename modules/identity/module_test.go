package identity_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
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

func newModule(t *testing.T, dbs *kernel.Databases, cfg config.Config, now func() time.Time) *identity.Module {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The bus is not started: these tests read the outbox, not deliveries.
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner())
	if err != nil {
		t.Fatal(err)
	}
	m, err := identity.NewWithClock(context.Background(), dbs, log, cfg, bus, now)
	if err != nil {
		t.Fatalf("new identity module: %v", err)
	}
	return m
}

func dbtestDatabases(t *testing.T) *kernel.Databases {
	t.Helper()
	return dbtest.Databases(t, dbtest.NewURL(t), "identity")
}

func freshModule(t *testing.T, edit func(*config.Auth), now func() time.Time) *identity.Module {
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

func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, func(a *config.Auth) { a.LoginPerAccount, a.LoginPerIP = 1000, 3 }, nil)
	api, ctx := mod.API(), context.Background()
	u := register(t, api)
	attempts := []identity.LoginInput{
		{Email: u.Email, Password: password, ClientIP: "198.51.100.7"},
		{Email: identitytest.Email("x"), Password: password, ClientIP: "198.51.100.7"},
		{Email: u.Email, Password: "wrong password", ClientIP: "198.51.100.7"},
	}
	for i, in := range attempts {
		if _, err := api.Login(ctx, in); errs.Is(err, errs.KindRateLimited) {
			t.Fatalf("attempt %d limited early: %v", i+1, err)
		}
	}
	_, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: "198.51.100.7"})
	wantRateLimited(t, err, 15*time.Minute)
	if _, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password, ClientIP: "198.51.100.8"}); err != nil {
		t.Errorf("login from another IP: %v", err)
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
	mods := []*identity.Module{newModule(t, dbs, cfg, nil), newModule(t, dbs, cfg, nil)}
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
