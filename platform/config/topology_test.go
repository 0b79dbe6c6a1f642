package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/config"
)

func TestTopologyDefaultHostsEveryModule(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Topology.Hosts("catalog") || !c.Topology.Hosts("anything") {
		t.Error("the default topology does not host every module")
	}
	if _, ok := c.Topology.URL("catalog"); ok {
		t.Error("the default topology addresses a module")
	}
}

func TestTopologyIsParsed(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(map[string]string{
		"SHOP_MODULES":     "cart, orders",
		"SHOP_MODULE_URLS": "catalog=http://catalog.internal:8080, inventory=https://inventory.internal/shop",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tp := c.Topology
	if !tp.Hosts("cart") || !tp.Hosts("orders") || tp.Hosts("catalog") {
		t.Errorf("Modules = %q, want cart and orders hosted, catalog not", tp.Modules)
	}
	if u, ok := tp.URL("catalog"); !ok || u != "http://catalog.internal:8080" {
		t.Errorf("URL(catalog) = %q, %v", u, ok)
	}
	if u, _ := tp.URL("inventory"); u != "https://inventory.internal/shop" {
		t.Errorf("URL(inventory) = %q", u)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SHOP_MODULES=cart,orders ", "SHOP_MODULE_URLS=catalog=http://catalog.internal:8080,inventory=https://inventory.internal/shop "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTopologyIsChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"hosted and addressed", map[string]string{"SHOP_MODULES": "cart,catalog", "SHOP_MODULE_URLS": "catalog=http://catalog.internal"},
			[]string{"SHOP_MODULE_URLS", "catalog", "SHOP_MODULES=cart,catalog"}},
		{"addressed while hosting every module", map[string]string{"SHOP_MODULE_URLS": "catalog=http://catalog.internal"},
			[]string{"SHOP_MODULE_URLS", "catalog", "every module"}},
		{"named twice", map[string]string{"SHOP_MODULES": "cart,cart"}, []string{"SHOP_MODULES", "twice"}},
		{"stray comma", map[string]string{"SHOP_MODULES": "cart,"}, []string{"SHOP_MODULES", "empty"}},
		{"addressed twice", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http://a,catalog=http://b"}, []string{"SHOP_MODULE_URLS", "twice"}},
		{"not a pair", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "http://catalog.internal"}, []string{"SHOP_MODULE_URLS", "module=URL"}},
		{"no scheme", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=catalog.internal:8080"}, []string{"SHOP_MODULE_URLS", "catalog=catalog.internal:8080", "http://"}},
		{"other scheme", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=grpc://catalog.internal"}, []string{"SHOP_MODULE_URLS", "http://"}},
		{"no host", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http:///catalog"}, []string{"SHOP_MODULE_URLS", "no host"}},
		{"credentials", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http://u:p@catalog.internal"}, []string{"SHOP_MODULE_URLS", "credentials"}},
		{"query", map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http://catalog.internal?x=1"}, []string{"SHOP_MODULE_URLS", "query"}},
		{"no ready timeout", map[string]string{"SHOP_MODULE_READY_TIMEOUT": "0s"}, []string{"SHOP_MODULE_READY_TIMEOUT"}},
		{"none with a module", map[string]string{"SHOP_MODULES": "none,cart"}, []string{"SHOP_MODULES", "none", "cannot be combined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(lookup(tt.env))
			if err == nil {
				t.Fatalf("Load(%v) accepted it", tt.env)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// SHOP_MODULES=none hosts no module, not even one named none.
func TestTopologyOfAPureEdge(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(map[string]string{"SHOP_MODULES": "none", "SHOP_MODULE_URLS": "catalog=http://c"}))
	if err != nil {
		t.Fatal(err)
	}
	tp := c.Topology
	if !tp.HostsNone() || tp.Hosts("catalog") || tp.Hosts("none") {
		t.Errorf("SHOP_MODULES=none: HostsNone %v, hosts catalog %v, hosts none %v", tp.HostsNone(), tp.Hosts("catalog"), tp.Hosts("none"))
	}
	if err := tp.CheckNames([]string{"catalog"}); err != nil {
		t.Errorf("none taken for a module name: %v", err)
	}
}

func TestTopologyNamesOnlyKnownModules(t *testing.T) {
	t.Parallel()
	known := []string{"identity", "catalog", "cart"}
	c, err := config.Load(lookup(map[string]string{"SHOP_MODULES": "cart,basket", "SHOP_MODULE_URLS": "catalog=http://c,ghost=http://g"}))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Topology.CheckNames(known)
	if err == nil {
		t.Fatal("unknown module names accepted")
	}
	for _, w := range []string{`SHOP_MODULES: unknown module "basket"`, `SHOP_MODULE_URLS: unknown module "ghost"`, "identity, catalog, cart"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), `"cart"`) || strings.Contains(err.Error(), `"catalog"`) {
		t.Errorf("error %q names a known module as unknown", err)
	}
	c, err = config.Load(lookup(map[string]string{"SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http://c"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Topology.CheckNames(known); err != nil {
		t.Errorf("known names refused: %v", err)
	}
}
