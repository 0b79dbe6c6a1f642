package domain

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// loginRepo is the part of a Repository a failed login touches; the rest
// panics through the nil embedded interface if a change starts using it.
type loginRepo struct {
	Repository
	user User
}

func (r loginRepo) UserByEmail(_ context.Context, email string) (User, error) {
	if email == r.user.Email() {
		return r.user, nil
	}
	return User{}, errs.E(errs.KindNotFound, "no user")
}

func (loginRepo) Hit(_ context.Context, _ string, now time.Time, _ time.Duration) (Window, error) {
	return Window{Start: now, Count: 1}, nil
}

// An unknown email costs the same Argon2 verification as a wrong password,
// so the answer's timing does not tell which accounts exist.
func TestUnknownEmailAndWrongPasswordDoTheSameWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fast := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	hasher := NewHasher(fast, 1)
	hash, err := hasher.Hash(ctx, "the right password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u, err := RestoreUser(uuid.New(), "ada@example.com", "Ada", auth.RoleCustomer, hash, now)
	if err != nil {
		t.Fatal(err)
	}
	policy := Policy{SessionTTL: time.Hour, LoginWindow: time.Minute, LoginPerAccount: 5, LoginPerIP: 5}
	svc, err := NewService(loginRepo{user: u}, hasher, policy, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"nobody@example.com", "ada@example.com"} {
		before := hasher.verified.Load()
		_, err := svc.Login(ctx, LoginRequest{Email: email, Password: "a wrong password", ClientIP: "192.0.2.1"})
		if !errs.Is(err, errs.KindUnauthenticated) {
			t.Fatalf("login as %s: err = %v, want unauthenticated", email, err)
		}
		if n := hasher.verified.Load() - before; n != 1 {
			t.Errorf("login as %s ran %d Argon2 verifications, want 1", email, n)
		}
	}
}

// The dummy hash costs nothing to make and, to verify, what a real hash of
// the hasher's parameters costs: the same parameters, read back from it.
func TestDecoyHasTheHashersCostAndMatchesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := Params{Memory: 64, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
	hasher := NewHasher(p, 1)
	svc, err := NewService(loginRepo{}, hasher, Policy{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if n := hasher.hashed.Load(); n != 0 {
		t.Errorf("building the service ran %d Argon2 hashes, want none", n)
	}
	got, salt, key, err := decodePHC(svc.dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if got != p || len(salt) != p.SaltLen || len(key) != p.KeyLen {
		t.Errorf("decoy parameters = %+v (salt %d, key %d bytes), want the hasher's %+v", got, len(salt), len(key), p)
	}
	other, err := hasher.Decoy()
	if err != nil {
		t.Fatal(err)
	}
	if other == svc.dummyHash {
		t.Error("two decoys are equal: their salt and key are not random")
	}
	ok, stale, err := hasher.Verify(ctx, svc.dummyHash, "")
	if err != nil || ok || stale {
		t.Errorf("Verify(decoy) = %v, %v, %v; want a mismatch with current parameters", ok, stale, err)
	}
	if n := hasher.verified.Load(); n != 1 {
		t.Errorf("verifying the decoy ran %d Argon2 verifications, want 1", n)
	}
}
