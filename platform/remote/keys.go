package remote

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
)

// Keys holds the Ed25519 keys of service-to-service calls: the private keys
// of the modules this process hosts (it signs as them) and the public keys
// of every module (it verifies them).
type Keys interface {
	// Private returns the private key of a module this process hosts; false
	// for any other module.
	Private(module string) (ed25519.PrivateKey, bool)
	// Public returns a module's public key; false when it is unknown.
	Public(module string) (ed25519.PublicKey, bool)
}

// DevKeys derives every module's key pair from one development secret
// (HKDF-SHA256 with the module's name as info), so that the processes of a
// development or test topology agree on the keys without configuration. The
// process signs as the hosted modules only. Anyone who knows the secret can
// sign as any module: production keys are configured per module instead
// (NewKeys).
func DevKeys(secret string, hosted ...string) Keys {
	return devKeys{secret: []byte(secret), hosted: slices.Clone(hosted), derived: &derivedKeys{keys: map[string]ed25519.PrivateKey{}}}
}

type devKeys struct {
	secret  []byte
	hosted  []string
	derived *derivedKeys
}

// derivedKeys remembers the key pairs derived so far: deriving one costs
// as much as a signature, and every call signs and verifies. A module name
// comes from a token before its signature is checked, so only the first
// maxDerivedKeys names are remembered; the shop has a dozen.
type derivedKeys struct {
	mu   sync.Mutex
	keys map[string]ed25519.PrivateKey
}

const maxDerivedKeys = 64

func (k devKeys) Private(module string) (ed25519.PrivateKey, bool) {
	if !slices.Contains(k.hosted, module) {
		return nil, false
	}
	return k.derive(module)
}

func (k devKeys) Public(module string) (ed25519.PublicKey, bool) {
	priv, ok := k.derive(module)
	if !ok {
		return nil, false
	}
	return priv.Public().(ed25519.PublicKey), true
}

func (k devKeys) derive(module string) (ed25519.PrivateKey, bool) {
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
	return setKeys{private: maps.Clone(private), public: maps.Clone(public)}
}

type setKeys struct {
	private map[string]ed25519.PrivateKey
	public  map[string]ed25519.PublicKey
}

func (k setKeys) Private(module string) (ed25519.PrivateKey, bool) {
	key, ok := k.private[module]
	return key, ok
}

func (k setKeys) Public(module string) (ed25519.PublicKey, bool) {
	key, ok := k.public[module]
	return key, ok
}
