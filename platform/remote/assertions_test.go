package remote

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// countingKeys counts the public keys asked for: one per signature
// verified.
type countingKeys struct {
	Keys
	publics int
}

func (k *countingKeys) Public(module string) (ed25519.PublicKey, bool) {
	k.publics++
	return k.Keys.Public(module)
}

var _ Keys = (*countingKeys)(nil)

func verifyUser(keys Keys, token string, now time.Time) (auth.Principal, error) {
	_, p, err := verifyUserClaims(keys, token, now)
	return p, err
}

// An assertion signed for a user is handed out again for the first half of
// its life, then a fresh one; a principal that changed gets its own.
func TestAssertionsSignOncePerUserForHalfTheirLife(t *testing.T) {
	t.Parallel()
	keys := DevKeys("secret", IdentityModule)
	var a assertions
	p := auth.Principal{UserID: "u1", Email: "u1@example.com", Role: auth.RoleCustomer, SessionID: "s1"}
	now := time.Now()
	first, err := a.sign(keys, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := a.sign(keys, p, time.Minute, now.Add(29*time.Second)); again != first {
		t.Error("a second assertion signed within half the first's life")
	}
	later, _ := a.sign(keys, p, time.Minute, now.Add(30*time.Second))
	if later == first {
		t.Error("the assertion was handed out with less than half its life left")
	}
	if got, err := verifyUser(keys, later, now.Add(89*time.Second)); err != nil || got != p {
		t.Errorf("the fresh assertion at the end of its life: %v, %v", got, err)
	}
	admin := p
	admin.Role = auth.RoleAdmin
	other, _ := a.sign(keys, admin, time.Minute, now.Add(31*time.Second))
	if got, err := verifyUser(keys, other, now); other == later || err != nil || got != admin {
		t.Errorf("the principal changed: assertion for %v (%v), same as before: %v", got, err, other == later)
	}
	// Only identity's process signs: the cache changes nothing there.
	if _, err := (&assertions{}).sign(DevKeys("secret", "orders"), p, time.Minute, now); !errs.Is(err, errs.KindInternal) {
		t.Errorf("signed without identity's key: %v", err)
	}
}

// An assertion verified once is not verified again until it expires; then
// it is refused. A token differing in one byte is verified afresh.
func TestAssertionsVerifyOnceUntilExpiry(t *testing.T) {
	t.Parallel()
	keys := &countingKeys{Keys: DevKeys("secret", IdentityModule)}
	p := auth.Principal{UserID: "u1", Role: auth.RoleCustomer}
	now := time.Now()
	token, err := AssertUser(keys, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	var a assertions
	for i := range 3 {
		if got, err := a.verify(keys, token, now.Add(time.Duration(i)*time.Second)); err != nil || got != p {
			t.Fatalf("verify %d: %v, %v", i, got, err)
		}
	}
	if keys.publics != 1 {
		t.Errorf("the same assertion's signature was checked %d times, want once", keys.publics)
	}
	if _, err := a.verify(keys, token, now.Add(time.Minute)); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("an expired assertion, verified before: %v", err)
	}
	// One character of the signature changed, the payload the same.
	b := []byte(token)
	i := strings.IndexByte(token, '.') + 5
	b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
	forged := string(b)
	if _, err := a.verify(keys, forged, now); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("a forged signature over a payload verified before: %v", err)
	}
}

// The memory is bounded: beyond maxAssertions, the expired go first, and
// if none has expired it starts again empty.
func TestAssertionsStayBounded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	m := map[string]assertion{}
	for i := range maxAssertions {
		expires := now.Add(time.Minute)
		if i%2 == 0 {
			expires = now.Add(-time.Second)
		}
		m[fmt.Sprint(i)] = assertion{expires: expires}
	}
	room(m, now)
	if len(m) != maxAssertions/2 {
		t.Errorf("%d left, want the %d unexpired", len(m), maxAssertions/2)
	}
	for i := range maxAssertions / 2 {
		m[fmt.Sprint("new", i)] = assertion{expires: now.Add(time.Minute)}
	}
	room(m, now)
	if len(m) != 0 {
		t.Errorf("%d left of a full map where none expired, want none", len(m))
	}
}

// Development keys are derived once per module name, and the same as
// derived afresh; names beyond maxDerivedKeys are derived every time
// rather than remembered.
func TestDevKeysAreDerivedOnce(t *testing.T) { // not parallel: AllocsPerRun
	keys := DevKeys("secret", "orders")
	fresh := DevKeys("secret", "orders")
	priv, _ := keys.Private("orders")
	if again, _ := fresh.Private("orders"); !priv.Equal(again) {
		t.Fatal("the same secret derived two keys")
	}
	if allocs := testing.AllocsPerRun(100, func() { keys.Private("orders") }); allocs > 0 {
		t.Errorf("Private allocates %.0f times a call: the key is derived again", allocs)
	}
	for i := range 2 * maxDerivedKeys {
		keys.Public(fmt.Sprint("forged-issuer-", i))
	}
	if n := len(keys.(*devKeys).derived.keys); n != maxDerivedKeys {
		t.Errorf("%d keys remembered, want at most %d", n, maxDerivedKeys)
	}
	pub, _ := keys.Public("orders")
	if !pub.Equal(priv.Public()) {
		t.Error("public key not the private key's")
	}
}
