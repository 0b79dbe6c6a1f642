package config_test

import (
	"bytes"
	"crypto/ed25519"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/config"
)

var modules = []string{"identity", "catalog", "cart"}

// keySet is a set of call keys as shop keys prints it: the public keys of
// every module and the edge, and each one's private key.
func keySet(t *testing.T) (public string, private map[string]string) {
	t.Helper()
	pub := config.PublicKeys{}
	private = map[string]string{}
	for _, m := range append(slices.Clone(modules), config.EdgeKey) {
		p, k, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pub[m], private[m] = p, config.EncodePrivateKey(k)
	}
	return pub.String(), private
}

func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestModuleSettingsAreReadForTheGivenModulesOnly(t *testing.T) {
	t.Parallel()
	public, private := keySet(t)
	env := map[string]string{
		"SHOP_MODULES":          "catalog",
		"SHOP_DB_CATALOG_URL":   "postgres://shop_catalog:catalog-pw@db.internal/shop",
		"SHOP_CALL_KEY_CATALOG": private["catalog"],
		"SHOP_CALL_PUBLIC_KEYS": public,
	}
	var looked []string
	c, err := config.Load(func(name string) (string, bool) {
		looked = append(looked, name)
		v, ok := env[name]
		return v, ok
	}, modules...)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DB.ModuleURLs["catalog"]; got != env["SHOP_DB_CATALOG_URL"] {
		t.Errorf("catalog's URL = %q", got)
	}
	if got := config.EncodePrivateKey(c.Calls.PrivateKeys["catalog"]); got != private["catalog"] {
		t.Errorf("catalog's key = %q, want %q", got, private["catalog"])
	}
	if len(c.DB.ModuleURLs) != 1 || len(c.Calls.PrivateKeys) != 1 || len(c.Calls.PublicKeys) != len(modules)+1 {
		t.Errorf("read %d URLs, %d private and %d public keys; want 1, 1 and %d", len(c.DB.ModuleURLs), len(c.Calls.PrivateKeys), len(c.Calls.PublicKeys), len(modules)+1)
	}
	known := append(config.Names(), config.ModuleNames(modules)...)
	for _, name := range looked {
		if !slices.Contains(known, name) && name != "SHOP_AUTH_TRUST_PROXY" {
			t.Errorf("Load looked up %q, which neither Names nor ModuleNames lists", name)
		}
	}
	if !c.OwnLogins() {
		t.Error("OwnLogins = false; catalog, the one hosted module, has its own URL")
	}

	c, err = config.Load(lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DB.ModuleURLs) != 0 || len(c.Calls.PrivateKeys) != 0 {
		t.Errorf("without modules Load read %v and %d private keys", c.DB.ModuleURLs, len(c.Calls.PrivateKeys))
	}
}

func TestModuleSecretsArePrintedMasked(t *testing.T) {
	t.Parallel()
	public, private := keySet(t)
	c, err := config.Load(lookup(map[string]string{
		"SHOP_MODULES":          "catalog,cart",
		"SHOP_DB_CATALOG_URL":   "postgres://shop_catalog:catalog-pw@db.internal/shop",
		"SHOP_DB_CART_URL":      "host=db.internal user=shop_cart password=cart-pw dbname=shop",
		"SHOP_CALL_KEY_CATALOG": private["catalog"],
		"SHOP_CALL_PUBLIC_KEYS": public,
	}), modules...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"catalog-pw", "cart-pw", private["catalog"]} {
		if strings.Contains(out, secret) {
			t.Errorf("Print leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"\nSHOP_DB_CATALOG_URL=postgres://shop_catalog:xxxxx@db.internal/shop ",
		"\nSHOP_DB_CART_URL=host=db.internal user=shop_cart password=xxxxx dbname=shop ",
		"\nSHOP_CALL_KEY_CATALOG=******** ",
		"\nSHOP_CALL_KEY_CART= ",
		"\nSHOP_DB_IDENTITY_URL= ",
		"\nSHOP_CALL_PUBLIC_KEYS=" + public + " ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Print lacks %q:\n%s", want, out)
		}
	}
}

