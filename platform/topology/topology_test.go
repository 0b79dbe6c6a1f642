package topology

import (
	"slices"
	"strings"
	"testing"
)

// shopModules is the shop's module graph as shop modules --json says it.
var shopModules = []Module{
	{Name: "identity"}, {Name: "catalog"}, {Name: "inventory"},
	{Name: "cart", DependsOn: []string{"catalog", "inventory"}},
	{Name: "payments"},
	{Name: "orders", DependsOn: []string{"cart", "inventory", "payments"}},
	{Name: "notifications", DependsOn: []string{"identity", "orders"}},
	{Name: "reporting", DependsOn: []string{"orders"}},
}

func TestNamedTopologies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		withEdge bool
		groups   []string // name=modules
		needs    map[string]string
	}{
		{Monolith, true, []string{"shop=identity,catalog,inventory,cart,payments,orders,notifications,reporting"},
			map[string]string{"shop": ""}},
		{Catalog, true, []string{"catalog=catalog", "rest=identity,inventory,cart,payments,orders,notifications,reporting"},
			// catalog checks sessions at identity; the front reaches catalog.
			map[string]string{"catalog": "identity", "rest": "catalog"}},
		{Split, true, []string{"identity=identity", "catalog=catalog", "inventory=inventory", "cart=cart", "payments=payments",
			"orders=orders", "notifications=notifications", "reporting=reporting", "edge="},
			map[string]string{
				"identity": "", "catalog": "identity", "cart": "catalog,identity,inventory",
				"orders": "cart,identity,inventory,payments", "notifications": "identity,orders", "reporting": "identity,orders",
				"edge": "cart,catalog,identity,inventory,notifications,orders,payments,reporting"}},
		{Split, false, []string{"identity=identity", "catalog=catalog", "inventory=inventory", "cart=cart", "payments=payments",
			"orders=orders", "notifications=notifications", "reporting=reporting"},
			// Without an edge, the last process is the front and reaches every module.
			map[string]string{"reporting": "cart,catalog,identity,inventory,notifications,orders,payments"}},
	}
	for _, tt := range tests {
		tp, err := Named(tt.name, shopModules, tt.withEdge)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var groups []string
		for _, g := range tp.Groups {
			groups = append(groups, g.Name+"="+strings.Join(g.Modules, ","))
		}
		if !slices.Equal(groups, tt.groups) {
			t.Errorf("%s (edge %v): groups %q, want %q", tt.name, tt.withEdge, groups, tt.groups)
		}
		for _, g := range tp.Groups {
			want, ok := tt.needs[g.Name]
			if got := strings.Join(tp.Needs(g), ","); ok && got != want {
				t.Errorf("%s: %s needs %q, want %q", tt.name, g.Name, got, want)
			}
		}
	}
}

func TestTopologyIsChecked(t *testing.T) {
	t.Parallel()
	if _, err := Named("mesh", shopModules, true); err == nil || !strings.Contains(err.Error(), "monolith, catalog, split") {
		t.Errorf("unknown name: %v", err)
	}
	// A binary without catalog cannot run the catalog topology.
	if _, err := Named(Catalog, shopModules[2:], true); err == nil || !strings.Contains(err.Error(), `unknown module "catalog"`) {
		t.Errorf("catalog topology without catalog: %v", err)
	}
	tp := Topology{Name: "custom", modules: shopModules, Groups: []Group{{Name: "a", Modules: []string{"identity", "catalog"}}, {Name: "b", Modules: []string{"catalog"}}}}
	if err := tp.check(); err == nil || !strings.Contains(err.Error(), "hosted by both a and b") {
		t.Errorf("a module hosted twice: %v", err)
	}
	tp.Groups = tp.Groups[:1]
	if err := tp.check(); err == nil || !strings.Contains(err.Error(), "no group hosts module inventory") {
		t.Errorf("a module hosted nowhere: %v", err)
	}
}
