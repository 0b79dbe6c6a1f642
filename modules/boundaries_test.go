package modules_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/tools/go/packages"

	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/kernel"
)

const root = "github.com/shopmonolith/shop"

// importGraph maps every package of the repository to the repository
// packages it imports. What only tests import is kept apart, under the
// package's path with "_test" appended, so that rules can tell test code
// from the product.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedImports, Tests: true, Dir: ".."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatalf("load packages: %v", err)
	}
	graph := map[string][]string{}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			t.Fatalf("package %s: %v", p.PkgPath, p.Errors[0])
		}
		// Test variants are named "pkg [pkg.test]", external test packages
		// "pkg_test", test mains "pkg.test": all are the package's tests.
		path, variant, _ := strings.Cut(p.ID, " ")
		path, main := strings.CutSuffix(path, ".test")
		if (variant != "" || main) && !strings.HasSuffix(path, "_test") {
			path += "_test"
		}
		for imp := range p.Imports {
			if strings.HasPrefix(imp, root+"/") && !slices.Contains(graph[path], imp) {
				graph[path] = append(graph[path], imp)
			}
		}
		if _, ok := graph[path]; !ok {
			graph[path] = nil
		}
	}
	return graph
}

// isTest reports whether a graph node is test code, and the package it tests.
func isTest(pkg string) (tested string, ok bool) {
	tested, ok = strings.CutSuffix(pkg, "_test")
	return tested, ok
}

// moduleOf returns the module a package belongs to and the rest of its path
// inside the module ("" for the module's root package); a package's tests
// belong where the package does.
func moduleOf(pkg string) (module, rest string, ok bool) {
	pkg, _ = isTest(pkg)
	p, found := strings.CutPrefix(pkg, root+"/modules/")
	if !found {
		return "", "", false
	}
	module, rest, _ = strings.Cut(p, "/")
	return module, rest, true
}

// publicPart reports whether a package inside a module is part of its public
// face: the root package (the contract), the contract test suite and the
// generated remote form of the contract (<module>remote).
func publicPart(module, rest string) bool {
	return rest == "" || rest == module+"test" || rest == module+"remote"
}

// implementation reports whether a package inside a module is its
// implementation package, <module>/<module>module: the kernel plug-in that
// only the composition root (cmd/) builds.
func implementation(module, rest string) bool {
	return rest == module+"module"
}

// testsUsingImplementations lists the test code outside cmd/ that builds
// another module's implementation, and which: the boundary test reads every
// module's descriptor, and the cart's, inventory's and notifications'
// tests run on their real neighbours. Production code never does.
var testsUsingImplementations = map[string][]string{
	root + "/modules_test":                                   {"identity", "catalog", "inventory", "cart", "payments", "orders", "notifications", "reporting"},
	root + "/modules/cart/cartmodule_test":                   {"catalog", "inventory"},
	root + "/modules/inventory/inventorymodule_test":         {"catalog"},
	root + "/modules/notifications/notificationsmodule_test": {"identity"},
}

// moduleEdges lists, per module, the other modules it imports.
func moduleEdges(graph map[string][]string) map[string][]string {
	edges := map[string][]string{}
	for pkg, imps := range graph {
		from, _, ok := moduleOf(pkg)
		if !ok {
			continue
		}
		for _, imp := range imps {
			if to, _, ok := moduleOf(imp); ok && to != from && !slices.Contains(edges[from], to) {
				edges[from] = append(edges[from], to)
			}
		}
	}
	return edges
}

// violations applies the boundary rules to an import graph.
func violations(graph map[string][]string) []string {
	var out []string
	edges := map[string]map[string]bool{}
	for pkg, imps := range graph {
		tested, _ := isTest(pkg)
		from, _, inModule := moduleOf(pkg)
		for _, imp := range imps {
			if imp == tested {
				continue // a test variant importing the package it tests
			}
			switch {
			case strings.HasPrefix(imp, root+"/cmd"):
				out = append(out, fmt.Sprintf("%s imports %s: nothing may import cmd/", pkg, imp))
			case strings.HasPrefix(pkg, root+"/platform") && strings.HasPrefix(imp, root+"/modules"):
				out = append(out, fmt.Sprintf("%s imports %s: platform/ must not import modules/", pkg, imp))
			}
			to, rest, isModule := moduleOf(imp)
			if !isModule {
				continue
			}
			if implementation(to, rest) && !strings.HasPrefix(pkg, root+"/cmd/") && from != to &&
				!slices.Contains(testsUsingImplementations[pkg], to) {
				out = append(out, fmt.Sprintf("%s imports %s: only cmd/ builds a module's implementation", pkg, imp))
			}
			if !inModule || to == from {
				continue
			}
			if !publicPart(to, rest) && !implementation(to, rest) {
				out = append(out, fmt.Sprintf("%s imports %s: only %s's public package may be imported", pkg, imp, to))
			}
			if edges[from] == nil {
				edges[from] = map[string]bool{}
			}
			edges[from][to] = true
		}
	}
	if cycle := findCycle(edges); cycle != nil {
		out = append(out, "module import cycle: "+strings.Join(cycle, " -> "))
	}
	slices.Sort(out)
	return out
}

