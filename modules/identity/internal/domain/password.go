package domain

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/shopmonolith/shop/platform/errs"
)

// Params are Argon2id cost parameters. They are written into every hash, so
// they can be raised later without invalidating stored passwords.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  int
}

// OWASPParams returns the OWASP Password Storage Cheat Sheet's Argon2id
// setting: 19 MiB, 2 passes, 1 thread, 16-byte salt, 32-byte key.
func OWASPParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Upper bounds for parameters read back from a stored hash: a tampered row
// must not make one verification allocate gigabytes or run for minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 16
	maxThreads = 16
	maxKeyLen  = 128
)

// Hasher hashes and verifies passwords with Argon2id. Each hash needs Memory
// KiB, so a semaphore bounds how many run at once; a burst of logins then
// queues instead of exhausting memory.
type Hasher struct {
	params   Params
	slots    chan struct{}
	verified atomic.Int64 // verifications run, for tests of equal work
	hashed   atomic.Int64 // hashes made, for tests of work refused
}

// NewHasher returns a hasher with the given parameters and concurrency.
func NewHasher(p Params, concurrency int) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, max(concurrency, 1))}
}

// Hash returns the PHC string of password with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.Internal(fmt.Errorf("read salt: %w", err), "hash password")
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(p.KeyLen))
	h.hashed.Add(1)
	return encodePHC(p, salt, key), nil
}

// Decoy returns a PHC string with the hasher's parameters, a random salt
// and a random key, made without running Argon2. Verifying a password
// against it costs what verifying against a real hash of these parameters
// costs (the work depends on the parameters alone) and fails, but for a
// chance of one in 2^(8·KeyLen).
func (h *Hasher) Decoy() (string, error) {
	b := make([]byte, h.params.SaltLen+h.params.KeyLen)
	if _, err := rand.Read(b); err != nil {
		return "", errs.Internal(fmt.Errorf("read decoy: %w", err), "decoy password hash")
	}
	return encodePHC(h.params, b[:h.params.SaltLen], b[h.params.SaltLen:]), nil
}

// Verify reports whether password matches the PHC string encoded, using the
// parameters stored in it. stale is true when those parameters differ from
// the hasher's, so the caller may store a fresh hash.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, false, errs.Internal(err, "verify password")
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.verified.Add(1)
	ok = subtle.ConstantTimeCompare(got, want) == 1
	stale = p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		len(salt) != h.params.SaltLen || len(want) != h.params.KeyLen
	return ok, stale, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parseParams reads "m=<KiB>,t=<passes>,p=<threads>" in this exact order.
func parseParams(s string) (Params, error) {
	var p Params
	fields := strings.Split(s, ",")
	want := [...]struct {
		prefix string
		limit  uint64
	}{{"m=", maxMemory}, {"t=", maxTime}, {"p=", maxThreads}}
	if len(fields) != len(want) {
		return p, fmt.Errorf("malformed argon2 parameters %q", s)
	}
	var vals [3]uint32
	for i, w := range want {
		digits, ok := strings.CutPrefix(fields[i], w.prefix)
		v, err := strconv.ParseUint(digits, 10, 32)
		if !ok || err != nil || v == 0 || v > w.limit {
			return p, fmt.Errorf("argon2 parameter %q missing or out of range", fields[i])
		}
		vals[i] = uint32(v)
	}
	p.Memory, p.Time, p.Threads = vals[0], vals[1], uint8(vals[2])
	return p, nil
}

// decodePHC parses "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>".
func decodePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	p, err := parseParams(parts[3])
	if err != nil {
		return p, nil, nil, err
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return p, nil, nil, fmt.Errorf("malformed argon2 salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("malformed argon2 hash")
	}
	p.SaltLen, p.KeyLen = len(salt), len(key)
	return p, salt, key, nil
}