func TestModuleSettingsAreChecked(t *testing.T) {
	t.Parallel()
	public, private := keySet(t)
	otherPublic, _ := keySet(t)
	const catalogURL = "postgres://shop_catalog:pw@db.internal/shop"
	catalogOnly := map[string]string{"SHOP_MODULES": "catalog", "SHOP_DB_CATALOG_URL": catalogURL}
	prodSplit := map[string]string{
		"SHOP_ENV": "production", "SHOP_HTTP_OPS_ADDR": ":9090", "SHOP_HTTP_INTERNAL_ADDR": ":9091",
		"SHOP_MODULES": "catalog", "SHOP_DB_CATALOG_URL": catalogURL,
		"SHOP_CALL_PUBLIC_KEYS": public, "SHOP_CALL_KEY_CATALOG": private["catalog"], "SHOP_CALL_KEY_EDGE": private["edge"],
		"SHOP_EVENTS_TRANSPORT": "nats",
	}
	// A pure edge hosts no module: it needs no database at all.
	prodEdge := map[string]string{
		"SHOP_ENV": "production", "SHOP_HTTP_OPS_ADDR": ":9090", "SHOP_MODULES": "none",
		"SHOP_MODULE_URLS":      "identity=http://identity.internal,catalog=http://catalog.internal",
		"SHOP_CALL_PUBLIC_KEYS": public, "SHOP_CALL_KEY_EDGE": private["edge"], "SHOP_EVENTS_TRANSPORT": "nats",
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none: valid
	}{
		{"a hosted module's own URL", catalogOnly, nil},
		{"another module's URL", with(catalogOnly, "SHOP_DB_IDENTITY_URL", "postgres://shop_identity:pw@db/shop"), []string{"SHOP_DB_IDENTITY_URL", "does not host", "SHOP_MODULES=catalog"}},
		{"another module's call key", with(catalogOnly, "SHOP_CALL_PUBLIC_KEYS", public, "SHOP_CALL_KEY_IDENTITY", private["identity"]), []string{"SHOP_CALL_KEY_IDENTITY", "does not host"}},
		{"URL without a role", with(catalogOnly, "SHOP_DB_CATALOG_URL", "postgres://db.internal/shop"), []string{"SHOP_DB_CATALOG_URL", "role"}},
		{"URL of another scheme", with(catalogOnly, "SHOP_DB_CATALOG_URL", "mysql://u:p@db/shop"), []string{"SHOP_DB_CATALOG_URL", "postgres://"}},
		{"unreadable private key", with(catalogOnly, "SHOP_CALL_KEY_CATALOG", "not-a-key"), []string{"SHOP_CALL_KEY_CATALOG", "Ed25519"}},
		{"private key without public keys", with(catalogOnly, "SHOP_CALL_KEY_CATALOG", private["catalog"]), []string{"SHOP_CALL_KEY_CATALOG", "SHOP_CALL_PUBLIC_KEYS"}},
		{"private key of another set", with(catalogOnly, "SHOP_CALL_KEY_CATALOG", private["catalog"], "SHOP_CALL_PUBLIC_KEYS", otherPublic), []string{"SHOP_CALL_KEY_CATALOG", "does not match"}},
		{"public key of an unknown module", with(catalogOnly, "SHOP_CALL_PUBLIC_KEYS", public+",ghost="+strings.Split(strings.Split(public, ",")[0], "=")[1]), []string{"SHOP_CALL_PUBLIC_KEYS", `unknown module "ghost"`}},
		{"split on own logins over postgres", with(catalogOnly, "SHOP_HTTP_INTERNAL_ADDR", ":9091"), []string{"SHOP_EVENTS_TRANSPORT", "nats", "other processes"}},
		{"split with keys but no hosted module's key", with(catalogOnly, "SHOP_HTTP_INTERNAL_ADDR", ":9091", "SHOP_EVENTS_TRANSPORT", "nats", "SHOP_CALL_PUBLIC_KEYS", public), []string{"SHOP_CALL_KEY_CATALOG", "must be set"}},
		{"production on own logins, neither owner nor secret", with(catalogOnly, "SHOP_ENV", "production", "SHOP_HTTP_OPS_ADDR", ":9090"), nil},
		{"production, a hosted module without its URL", with(catalogOnly, "SHOP_ENV", "production", "SHOP_HTTP_OPS_ADDR", ":9090", "SHOP_MODULES", "catalog,cart"), []string{"DATABASE_URL", "SHOP_DB_ROLE_SECRET", "must be set in production"}},
		{"production, every module, each on its URL", map[string]string{"SHOP_ENV": "production", "SHOP_HTTP_OPS_ADDR": ":9090",
			"SHOP_DB_IDENTITY_URL": "postgres://i:p@db/shop", "SHOP_DB_CATALOG_URL": catalogURL, "SHOP_DB_CART_URL": "postgres://c:p@db/shop"}, nil},
		{"production split", prodSplit, nil},
		{"production pure edge", prodEdge, nil},
		{"a module's URL on a pure edge", with(prodEdge, "SHOP_DB_CATALOG_URL", catalogURL), []string{"SHOP_DB_CATALOG_URL", "does not host", "SHOP_MODULES=none"}},
		{"a module's call key on a pure edge", with(prodEdge, "SHOP_CALL_KEY_CATALOG", private["catalog"]), []string{"SHOP_CALL_KEY_CATALOG", "does not host"}},
		{"production split without its URL", with(prodSplit, "SHOP_DB_CATALOG_URL", "", "DATABASE_URL", "postgres://owner@db/shop", "SHOP_DB_ROLE_SECRET", "a-real-production-secret"), []string{"SHOP_DB_CATALOG_URL", "every module of a split process", "SHOP_DB_ROLE_SECRET: must not be set"}},
		{"production split on development keys", with(prodSplit, "SHOP_CALL_PUBLIC_KEYS", "", "SHOP_CALL_KEY_CATALOG", ""), []string{"SHOP_CALL_PUBLIC_KEYS", "shop keys"}},
		{"production split without the edge's key", with(prodSplit, "SHOP_CALL_KEY_EDGE", ""), []string{"SHOP_CALL_KEY_EDGE", "must be set"}},
		{"production split missing the edge's public key", with(prodSplit, "SHOP_CALL_PUBLIC_KEYS", strings.Join(slices.DeleteFunc(strings.Split(public, ","), func(p string) bool { return strings.HasPrefix(p, "edge=") }), ",")), []string{"SHOP_CALL_PUBLIC_KEYS", "no key of edge"}},
		{"production split missing a module's public key", with(prodSplit, "SHOP_CALL_PUBLIC_KEYS", strings.Join(slices.DeleteFunc(strings.Split(public, ","), func(p string) bool { return strings.HasPrefix(p, "cart=") }), ",")), []string{"SHOP_CALL_PUBLIC_KEYS", "no key of cart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(lookup(tt.env), modules...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error naming %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
