package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/modules/identity/internal/store"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "identity")
	db, err := dbs.Open(context.Background(), "identity")
	if err != nil {
		t.Fatal(err)
	}
	return store.New(db, func() time.Time { return t0 }, func(context.Context, *gorm.DB, ...any) error { return nil })
}

// recorder is a store.Publish that keeps what it was given.
type recorder struct{ facts []any }

func (r *recorder) publish(_ context.Context, _ *gorm.DB, facts ...any) error {
	r.facts = append(r.facts, facts...)
	return nil
}

func user(t *testing.T, email string, role auth.Role) domain.User {
	t.Helper()
	u, err := domain.RestoreUser(uuid.New(), email, "Ada", role, "$argon2id$stub", t0)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// create inserts u, publishing nothing.
func create(t *testing.T, s *store.Store, u domain.User) {
	t.Helper()
	inserted, err := s.InsertUser(context.Background(), u, func(domain.User, bool) []any { return nil })
	if err != nil || !inserted {
		t.Fatalf("InsertUser(%s) = %v, %v", u.Email(), inserted, err)
	}
}

// session stores a session of u with the given token hash, opened at t0
// and last used at seen.
func session(t *testing.T, s *store.Store, u domain.User, hash string, seen time.Time) domain.Session {
	t.Helper()
	sess := domain.RestoreSession(uuid.New(), u.ID(), hash, t0, t0.Add(time.Hour), seen, nil)
	if err := s.CreateSession(context.Background(), sess, "", t0); err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "ada@example.com", auth.RoleCustomer)
	create(t, s, u)
	inserted, err := s.InsertUser(ctx, user(t, "ada@example.com", auth.RoleCustomer), func(domain.User, bool) []any { return nil })
	if err != nil || inserted {
		t.Fatalf("duplicate email: %v, %v; want not inserted", inserted, err)
	}
	got, err := s.UserByEmail(ctx, "ada@example.com")
	if err != nil || got != u {
		t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, u)
	}
	if _, err := s.UserByID(ctx, uuid.New()); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown id: %v, want not found", err)
	}
	if err := s.UpdatePasswordHash(ctx, u.ID(), "$new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID()); got.PasswordHash() != "$new" {
		t.Errorf("hash = %q after update", got.PasswordHash())
	}
}

func TestSessionsRotateAndRevoke(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "bob@example.com", auth.RoleCustomer)
	create(t, s, u)
	first := domain.RestoreSession(uuid.New(), u.ID(), "hash-1", t0, t0.Add(time.Hour), t0, nil)
	second := domain.RestoreSession(uuid.New(), u.ID(), "hash-2", t0, t0.Add(time.Hour), t0, nil)
	if err := s.CreateSession(ctx, first, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, second, "hash-1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, gotUser, err := s.SessionByTokenHash(ctx, "hash-1")
	if err != nil || got.RevokedAt() == nil || !got.RevokedAt().Equal(t0.Add(time.Minute)) || gotUser.ID() != u.ID() {
		t.Fatalf("first session = %+v, %v after rotation", got, err)
	}
	if err := s.RevokeSession(ctx, "hash-2", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.SessionByTokenHash(ctx, "hash-2"); got.Active(t0.Add(2*time.Minute), time.Hour) {
		t.Error("second session still active after revoke")
	}
	if _, _, err := s.SessionByTokenHash(ctx, "unknown"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown hash: %v, want not found", err)
	}
	if err := s.Prune(ctx, t0.Add(2*time.Hour), t0, t0); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "hash-2")
}

