package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

const secret = "token test secret"

// configuredKeys returns NewKeys of a shop of modules, each with a key of
// its own, the process holding the private keys of hosted only.
func configuredKeys(t testing.TB, all map[string]ed25519.PrivateKey, hosted ...string) Keys {
	t.Helper()
	private, public := map[string]ed25519.PrivateKey{}, map[string]ed25519.PublicKey{}
	for m, key := range all {
		public[m] = key.Public().(ed25519.PublicKey)
	}
	for _, m := range hosted {
		private[m] = all[m]
	}
	return NewKeys(private, public)
}

func generatedKeys(t testing.TB, modules ...string) map[string]ed25519.PrivateKey {
	t.Helper()
	keys := map[string]ed25519.PrivateKey{}
	for _, m := range modules {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[m] = key
	}
	return keys
}

// An Ed25519 key converts to the X25519 key whose public key is the
// Montgomery form of the Ed25519 public key.
func TestEd25519KeysConvertToX25519(t *testing.T) {
	t.Parallel()
	for m, priv := range generatedKeys(t, "a", "b", "c") {
		x, err := x25519Private(priv)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x25519Public(priv.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		if !x.PublicKey().Equal(pub) {
			t.Errorf("%s: the converted private key's public key is not the converted public key", m)
		}
	}
}

// The caller works a pair's key out from its private key and the callee's
// public key, the callee from its own private key and the caller's public
// key: the same key, for development and for configured keys alike, and
// another for the other direction and for any other pair.
func TestPairKeysAgreeBetweenCallerAndCallee(t *testing.T) {
	t.Parallel()
	gen := generatedKeys(t, "orders", "catalog", "cart")
	for _, shop := range []struct {
		name string
		keys func(hosted ...string) Keys
	}{
		{"development", func(hosted ...string) Keys { return DevKeys("secret", hosted...) }},
		{"configured", func(hosted ...string) Keys { return configuredKeys(t, gen, hosted...) }},
	} {
		t.Run(shop.name, func(t *testing.T) {
			orders, catalog, cart := shop.keys("orders"), shop.keys("catalog"), shop.keys("cart")
			key := func(k Keys, caller, callee string, side Side) []byte {
				t.Helper()
				got, ok := k.PairKey(caller, callee, side)
				if !ok || len(got) != 32 {
					t.Fatalf("no key of %s -> %s (%d bytes)", caller, callee, len(got))
				}
				return got
			}
			sent := key(orders, "orders", "catalog", AsCaller)
			if got := key(catalog, "orders", "catalog", AsCallee); string(got) != string(sent) {
				t.Error("caller and callee work out different keys")
			}
			if back := key(catalog, "catalog", "orders", AsCaller); string(back) == string(sent) {
				t.Error("both directions share a key")
			}
			if other := key(cart, "cart", "catalog", AsCaller); string(other) == string(sent) {
				t.Error("another caller of the same callee shares the key")
			}
			if other := key(orders, "orders", "cart", AsCaller); string(other) == string(sent) {
				t.Error("another callee of the same caller shares the key")
			}
			// A process works a key out only as a module it hosts, even
			// once it remembers the key.
			if _, ok := orders.PairKey("orders", "catalog", AsCallee); ok {
				t.Error("a process not hosting the callee has the key of its tokens")
			}
			if _, ok := cart.PairKey("orders", "catalog", AsCaller); ok {
				t.Error("a process hosting neither has the pair's key")
			}
		})
	}
}

// A tagged token is good only for the pair of its issuer and audience, as
// the audience's process checks it, and only as made.
func TestCallTokensAreTheCallersAndCalleesOnly(t *testing.T) {
	t.Parallel()
	now := time.Now()
	orders, catalog, cart := DevKeys(secret, "orders"), DevKeys(secret, "catalog"), DevKeys(secret, "cart")
	c := call{caller: "orders", callee: "catalog", method: "Product", body: []byte(`{"id":"p-1"}`)}
	good, err := callToken(orders, c, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verifyMAC(catalog, good, typeCall, "catalog", now); err != nil || got.Issuer != "orders" || got.Method != "Product" {
		t.Fatalf("the callee refuses a valid token: %+v, %v", got, err)
	}
	if _, err := callToken(cart, c, time.Minute, now); !errs.Is(err, errs.KindInternal) {
		t.Errorf("a process not hosting the caller made its token: %v", err)
	}

	claimsOf := claims{Type: typeCall, Issuer: "orders", Audience: "catalog", Method: "Product", Body: bodyHash(c.body),
		Expires: now.Add(time.Minute).UnixMilli()}
	taggedWith := func(keys Keys, caller, callee string, side Side) string {
		t.Helper()
		key, ok := keys.PairKey(caller, callee, side)
		if !ok {
			t.Fatalf("no key of %s -> %s", caller, callee)
		}
		token, err := seal(claimsOf, func(p []byte) []byte { return macTag(key, p) })
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	tampered := func(edit func(string) string) string {
		p, tag, _ := strings.Cut(good, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(p)
		return base64.RawURLEncoding.EncodeToString([]byte(edit(string(payload)))) + "." + tag
	}
	ordersKey, _ := orders.Private("orders")
	signed := func(typ string) string {
		t.Helper()
		c := claimsOf
		c.Type = typ
		token, err := sign(ordersKey, c)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	tests := []struct {
		name, token string
		keys        Keys
	}{
		{"tagged with another caller's key", taggedWith(cart, "cart", "catalog", AsCaller), catalog},
		{"tagged with the other direction's key", taggedWith(catalog, "catalog", "orders", AsCaller), catalog},
		{"tagged with the key of another development secret", taggedWith(DevKeys("another secret", "orders"), "orders", "catalog", AsCaller), catalog},
		{"checked by a process hosting neither", good, cart},
		{"checked by the caller's process", good, orders},
		{"tampered method", tampered(func(p string) string { return strings.Replace(p, `"Product"`, `"Delete"`, 1) }), catalog},
		{"tampered service claim", tampered(func(p string) string { return strings.Replace(p, `"exp"`, `"svc":true,"exp"`, 1) }), catalog},
		{"tampered audience", tampered(func(p string) string { return strings.Replace(p, `"catalog"`, `"cart"`, 1) }), cart},
		{"signed by the caller instead", signed(typeCall), catalog},
		{"a signed call token of the old type", signed("call"), catalog},
		{"tag cut short", good[:len(good)-4], catalog},
	}
	for _, tt := range tests {
		if c, err := verifyMAC(tt.keys, tt.token, typeCall, "catalog", now); !errs.Is(err, errs.KindUnauthenticated) {
			t.Errorf("%s: %+v, %v; want unauthenticated", tt.name, c, err)
		}
	}
	// Nor does a tagged token pass for a signed one of the same claims.
	user := claimsOf
	user.Type, user.Audience = typeUser, ""
	key, _ := orders.PairKey("orders", "catalog", AsCaller)
	asUser, _ := seal(user, func(p []byte) []byte { return macTag(key, p) })
	if _, err := verifySigned(catalog, asUser, typeUser, "", now); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("a tagged token passed for a signed one: %v", err)
	}
}

// Pair keys are remembered up to maxPairKeys; beyond that they are worked
// out every time. A remembered key costs no allocation.
func TestPairKeysAreRememberedWithinBounds(t *testing.T) { // not parallel: AllocsPerRun
	keys := DevKeys("secret", "catalog")
	if _, ok := keys.PairKey("orders", "catalog", AsCallee); !ok {
		t.Fatal("no pair key")
	}
	if allocs := testing.AllocsPerRun(100, func() { keys.PairKey("orders", "catalog", AsCallee) }); allocs > 0 {
		t.Errorf("PairKey allocates %.0f times a call: the key is worked out again", allocs)
	}
	for i := range 2 * maxPairKeys {
		keys.PairKey(fmt.Sprint("forged-issuer-", i), "catalog", AsCallee)
	}
	if n := len(keys.(*devKeys).pairs.keys); n != maxPairKeys {
		t.Errorf("%d pair keys remembered, want at most %d", n, maxPairKeys)
	}
}

// The token path of one call: the caller makes the token, the callee
// checks it. "hmac" is the tagged token calls carry; "ed25519" the same
// claims signed with the caller's key and verified with its public key,
// as call tokens were before.
func BenchmarkCallToken(b *testing.B) {
	caller, callee := DevKeys(secret, "orders"), DevKeys(secret, "catalog")
	c := call{caller: "orders", callee: "catalog", method: "Product", body: []byte(`{"id":"5b0e7c0e-7f0a-4c1e-9a53-1d0c3f1f2a6b"}`)}
	now := time.Now()
	b.Run("hmac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			token, err := callToken(caller, c, time.Minute, now)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := verifyMAC(callee, token, typeCall, "catalog", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519", func(b *testing.B) {
		key, _ := caller.Private("orders")
		b.ReportAllocs()
		for b.Loop() {
			token, err := sign(key, claims{Type: typeCall, Issuer: c.caller, Audience: c.callee, Method: c.method,
				Body: bodyHash(c.body), Expires: now.Add(time.Minute).UnixMilli()})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := verifySigned(callee, token, typeCall, "catalog", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
