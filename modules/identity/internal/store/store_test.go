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

func TestUsers(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "ada@example.com", auth.RoleCustomer)
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUser(ctx, user(t, "ada@example.com", auth.RoleCustomer))
	if !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate email: %v, want conflict", err)
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
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	first := domain.RestoreSession(uuid.New(), u.ID(), "hash-1", t0, t0.Add(time.Hour), nil)
	second := domain.RestoreSession(uuid.New(), u.ID(), "hash-2", t0, t0.Add(time.Hour), nil)
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
	if got, _, _ := s.SessionByTokenHash(ctx, "hash-2"); got.Active(t0.Add(2 * time.Minute)) {
		t.Error("second session still active after revoke")
	}
	if _, _, err := s.SessionByTokenHash(ctx, "unknown"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown hash: %v, want not found", err)
	}
	if err := s.Prune(ctx, t0.Add(2*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByTokenHash(ctx, "hash-2"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("pruned session: %v, want not found", err)
	}
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

// TestCreateUserPublishesInItsTransaction: facts are handed to Publish with
// the insert's transaction; a failing publish rolls the insert back, and a
// failing insert publishes nothing.
func TestCreateUserPublishesInItsTransaction(t *testing.T) {
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "identity")
	db, err := dbs.Open(context.Background(), "identity")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := &recorder{}
	s := store.New(db, func() time.Time { return t0 }, rec.publish)
	u := user(t, "pub@example.com", auth.RoleCustomer)
	if err := s.CreateUser(ctx, u, domain.UserRegistered{User: u}); err != nil {
		t.Fatal(err)
	}
	if len(rec.facts) != 1 || rec.facts[0] != (domain.UserRegistered{User: u}) {
		t.Fatalf("published %+v", rec.facts)
	}
	dup := user(t, "pub@example.com", auth.RoleCustomer)
	if err := s.CreateUser(ctx, dup, domain.UserRegistered{User: dup}); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if len(rec.facts) != 1 {
		t.Errorf("a failed insert published %+v", rec.facts[1:])
	}

	failing := store.New(db, func() time.Time { return t0 }, func(context.Context, *gorm.DB, ...any) error {
		return errors.New("outbox down")
	})
	v := user(t, "lost@example.com", auth.RoleCustomer)
	if err := failing.CreateUser(ctx, v, domain.UserRegistered{User: v}); !errs.Is(err, errs.KindInternal) {
		t.Fatalf("CreateUser with a failing publish = %v, want internal", err)
	}
	if _, err := s.UserByID(ctx, v.ID()); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("user stored although its event was not: %v", err)
	}
}

// TestBootstrapAdminPromotionRevokesSessions: the promoted user's sessions
// end in the promotion's transaction; other users keep theirs.
func TestBootstrapAdminPromotionRevokesSessions(t *testing.T) {
	t.Parallel()
	s, ctx := openStore(t), context.Background()
	u := user(t, "cust@example.com", auth.RoleCustomer)
	other := user(t, "other@example.com", auth.RoleCustomer)
	for _, x := range []domain.User{u, other} {
		if err := s.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	for i, x := range []domain.User{u, u, other} {
		sess := domain.RestoreSession(uuid.New(), x.ID(), fmt.Sprintf("h%d", i), t0, t0.Add(time.Hour), nil)
		if err := s.CreateSession(ctx, sess, "", t0); err != nil {
			t.Fatal(err)
		}
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
	for hash, want := range map[string]bool{"h0": false, "h1": false, "h2": true} {
		got, _, err := s.SessionByTokenHash(ctx, hash)
		if err != nil || got.Active(t0) != want {
			t.Errorf("session %s active = %v (%v), want %v", hash, got.Active(t0), err, want)
		}
	}
}