func TestHitFixedWindow(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	const window = 10 * time.Minute
	steps := []struct {
		at        time.Time
		wantStart time.Time
		wantCount int
	}{
		{t0, t0, 1},
		{t0.Add(time.Minute), t0, 2},
		{t0.Add(window - time.Second), t0, 3},
		{t0.Add(window), t0.Add(window), 1}, // the window elapsed: restart
		{t0.Add(window + time.Second), t0.Add(window), 2},
	}
	for i, st := range steps {
		w, err := s.Hit(ctx, "k", st.at, window)
		if err != nil {
			t.Fatal(err)
		}
		if !w.Start.Equal(st.wantStart) || w.Count != st.wantCount {
			t.Errorf("step %d: window %+v, want start %v count %d", i, w, st.wantStart, st.wantCount)
		}
	}
	if err := s.ResetHits(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.Hit(ctx, "k", t0.Add(window+2*time.Second), window); w.Count != 1 {
		t.Errorf("count after reset = %d, want 1", w.Count)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	calls := 0
	decide := func(existing domain.User, found bool) (domain.User, []any, error) {
		calls++
		if found {
			t.Errorf("found a user for a new email")
		}
		return user(t, "root@example.com", auth.RoleAdmin), nil, nil
	}
	created, err := s.BootstrapAdmin(ctx, "root@example.com", decide)
	if err != nil || !created {
		t.Fatalf("first bootstrap = %v, %v", created, err)
	}
	created, err = s.BootstrapAdmin(ctx, "other@example.com", decide)
	if err != nil || created || calls != 1 {
		t.Fatalf("second bootstrap = %v, %v (decide called %d times)", created, err, calls)
	}
}

// TestInsertUserPublishesInItsTransaction: the facts of the outcome are
// handed to Publish with the insert's transaction: a new user's, or, for a
// taken email, those about the user holding it. A failing publish rolls the
// insert back.
func TestInsertUserPublishesInItsTransaction(t *testing.T) {
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "identity")
	db, err := dbs.Open(context.Background(), "identity")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := &recorder{}
	s := store.New(db, func() time.Time { return t0 }, rec.publish)
	type outcome struct {
		holder   domain.User
		inserted bool
	}
	facts := func(holder domain.User, inserted bool) []any { return []any{outcome{holder, inserted}} }
	u := user(t, "pub@example.com", auth.RoleCustomer)
	if inserted, err := s.InsertUser(ctx, u, facts); err != nil || !inserted {
		t.Fatalf("InsertUser = %v, %v", inserted, err)
	}
	dup := user(t, "pub@example.com", auth.RoleCustomer)
	if inserted, err := s.InsertUser(ctx, dup, facts); err != nil || inserted {
		t.Fatalf("duplicate: %v, %v; want not inserted", inserted, err)
	}
	want := []any{outcome{u, true}, outcome{u, false}}
	if len(rec.facts) != 2 || rec.facts[0] != want[0] || rec.facts[1] != want[1] {
		t.Fatalf("published %+v, want %+v", rec.facts, want)
	}

	failing := store.New(db, func() time.Time { return t0 }, func(context.Context, *gorm.DB, ...any) error {
		return errors.New("outbox down")
	})
	v := user(t, "lost@example.com", auth.RoleCustomer)
	if _, err := failing.InsertUser(ctx, v, facts); !errs.Is(err, errs.KindInternal) {
		t.Fatalf("InsertUser with a failing publish = %v, want internal", err)
	}
	if _, err := s.UserByID(ctx, v.ID()); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("user stored although its event was not: %v", err)
	}
}

// TestTouchSessionIsConditional: a use is recorded only when the last one
// is older than the threshold, so a busy session writes rarely.
func TestTouchSessionIsConditional(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "touch@example.com", auth.RoleCustomer)
	create(t, s, u)
	sess := session(t, s, u, "h", t0)
	seen := func() time.Time {
		got, _, err := s.SessionByTokenHash(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		return got.LastSeenAt()
	}
	// Last seen at t0, which is after the threshold: no write.
	if err := s.TouchSession(ctx, sess.ID(), t0.Add(time.Minute), t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := seen(); !got.Equal(t0) {
		t.Errorf("last seen %v after a touch within the threshold, want %v", got, t0)
	}
	if err := s.TouchSession(ctx, sess.ID(), t0.Add(2*time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if got := seen(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("last seen %v, want %v", got, t0.Add(2*time.Minute))
	}
}

// TestRevokeSessionsKeepsOne: revoking a user's sessions spares the kept
// one and other users' sessions; an unknown user is not found.
func TestRevokeSessionsKeepsOne(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u, other := user(t, "many@example.com", auth.RoleCustomer), user(t, "else@example.com", auth.RoleCustomer)
	create(t, s, u)
	create(t, s, other)
	kept := session(t, s, u, "h0", t0)
	session(t, s, u, "h1", t0)
	session(t, s, other, "h2", t0)
	if err := s.RevokeSessions(ctx, u.ID(), kept.ID(), t0); err != nil {
		t.Fatal(err)
	}
	wantActive(t, s, map[string]bool{"h0": true, "h1": false, "h2": true})
	if err := s.SetPassword(ctx, u.ID(), "$changed", uuid.Nil, t0); err != nil {
		t.Fatal(err)
	}
	wantActive(t, s, map[string]bool{"h0": false, "h2": true})
	if got, _ := s.UserByID(ctx, u.ID()); got.PasswordHash() != "$changed" {
		t.Errorf("hash = %q after SetPassword", got.PasswordHash())
	}
	if err := s.RevokeSessions(ctx, uuid.New(), uuid.Nil, t0); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown user: %v, want not found", err)
	}
	// Prune deletes a session unused since before the idle bound, although
	// it neither expired nor was revoked.
	if err := s.Prune(ctx, t0, t0.Add(time.Second), t0); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "h2")
}

// TestUpdateRole: a changed role is stored and ends the user's sessions;
// an unchanged one writes nothing; decide's refusal changes nothing.
func TestUpdateRole(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	adm, u := user(t, "adm@example.com", auth.RoleAdmin), user(t, "cust@example.com", auth.RoleCustomer)
	create(t, s, adm)
	create(t, s, u)
	session(t, s, u, "h", t0)
	to := func(role auth.Role) func(actor, user domain.User) (domain.User, error) {
		return func(actor, user domain.User) (domain.User, error) {
			if actor.ID() != adm.ID() || user.ID() != u.ID() {
				t.Errorf("decide got actor %v, user %v", actor.ID(), user.ID())
			}
			return domain.RestoreUser(user.ID(), user.Email(), user.Name(), role, user.PasswordHash(), user.CreatedAt())
		}
	}
	if _, err := s.UpdateRole(ctx, adm.ID(), u.ID(), t0, to(auth.RoleCustomer)); err != nil {
		t.Fatal(err)
	}
	wantActive(t, s, map[string]bool{"h": true})
	got, err := s.UpdateRole(ctx, adm.ID(), u.ID(), t0, to(auth.RoleAdmin))
	if err != nil || got.Role() != auth.RoleAdmin {
		t.Fatalf("UpdateRole = %+v, %v", got, err)
	}
	if stored, _ := s.UserByID(ctx, u.ID()); stored.Role() != auth.RoleAdmin {
		t.Errorf("stored role %q", stored.Role())
	}
	wantActive(t, s, map[string]bool{"h": false})
	refuse := func(domain.User, domain.User) (domain.User, error) {
		return domain.User{}, errs.E(errs.KindForbidden, "no")
	}
	if _, err := s.UpdateRole(ctx, adm.ID(), u.ID(), t0, refuse); !errs.Is(err, errs.KindForbidden) {
		t.Errorf("refused: %v", err)
	}
	if _, err := s.UpdateRole(ctx, adm.ID(), uuid.New(), t0, to(auth.RoleAdmin)); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown user: %v, want not found", err)
	}
}