func findCycle(edges map[string]map[string]bool) []string {
	state := map[string]int{} // 0 new, 1 on the path, 2 done
	var path []string
	var visit func(string) []string
	visit = func(m string) []string {
		if state[m] == 1 {
			i := slices.Index(path, m)
			return append(slices.Clone(path[i:]), m)
		}
		if state[m] == 2 {
			return nil
		}
		state[m] = 1
		path = append(path, m)
		next := make([]string, 0, len(edges[m]))
		for n := range edges[m] {
			next = append(next, n)
		}
		slices.Sort(next)
		for _, n := range next {
			if c := visit(n); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[m] = 2
		return nil
	}
	names := make([]string, 0, len(edges))
	for m := range edges {
		names = append(names, m)
	}
	slices.Sort(names)
	for _, m := range names {
		if c := visit(m); c != nil {
			return c
		}
	}
	return nil
}

func TestRepositoryRespectsBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every package")
	}
	t.Parallel()
	graph := importGraph(t)
	if len(graph) < 10 {
		t.Fatalf("loaded only %d packages; the loader is misconfigured", len(graph))
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// moduleNames lists the module folders.
func moduleNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// forbiddenInContract names what a module's public packages must not link:
// a process that calls the module remotely carries none of its
// implementation, and none of the machinery only a host of modules needs.
// It returns what to report the dependency as ("" when it is allowed): one
// name per third-party library, the package itself for the repository's.
func forbiddenInContract(dep string) string {
	for _, lib := range []string{"gorm.io/", "github.com/labstack/echo", "github.com/jackc/"} {
		if strings.HasPrefix(dep, lib) {
			return lib
		}
	}
	if strings.HasPrefix(dep, root+"/") && strings.Contains(dep+"/", "/internal/") {
		return dep
	}
	for _, p := range []string{"database", "httpapi", "kernel", "events"} {
		if dep == root+"/platform/"+p {
			return dep
		}
	}
	return ""
}

// Importing a module's public packages (its contract, contract suite and
// remote client) links no store, gorm, echo or internals: what a remote
// caller needs and nothing more.
func TestPublicPackagesLinkNoImplementation(t *testing.T) {
	if testing.Short() {
		t.Skip("loads packages")
	}
	t.Parallel()
	var patterns []string
	for _, m := range moduleNames(t) {
		patterns = append(patterns, "./modules/"+m, "./modules/"+m+"/"+m+"test", "./modules/"+m+"/"+m+"remote")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps, Dir: ".."}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatalf("load packages: %v", err)
	}
	if len(pkgs) != len(patterns) {
		t.Fatalf("loaded %d packages for %d patterns", len(pkgs), len(patterns))
	}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			t.Fatalf("package %s: %v", p.PkgPath, p.Errors[0])
		}
		for _, v := range forbiddenDeps(p) {
			t.Errorf("%s links %s", strings.TrimPrefix(p.PkgPath, root+"/"), v)
		}
	}
}

// forbiddenDeps returns what p links, directly or not, that a contract must
// not, each with the direct import of p that brings it in.
func forbiddenDeps(p *packages.Package) []string {
	var out []string
	seen, reported := map[string]bool{}, map[string]bool{}
	var walk func(p *packages.Package, via string)
	walk = func(p *packages.Package, via string) {
		paths := make([]string, 0, len(p.Imports))
		for path := range p.Imports {
			paths = append(paths, path)
		}
		slices.Sort(paths)
		for _, path := range paths {
			if seen[path] {
				continue
			}
			seen[path] = true
			next := via
			if next == "" {
				next = path
			}
			if what := forbiddenInContract(path); what != "" && !reported[what] {
				reported[what] = true
				out = append(out, fmt.Sprintf("%s (through %s)", strings.TrimPrefix(path, root+"/"), strings.TrimPrefix(next, root+"/")))
			}
			walk(p.Imports[path], next)
		}
	}
	walk(p, "")
	slices.Sort(out)
	return out
}

