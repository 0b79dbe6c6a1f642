package kernel_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/kernel"
)

func names(ds []kernel.Descriptor) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

func TestGraphOrderPutsDependenciesFirst(t *testing.T) {
	t.Parallel()
	ds := []kernel.Descriptor{
		{Name: "checkout", DependsOn: []string{"cart", "identity", "catalog"}},
		{Name: "cart", DependsOn: []string{"catalog"}},
		{Name: "catalog", DependsOn: []string{"identity"}},
		{Name: "identity"},
		{Name: "reports"},
	}
	g, err := kernel.NewGraph(ds...)
	if err != nil {
		t.Fatal(err)
	}
	order := names(g.Order())
	if len(order) != len(ds) {
		t.Fatalf("order = %v, want all %d modules once", order, len(ds))
	}
	pos := map[string]int{}
	for i, n := range order {
		if _, dup := pos[n]; dup {
			t.Fatalf("order = %v lists %s twice", order, n)
		}
		pos[n] = i
	}
	for _, d := range ds {
		if !g.Has(d.Name) {
			t.Errorf("Has(%q) = false", d.Name)
		}
		for _, dep := range d.DependsOn {
			if pos[dep] > pos[d.Name] {
				t.Errorf("order = %v: %s comes before its dependency %s", order, d.Name, dep)
			}
		}
	}
	if g.Has("nope") {
		t.Error(`Has("nope") = true`)
	}

	// Order returns a copy.
	o := g.Order()
	o[0].Name = "mutated"
	if g.Order()[0].Name == "mutated" {
		t.Error("Order exposes the graph's slice")
	}
}

func TestGraphErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ds   []kernel.Descriptor
		want []string
	}{
		{"unknown dependency", []kernel.Descriptor{{Name: "cart", DependsOn: []string{"ghost"}}}, []string{`"cart"`, `"ghost"`}},
		{"duplicate name", []kernel.Descriptor{{Name: "cart"}, {Name: "cart"}}, []string{`"cart"`, "twice"}},
		{"empty name", []kernel.Descriptor{{Name: ""}}, []string{"without a name"}},
		{"self cycle", []kernel.Descriptor{{Name: "a", DependsOn: []string{"a"}}}, []string{"cycle", "a -> a"}},
		{"cycle of three", []kernel.Descriptor{
			{Name: "a", DependsOn: []string{"b"}},
			{Name: "b", DependsOn: []string{"c"}},
			{Name: "c", DependsOn: []string{"a"}},
		}, []string{"cycle", "a -> b -> c -> a"}},
		{"cycle behind a prefix", []kernel.Descriptor{
			{Name: "root", DependsOn: []string{"a"}},
			{Name: "a", DependsOn: []string{"b"}},
			{Name: "b", DependsOn: []string{"a"}},
		}, []string{"cycle", "a -> b -> a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := kernel.NewGraph(tt.ds...)
			if err == nil {
				t.Fatalf("NewGraph = %v, nil error", names(g.Order()))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "root ->") {
				t.Errorf("cycle path %q includes a module outside the cycle", err)
			}
		})
	}
}

func TestGraphMermaid(t *testing.T) {
	t.Parallel()
	g, err := kernel.NewGraph(
		kernel.Descriptor{Name: "cart", DependsOn: []string{"catalog", "identity"}},
		kernel.Descriptor{Name: "catalog"},
		kernel.Descriptor{Name: "identity"},
	)
	if err != nil {
		t.Fatal(err)
	}
	out := g.Mermaid()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "flowchart LR" {
		t.Errorf("first line = %q, want flowchart LR", lines[0])
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	for _, want := range []string{"cart[cart]", "catalog[catalog]", "identity[identity]", "cart --> catalog", "cart --> identity"} {
		if !slices.Contains(lines, want) {
			t.Errorf("Mermaid output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "-->"); n != 2 {
		t.Errorf("Mermaid has %d edges, want 2:\n%s", n, out)
	}
}

func TestHostedGraphAcceptsRemoteDependencies(t *testing.T) {
	t.Parallel()
	g, err := kernel.NewHostedGraph([]string{"catalog", "inventory"},
		kernel.Descriptor{Name: "orders", DependsOn: []string{"cart", "inventory"}},
		kernel.Descriptor{Name: "cart", DependsOn: []string{"catalog", "inventory"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(g.Order()); !slices.Equal(got, []string{"cart", "orders"}) {
		t.Errorf("order = %v, want the hosted modules only, cart first", got)
	}
	if g.Has("catalog") {
		t.Error("a remote module is in the graph of the hosted ones")
	}
}

// Every dependency neither hosted nor remote is named in one error, by
// dependent.
func TestHostedGraphNamesEveryMissingDependency(t *testing.T) {
	t.Parallel()
	_, err := kernel.NewHostedGraph([]string{"payments"},
		kernel.Descriptor{Name: "cart", DependsOn: []string{"catalog", "inventory"}},
		kernel.Descriptor{Name: "orders", DependsOn: []string{"cart", "inventory", "payments"}},
	)
	if err == nil {
		t.Fatal("missing dependencies accepted")
	}
	want := `module "cart" depends on "catalog" and "inventory"; module "orders" depends on "inventory": neither hosted here nor remote`
	if err.Error() != want {
		t.Errorf("error = %q\nwant      %q", err, want)
	}
}