// TestUnhit takes back a hit of the current window only, never below zero.
func TestUnhit(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	const window = 10 * time.Minute
	w, _ := s.Hit(ctx, "k", t0, window)
	for range 2 {
		if err := s.Unhit(ctx, "k", w.Start); err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := s.Hit(ctx, "k", t0.Add(time.Second), window); w.Count != 1 || !w.Start.Equal(t0) {
		t.Errorf("window after two takebacks and a hit = %+v, want count 1 from t0", w)
	}
	if err := s.Unhit(ctx, "k", t0.Add(-window)); err != nil { // an earlier window's hit
		t.Fatal(err)
	}
	if w, _ := s.Hit(ctx, "k", t0.Add(2*time.Second), window); w.Count != 2 {
		t.Errorf("count = %d, want 2: a stale takeback changed the window", w.Count)
	}
}

func wantActive(t *testing.T, s *store.Store, want map[string]bool) {
	t.Helper()
	for hash, active := range want {
		got, _, err := s.SessionByTokenHash(context.Background(), hash)
		if err != nil || (got.RevokedAt() == nil) != active {
			t.Errorf("session %s active = %v (%v), want %v", hash, got.RevokedAt() == nil, err, active)
		}
	}
}

// TestBootstrapAdminPromotionRevokesSessions: the promoted user's sessions
// end in the promotion's transaction; other users keep theirs.
func TestBootstrapAdminPromotionRevokesSessions(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "cust@example.com", auth.RoleCustomer)
	other := user(t, "other@example.com", auth.RoleCustomer)
	create(t, s, u)
	create(t, s, other)
	for i, x := range []domain.User{u, u, other} {
		session(t, s, x, fmt.Sprintf("h%d", i), t0)
	}
	created, err := s.BootstrapAdmin(ctx, u.Email(), func(existing domain.User, found bool) (domain.User, []any, error) {
		if !found || existing.ID() != u.ID() {
			t.Fatalf("decide got %+v, %v", existing, found)
		}
		admin, _ := domain.RestoreUser(u.ID(), u.Email(), u.Name(), auth.RoleAdmin, "$new", t0)
		return admin, nil, nil
	})
	if err != nil || !created {
		t.Fatalf("BootstrapAdmin = %v, %v", created, err)
	}
	wantActive(t, s, map[string]bool{"h0": false, "h1": false, "h2": true})
}

// wantGone checks that the session of hash was pruned.
func wantGone(t *testing.T, s *store.Store, hash string) {
	t.Helper()
	if _, _, err := s.SessionByTokenHash(context.Background(), hash); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("session %s after prune: %v, want not found", hash, err)
	}
}