// The rules themselves, on synthetic graphs: each case must be caught.
func TestViolationsAreDetected(t *testing.T) {
	t.Parallel()
	m := func(p string) string { return root + "/modules/" + p }
	tests := []struct {
		name  string
		graph map[string][]string
		want  string
	}{
		{"internal import", map[string][]string{m("catalog/internal/rest"): {m("identity/internal/domain")}}, "only identity's public package"},
		{"non-public sub-package", map[string][]string{m("catalog"): {m("identity/tokens")}}, "only identity's public package"},
		{"cycle", map[string][]string{m("cart"): {m("orders")}, m("orders/internal/saga"): {m("payments")}, m("payments"): {m("cart")}}, "module import cycle: cart -> orders -> payments -> cart"},
		{"platform imports modules", map[string][]string{root + "/platform/auth": {m("identity")}}, "platform/ must not import modules/"},
		{"cmd imported", map[string][]string{m("catalog"): {root + "/cmd/shop"}}, "nothing may import cmd/"},
		{"implementation in production", map[string][]string{m("cart/cartmodule"): {m("catalog/catalogmodule")}}, "only cmd/ builds"},
		{"implementation in other tests", map[string][]string{m("orders/ordersmodule_test"): {m("cart/cartmodule")}}, "only cmd/ builds"},
		{"implementation outside modules", map[string][]string{root + "/platform/kernel_test": {m("cart/cartmodule")}}, "only cmd/ builds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations(tt.graph)
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("violations = %q, want one containing %q", got, tt.want)
			}
		})
	}
	allowed := map[string][]string{
		m("cart"):                       {m("catalog"), m("catalog/catalogtest"), root + "/platform/auth"},
		m("orders/ordersremote"):        {m("orders"), root + "/platform/remote"},
		m("cart/internal/store"):        {m("cart/internal/domain")},
		root + "/cmd/shop":              {m("cart"), m("catalog"), m("catalog/catalogmodule")},
		m("catalog/catalogmodule_test"): {m("catalog/catalogmodule"), m("catalog")},
		root + "/modules_test":          {m("catalog/catalogmodule"), m("cart/cartmodule")},
	}
	if got := violations(allowed); len(got) != 0 {
		t.Fatalf("allowed graph reported %q", got)
	}
}

// A module's database role reaches its own schema only: catalog's connection
// is refused on identity's tables by PostgreSQL itself.
func TestCatalogConnectionIsRefusedOnIdentityTables(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog", "identity")
	ctx := context.Background()
	// PostgreSQL 15 no longer lets everyone create in public, but older
	// servers and hand-made databases do: provisioning must take it back.
	if _, err := dbs.Owner().Pool().Exec(ctx, "GRANT CREATE ON SCHEMA public TO PUBLIC"); err != nil {
		t.Fatal(err)
	}
	cat, err := dbs.Open(ctx, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	id, err := dbs.Open(ctx, "identity")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Pool.Exec(ctx, "SELECT count(*) FROM identity.users"); err != nil {
		t.Fatalf("identity cannot read its own table: %v", err)
	}
	for _, q := range []string{
		"SELECT count(*) FROM identity.users",
		"SELECT count(*) FROM identity.sessions",
		"INSERT INTO identity.users (id) VALUES (gen_random_uuid())",
		"CREATE TABLE public.sneaky (id int)",
	} {
		_, err := cat.Pool.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("catalog ran %q: err = %v, want permission denied (42501)", q, err)
		}
	}
	if _, err := id.Pool.Exec(ctx, "SELECT count(*) FROM catalog.products"); err == nil {
		t.Error("identity read catalog.products")
	}
}

// dependencies returns every module's declared dependencies (DependsOn), by
// module, read from the descriptors.
func dependencies() map[string][]string {
	declared := map[string][]string{}
	for _, d := range []kernel.Descriptor{
		identitymodule.Descriptor(), catalogmodule.Descriptor(), inventorymodule.Descriptor(), cartmodule.Descriptor(),
		paymentsmodule.Descriptor(), ordersmodule.Descriptor(), notificationsmodule.Descriptor(), reportingmodule.Descriptor(),
	} {
		declared[d.Name] = d.DependsOn
	}
	return declared
}

// Every import of another module is declared in the importer's descriptor,
// so the kernel's start order and the module graph shown to operators are
// the real ones; and every module folder is a registered module.
func TestDeclaredDependenciesMatchImports(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every package")
	}
	t.Parallel()
	declared := dependencies()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := declared[e.Name()]; e.IsDir() && !ok {
			t.Errorf("modules/%s has no descriptor in this test's list", e.Name())
		}
	}
	for from, tos := range moduleEdges(importGraph(t)) {
		for _, to := range tos {
			if !slices.Contains(declared[from], to) {
				t.Errorf("%s imports %s but its descriptor does not declare the dependency", from, to)
			}
		}
	}
}
