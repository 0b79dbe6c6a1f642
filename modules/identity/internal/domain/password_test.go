package domain

import (
	"context"
	"strings"
	"testing"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	h, ctx := NewHasher(OWASPParams(), 2), context.Background()
	enc, err := h.Hash(ctx, "pässwörd long enough")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an OWASP argon2id PHC string", enc)
	}
	ok, stale, err := h.Verify(ctx, enc, "pässwörd long enough")
	if err != nil || !ok || stale {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, stale, err)
	}
	ok, _, err = h.Verify(ctx, enc, "pässwörd long enougH")
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	t.Parallel()
	h, ctx := NewHasher(OWASPParams(), 2), context.Background()
	a, _ := h.Hash(ctx, "same password")
	b, _ := h.Hash(ctx, "same password")
	if a == b {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	saltA, saltB := strings.Split(a, "$")[4], strings.Split(b, "$")[4]
	if saltA == saltB {
		t.Fatal("salts are equal")
	}
}

// TestVerifyReadsParamsFromHash hashes with cheap parameters and verifies
// with a hasher configured otherwise: the stored parameters win, and the
// hash is reported stale.
func TestVerifyReadsParamsFromHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cheap := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}, 1)
	enc, err := cheap.Hash(ctx, "password123")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := decodePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}
	if p != want || len(salt) != 8 || len(key) != 16 {
		t.Fatalf("decoded %+v (salt %d, key %d), want %+v", p, len(salt), len(key), want)
	}
	ok, stale, err := NewHasher(OWASPParams(), 1).Verify(ctx, enc, "password123")
	if err != nil || !ok || !stale {
		t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, stale, err)
	}
}

func TestDecodePHCRejectsMalformed(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	cases := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"params order":   "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"params junk":    "$argon2id$v=19$m=64,t=1,p=1x$" + salt + "$" + key,
		"extra param":    "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key,
		"zero memory":    "$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key,
		"huge memory":    "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"bad salt":       "$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"short key":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5",
		"missing part":   "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"trailing field": "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
	}
	for name, enc := range cases {
		if _, _, _, err := decodePHC(enc); err == nil {
			t.Errorf("%s: decodePHC(%q) accepted", name, enc)
		}
	}
}
