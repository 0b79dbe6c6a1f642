package config

import (
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Settings named after a module. The configuration cannot list them itself
// (the modules belong to the binary), so Load reads them for the modules it
// is given, and each holds one module's secret: a process is given those of
// the modules it hosts, and no other.
//
//	SHOP_DB_<MODULE>_URL   the module's own database login: a PostgreSQL URL
//	                       naming its role and password (without it the role's
//	                       password derives from SHOP_DB_ROLE_SECRET)
//	SHOP_CALL_KEY_<MODULE> the module's private key for calls to other
//	                       modules (shop keys makes a set)

// ModuleDBURLName is the setting of a module's own database URL.
func ModuleDBURLName(module string) string { return "SHOP_DB_" + strings.ToUpper(module) + "_URL" }

// CallKeyName is the setting of a module's private call key.
func CallKeyName(module string) string { return "SHOP_CALL_KEY_" + strings.ToUpper(module) }

// EdgeKey names the key every process signs with when it acts as the
// edge (it forwards a request to a module's owner, or asks identity about a
// session): the pseudo-module remote.EdgeCaller, whose key
// SHOP_CALL_KEY_EDGE every process of a split topology holds.
const EdgeKey = "edge"

// ModuleNames lists the settings named after the given modules (the
// edge's key, which every process may hold, is among Names).
func ModuleNames(modules []string) []string {
	var names []string
	for _, m := range modules {
		names = append(names, ModuleDBURLName(m), CallKeyName(m))
	}
	return names
}

// Calls configures the keys that sign and verify calls between modules
// hosted in different processes. Without public keys, development derives
// every key from SHOP_DB_ROLE_SECRET.
type Calls struct {
	PublicKeys PublicKeys `env:"SHOP_CALL_PUBLIC_KEYS" help:"module=public key pairs, comma separated: every module's key for calls between modules (shop keys makes a set); empty derives development keys from SHOP_DB_ROLE_SECRET"`
	// PrivateKeys are the modules' SHOP_CALL_KEY_<MODULE>, by module.
	PrivateKeys map[string]ed25519.PrivateKey
}

// Configured reports whether the keys of calls are configured rather than
// derived for development.
func (c Calls) Configured() bool { return len(c.PublicKeys) > 0 || len(c.PrivateKeys) > 0 }

// PublicKeys maps a module to its public call key.
type PublicKeys map[string]ed25519.PublicKey

// UnmarshalText parses module=key pairs, comma separated, each key in
// unpadded URL-safe base64 (as shop keys prints them).
func (k *PublicKeys) UnmarshalText(text []byte) error {
	out := PublicKeys{}
	err := eachPair(text, "module=key (shop keys prints a set)", "has two keys", func(name, encoded string) error {
		key, err := base64.RawURLEncoding.DecodeString(encoded)
		if err != nil || len(key) != ed25519.PublicKeySize {
			return fmt.Errorf("%s: not an Ed25519 public key (%d bytes, unpadded URL-safe base64)", name, ed25519.PublicKeySize)
		}
		out[name] = key
		return nil
	})
	if err != nil {
		return err
	}
	*k = out
	return nil
}

// String writes the pairs back, sorted by module.
func (k PublicKeys) String() string {
	pairs := make([]string, 0, len(k))
	for _, name := range slices.Sorted(maps.Keys(k)) {
		pairs = append(pairs, name+"="+base64.RawURLEncoding.EncodeToString(k[name]))
	}
	return strings.Join(pairs, ",")
}

// EncodePrivateKey writes a private call key as SHOP_CALL_KEY_<MODULE>
// takes it: its seed, in unpadded URL-safe base64.
func EncodePrivateKey(key ed25519.PrivateKey) string {
	return base64.RawURLEncoding.EncodeToString(key.Seed())
}

func decodePrivateKey(encoded string) (ed25519.PrivateKey, error) {
	seed, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("not an Ed25519 private key (a %d-byte seed, unpadded URL-safe base64, as shop keys prints it)", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// loadModules reads the settings named after each of modules.
func (c *Config) loadModules(lookup func(string) (string, bool), modules []string) error {
	c.modules = slices.Clone(modules)
	var problems []error
	for _, m := range modules {
		if v, ok := lookup(ModuleDBURLName(m)); ok && v != "" {
			if c.DB.ModuleURLs == nil {
				c.DB.ModuleURLs = map[string]string{}
			}
			c.DB.ModuleURLs[m] = v
		}
	}
	for _, m := range append(slices.Clone(modules), EdgeKey) {
		if v, ok := lookup(CallKeyName(m)); ok && v != "" {
			key, err := decodePrivateKey(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", CallKeyName(m), err))
				continue
			}
			if c.Calls.PrivateKeys == nil {
				c.Calls.PrivateKeys = map[string]ed25519.PrivateKey{}
			}
			c.Calls.PrivateKeys[m] = key
		}
	}
	return errors.Join(problems...)
}

// hosted lists the modules this process hosts, and whether it knows them:
// those of SHOP_MODULES (none for a pure edge), else every module Load was
// given (none given: unknown).
func (c Config) hosted() (modules []string, known bool) {
	switch {
	case c.Topology.HostsNone():
		return nil, true
	case len(c.Topology.Modules) > 0:
		return c.Topology.Modules, true
	}
	return c.modules, len(c.modules) > 0
}

// OwnLogins reports whether every module this process hosts logs in with
// its own URL: then it needs neither the owner's DATABASE_URL nor
// SHOP_DB_ROLE_SECRET to serve.
func (c Config) OwnLogins() bool {
	hosted, known := c.hosted()
	if !known {
		return false
	}
	for _, m := range hosted {
		if _, ok := c.DB.ModuleURLs[m]; !ok {
			return false
		}
	}
	return true
}

// validateModules checks the settings named after modules, and what they
// change of the others.
func (c Config) validateModules(bad func(string, string, ...any)) {
	hosted, known := c.hosted()
	notHosted := func(name, module string) {
		if known && !slices.Contains(hosted, module) {
			bad(name, "is set for %s, which this process does not host (SHOP_MODULES=%s): a process holds the credentials of its own modules only",
				module, cmp.Or(strings.Join(hosted, ","), NoModules))
		}
	}
	for _, m := range slices.Sorted(maps.Keys(c.DB.ModuleURLs)) {
		name := ModuleDBURLName(m)
		checkDatabaseURL(bad, name, c.DB.ModuleURLs[m])
		if !namesUser(c.DB.ModuleURLs[m]) {
			bad(name, "must name the module's own role (postgres://ROLE:PASSWORD@HOST/DB)")
		}
		notHosted(name, m)
	}
	for _, m := range slices.Sorted(maps.Keys(c.Calls.PublicKeys)) {
		if len(c.modules) > 0 && m != EdgeKey && !slices.Contains(c.modules, m) {
			bad("SHOP_CALL_PUBLIC_KEYS", "unknown module %q; the modules are %s and the edge", m, strings.Join(c.modules, ", "))
		}
	}
	for _, m := range slices.Sorted(maps.Keys(c.Calls.PrivateKeys)) {
		name := CallKeyName(m)
		if m != EdgeKey {
			notHosted(name, m)
		}
		switch pub, ok := c.Calls.PublicKeys[m]; {
		case !ok:
			bad(name, "is set, but SHOP_CALL_PUBLIC_KEYS has no key of %s (set both from one shop keys run)", m)
		case !pub.Equal(c.Calls.PrivateKeys[m].Public()):
			bad(name, "does not match %s's key in SHOP_CALL_PUBLIC_KEYS (set both from one shop keys run)", m)
		}
	}
	if c.Split() && len(c.DB.ModuleURLs) > 0 && c.Events.Transport != EventsNATS {
		bad("SHOP_EVENTS_TRANSPORT", "must be %q in a split topology whose modules log in with their own URLs (SHOP_DB_<MODULE>_URL): "+
			"a postgres relay writes only the inboxes of the modules its process hosts, so events would never reach subscribers in other processes", EventsNATS)
	}
	if len(c.Calls.PublicKeys) > 0 && c.Split() {
		// Every process forwards routes and checks sessions as the edge.
		for _, m := range append(slices.Clone(hosted), EdgeKey) {
			if _, ok := c.Calls.PrivateKeys[m]; !ok {
				bad(CallKeyName(m), "must be set: this process hosts %s and takes part in a split topology with configured call keys (SHOP_CALL_PUBLIC_KEYS)", m)
			}
		}
	}
	if c.Env != EnvProduction {
		return
	}
	if c.DB.URL == "" && !c.OwnLogins() {
		bad("DATABASE_URL", "must be set in production (local discovery is for development), unless every hosted module has its own SHOP_DB_<MODULE>_URL")
	}
	if c.DB.RoleSecret == DevRoleSecret && !c.OwnLogins() {
		bad("SHOP_DB_ROLE_SECRET", "must be set in production, unless every hosted module has its own SHOP_DB_<MODULE>_URL")
	}
	if !c.Split() {
		return
	}
	// A split process holds its own modules' credentials only: no
	// derivation secret, which yields every module's password.
	for _, m := range hosted {
		if _, ok := c.DB.ModuleURLs[m]; !ok {
			bad(ModuleDBURLName(m), "must be set in production for every module of a split process (SHOP_MODULE_URLS/SHOP_HTTP_INTERNAL_ADDR): each module logs in with its own credentials")
		}
	}
	if c.DB.RoleSecret != DevRoleSecret {
		bad("SHOP_DB_ROLE_SECRET", "must not be set in a production split process: it derives every module's password, and the modules log in with their own SHOP_DB_<MODULE>_URL")
	}
	if len(c.Calls.PublicKeys) == 0 {
		bad("SHOP_CALL_PUBLIC_KEYS", "must be set in production for a split topology (SHOP_MODULE_URLS/SHOP_HTTP_INTERNAL_ADDR): production does not run on development call keys; shop keys makes a set")
	}
	for _, m := range append(slices.Clone(c.modules), EdgeKey) {
		if _, ok := c.Calls.PublicKeys[m]; !ok && len(c.Calls.PublicKeys) > 0 {
			bad("SHOP_CALL_PUBLIC_KEYS", "has no key of %s: every process needs every module's public key", m)
		}
	}
}

// namesUser reports whether a connection URL or key=value string names a
// user.
func namesUser(raw string) bool {
	if u, ok := parseURL(raw); ok {
		return u.User != nil && u.User.Username() != ""
	}
	for field := range strings.FieldsSeq(raw) {
		if v, ok := strings.CutPrefix(field, "user="); ok && v != "" {
			return true
		}
	}
	return false
}

// printModules writes the settings named after modules, and the edge's
// key, masked.
func (c Config) printModules(w io.Writer) error {
	key := func(m string) string {
		if _, ok := c.Calls.PrivateKeys[m]; ok {
			return "********"
		}
		return ""
	}
	var lines []string
	for _, m := range c.modules {
		lines = append(lines,
			printLine(ModuleDBURLName(m), maskURL(c.DB.ModuleURLs[m]), m+"'s own database login (role and password); empty: a password derived from SHOP_DB_ROLE_SECRET"),
			printLine(CallKeyName(m), key(m), m+"'s private key for calls between modules (shop keys)"))
	}
	lines = append(lines, printLine(CallKeyName(EdgeKey), key(EdgeKey), "the edge's private key, for forwarding requests and checking sessions; every process of a split holds it (shop keys)"))
	for _, line := range lines {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
