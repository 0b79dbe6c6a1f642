package remote

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"maps"
	"slices"
	"sync"

	"filippo.io/edwards25519"
)

// Keys holds the Ed25519 keys of service-to-service calls: the private keys
// of the modules this process hosts (it signs as them) and the public keys
// of every module (it verifies them), and the pair keys worked out from
// them that authenticate call and forwarded tokens.
type Keys interface {
	// Private returns the private key of a module this process hosts; false
	// for any other module.
	Private(module string) (ed25519.PrivateKey, bool)
	// Public returns a module's public key; false when it is unknown.
	Public(module string) (ed25519.PublicKey, bool)
	// PairKey returns the key of the tokens caller sends to callee, which
	// only those two modules can work out (see DerivePairKey): as the
	// caller from caller's private key and callee's public key, as the
	// callee from callee's private key and caller's public key. False when
	// the module of that side is not hosted here or the other's public key
	// is unknown. The key is shared: never modify it.
	PairKey(caller, callee string, side Side) ([]byte, bool)
}

// Side is the end of a pair of modules whose private key works out their
// pair key.
type Side int

const (
	// AsCaller works the key out as the calling module, to make tokens.
	AsCaller Side = iota
	// AsCallee works it out as the module called, to check them.
	AsCallee
)

// DerivePairKey returns the key of the tokens caller sends to callee from
// one side's Ed25519 private key and the other side's public key: both
// keys converted to X25519 (the private key as the clamped first half of
// SHA-512 of its seed, the public key as the Montgomery form of its
// Edwards point, the conversion of libsodium's crypto_sign_ed25519_*_to_
// curve25519), their X25519 shared secret, and HKDF-SHA256 of it with both
// names in order as info. Either side arrives at the same key; no third
// module can, and the key of the other direction differs.
func DerivePairKey(private ed25519.PrivateKey, peer ed25519.PublicKey, caller, callee string) ([]byte, error) {
	priv, err := x25519Private(private)
	if err != nil {
		return nil, err
	}
	pub, err := x25519Public(peer)
	if err != nil {
		return nil, err
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, shared, nil, "shop call mac v1: "+caller+" -> "+callee, sha256.Size)
}

// x25519Private converts an Ed25519 private key to the X25519 key of the
// same scalar.
func x25519Private(key ed25519.PrivateKey) (*ecdh.PrivateKey, error) {
	h := sha512.Sum512(key.Seed())
	s := h[:32]
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return ecdh.X25519().NewPrivateKey(s)
}

// x25519Public converts an Ed25519 public key to the X25519 public key of
// the same point.
func x25519Public(key ed25519.PublicKey) (*ecdh.PublicKey, error) {
	p, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPublicKey(p.BytesMontgomery())
}

// pairKeys remembers the pair keys worked out so far: an X25519 exchange
// costs about as much as a signature, and every call makes or checks a
// token. The caller's name comes from a token before it is checked, so
// only the first maxPairKeys pairs are remembered; a shop of a dozen
// modules has fewer pairs than that in which one side is hosted here.
type pairKeys struct {
	mu   sync.Mutex
	keys map[pair][]byte
}

type pair struct{ caller, callee string }

const maxPairKeys = 256

// pairKey is PairKey for keys: it asks for the private key of side's
// module first, so that a remembered key serves only a process that could
// work it out.
func (p *pairKeys) pairKey(keys Keys, caller, callee string, side Side) ([]byte, bool) {
	local, peer := caller, callee
	if side == AsCallee {
		local, peer = callee, caller
	}
	priv, ok := keys.Private(local)
	if !ok {
		return nil, false
	}
	id := pair{caller, callee}
	p.mu.Lock()
	key, ok := p.keys[id]
	p.mu.Unlock()
	if ok {
		return key, true
	}
	pub, ok := keys.Public(peer)
	if !ok {
		return nil, false
	}
	key, err := DerivePairKey(priv, pub, caller, callee)
	if err != nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys) < maxPairKeys {
		p.keys[id] = key
	}
	return key, true
}

// DevKeys derives every module's key pair from one development secret
// (HKDF-SHA256 with the module's name as info), so that the processes of a
// development or test topology agree on the keys without configuration. The
// process signs as the hosted modules only. Anyone who knows the secret can
// sign as any module: production keys are configured per module instead
// (NewKeys).
func DevKeys(secret string, hosted ...string) Keys {
	return &devKeys{secret: []byte(secret), hosted: slices.Clone(hosted),
		derived: derivedKeys{keys: map[string]ed25519.PrivateKey{}}, pairs: pairKeys{keys: map[pair][]byte{}}}
}

type devKeys struct {
	secret  []byte
	hosted  []string
	derived derivedKeys
	pairs   pairKeys
}

// derivedKeys remembers the key pairs derived so far: deriving one costs
// as much as a signature, and a pair key or an assertion needs them. A
// module name comes from a token before the token is checked, so only the
// first maxDerivedKeys names are remembered; the shop has a dozen.
type derivedKeys struct {
	mu   sync.Mutex
	keys map[string]ed25519.PrivateKey
}

const maxDerivedKeys = 64

func (k *devKeys) Private(module string) (ed25519.PrivateKey, bool) {
	if !slices.Contains(k.hosted, module) {
		return nil, false
	}
	return k.derive(module)
}

func (k *devKeys) Public(module string) (ed25519.PublicKey, bool) {
	priv, ok := k.derive(module)
	if !ok {
		return nil, false
	}
	return priv.Public().(ed25519.PublicKey), true
}

func (k *devKeys) PairKey(caller, callee string, side Side) ([]byte, bool) {
	return k.pairs.pairKey(k, caller, callee, side)
}

func (k *devKeys) derive(module string) (ed25519.PrivateKey, bool) {
	if module == "" {
		return nil, false
	}
	k.derived.mu.Lock()
	key, ok := k.derived.keys[module]
	k.derived.mu.Unlock()
	if ok {
		return key, true
	}
	seed, err := hkdf.Key(sha256.New, k.secret, nil, "shop remote call key: "+module, ed25519.SeedSize)
	if err != nil {
		return nil, false
	}
	key = ed25519.NewKeyFromSeed(seed)
	k.derived.mu.Lock()
	defer k.derived.mu.Unlock()
	if len(k.derived.keys) < maxDerivedKeys {
		k.derived.keys[module] = key
	}
	return key, true
}

// NewKeys returns configured keys: the private keys of the modules this
// process hosts, the only ones it can sign as, and the public keys of every
// module.
func NewKeys(private map[string]ed25519.PrivateKey, public map[string]ed25519.PublicKey) Keys {
	return &setKeys{private: maps.Clone(private), public: maps.Clone(public), pairs: pairKeys{keys: map[pair][]byte{}}}
}

type setKeys struct {
	private map[string]ed25519.PrivateKey
	public  map[string]ed25519.PublicKey
	pairs   pairKeys
}

func (k *setKeys) Private(module string) (ed25519.PrivateKey, bool) {
	key, ok := k.private[module]
	return key, ok
}

func (k *setKeys) Public(module string) (ed25519.PublicKey, bool) {
	key, ok := k.public[module]
	return key, ok
}

func (k *setKeys) PairKey(caller, callee string, side Side) ([]byte, bool) {
	return k.pairs.pairKey(k, caller, callee, side)
}
