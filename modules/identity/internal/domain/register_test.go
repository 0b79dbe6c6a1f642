package domain

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// fastParams keep the tests' hashes cheap.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fullWindowRepo is a Repository whose every rate-limit window is full; the
// rest panics through the nil embedded interface if a change starts using
// it.
type fullWindowRepo struct{ Repository }

func (fullWindowRepo) Hit(_ context.Context, _ string, now time.Time, _ time.Duration) (Window, error) {
	return Window{Start: now, Count: 1000}, nil
}

// A sign-up over the limit is refused before its password is hashed: the
// limit is there to bound that work.
func TestRegisterOverTheLimitDoesNotHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hasher := NewHasher(fastParams, 1)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	policy := Policy{RegisterWindow: time.Hour, RegisterPerIP: 10}
	svc, err := NewService(fullWindowRepo{}, hasher, policy, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	before := hasher.hashed.Load()
	_, err = svc.Register(ctx, RegisterRequest{Email: "ada@example.com", Password: "a long password", Name: "Ada", ClientIP: "192.0.2.1"})
	var e *errs.Error
	if !errs.Is(err, errs.KindRateLimited) || !errors.As(err, &e) || e.RetryAfter != time.Hour {
		t.Fatalf("Register = %v, want rate limited for an hour", err)
	}
	if n := hasher.hashed.Load() - before; n != 0 {
		t.Errorf("a refused sign-up ran %d Argon2 hashes, want 0", n)
	}
}

// touchRepo serves one session and counts the updates of its last use.
type touchRepo struct {
	Repository
	sess    Session
	user    User
	touches int
}

func (r *touchRepo) SessionByTokenHash(context.Context, string) (Session, User, error) {
	return r.sess, r.user, nil
}

func (r *touchRepo) TouchSession(_ context.Context, _ uuid.UUID, now, staleBefore time.Time) error {
	r.touches++
	if !r.sess.lastSeenAt.After(staleBefore) {
		r.sess.lastSeenAt = now
	}
	return nil
}

// Authenticating refreshes a session's last use at most once a minute, not
// on every request.
func TestAuthenticateTouchesAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u, err := RestoreUser(uuid.New(), "ada@example.com", "Ada", auth.RoleCustomer, "$stub", now)
	if err != nil {
		t.Fatal(err)
	}
	sess, token, err := newSession(u.ID(), now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	repo := &touchRepo{sess: sess, user: u}
	clock := now
	policy := Policy{SessionTTL: 24 * time.Hour, SessionIdle: time.Hour}
	svc, err := NewService(repo, NewHasher(fastParams, 1), policy, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	for range 12 { // every 10 seconds for two minutes
		clock = clock.Add(10 * time.Second)
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if repo.touches != 2 {
		t.Errorf("%d updates of the last use in two minutes of requests, want 2", repo.touches)
	}
}

// adminRepo answers BootstrapAdmin as the store does: decide runs only
// when no admin exists.
type adminRepo struct {
	Repository
	adminExists bool
}

func (r adminRepo) BootstrapAdmin(_ context.Context, email string, decide func(User, bool) (User, []any, error)) (bool, error) {
	if r.adminExists {
		return false, nil
	}
	_, _, err := decide(User{}, false)
	return err == nil, err
}

// The bootstrap, which runs at every start, pays for a hash only when it
// creates the admin.
func TestEnsureAdminHashesOnlyWhenItCreates(t *testing.T) {
	t.Parallel()
	for _, exists := range []bool{true, false} {
		hasher := NewHasher(fastParams, 1)
		svc, err := NewService(adminRepo{adminExists: exists}, hasher, Policy{}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		created, err := svc.EnsureAdmin(context.Background(), "root@example.com", "a long password")
		if err != nil || created == exists {
			t.Fatalf("admin existed %v: EnsureAdmin = %v, %v", exists, created, err)
		}
		want := map[bool]int64{true: 0, false: 1}[exists]
		if n := hasher.hashed.Load(); n != want {
			t.Errorf("admin existed %v: %d Argon2 hashes, want %d", exists, n, want)
		}
	}
}
