package kernel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopmonolith/shop/platform/httpapi"
)

// Descriptor is what a module states about itself before anything runs.
type Descriptor struct {
	Name      string   // stable, lower case; also the schema and role suffix
	Summary   string   // one line for `shop modules`
	DependsOn []string // modules whose public API this one calls
	// Routes declares the module's public routes with no module behind
	// them, for a process that forwards them to the module's process
	// (httpapi.Server.ForwardRouter, whose routers never call a handler):
	// the same registrations as Module.Routes, so what is forwarded and
	// documented is what the module serves.
	Routes func(r *httpapi.Router)
}

// Graph is a validated module dependency graph.
type Graph struct {
	order  []Descriptor
	byName map[string]Descriptor
}

// NewGraph checks that names are unique, that every dependency is known and
// that dependencies form a DAG. Order() then lists dependencies first.
func NewGraph(ds ...Descriptor) (*Graph, error) { return NewHostedGraph(nil, ds...) }

// NewHostedGraph is NewGraph for a process that hosts the modules ds and
// reaches those named in remote at other processes: a dependency on a remote
// module is satisfied. Every dependency that is neither is reported in one
// error, by dependent.
func NewHostedGraph(remote []string, ds ...Descriptor) (*Graph, error) {
	g := &Graph{byName: make(map[string]Descriptor, len(ds))}
	for _, d := range ds {
		if d.Name == "" {
			return nil, fmt.Errorf("module without a name")
		}
		if _, dup := g.byName[d.Name]; dup {
			return nil, fmt.Errorf("module %q registered twice", d.Name)
		}
		g.byName[d.Name] = d
	}
	if err := g.checkDependencies(remote, ds); err != nil {
		return nil, err
	}
	// Depth-first topological sort in registration order; a grey node seen
	// again is a cycle, reported with its path.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var path []string
	var visit func(string) error
	visit = func(name string) error {
		switch color[name] {
		case grey:
			i := slices.Index(path, name)
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(path[i:], name), " -> "))
		case black:
			return nil
		}
		color[name] = grey
		path = append(path, name)
		for _, dep := range g.byName[name].DependsOn {
			if !g.Has(dep) {
				continue // remote: another process orders its own start
			}
			if err := visit(dep); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		color[name] = black
		g.order = append(g.order, g.byName[name])
		return nil
	}
	for _, d := range ds {
		if err := visit(d.Name); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// checkDependencies reports each module's dependencies that are neither in
// the graph nor remote.
func (g *Graph) checkDependencies(remote []string, ds []Descriptor) error {
	var problems []string
	for _, d := range ds {
		var missing []string
		for _, dep := range d.DependsOn {
			if _, ok := g.byName[dep]; !ok && !slices.Contains(remote, dep) {
				missing = append(missing, fmt.Sprintf("%q", dep))
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("module %q depends on %s", d.Name, strings.Join(missing, " and ")))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: neither hosted here nor remote", strings.Join(problems, "; "))
}

// Order lists the modules so that each comes after its dependencies.
func (g *Graph) Order() []Descriptor { return slices.Clone(g.order) }

// Has reports whether the graph holds a module.
func (g *Graph) Has(name string) bool {
	_, ok := g.byName[name]
	return ok
}

// Mermaid renders the graph as a Mermaid flowchart; an edge a --> b means a
// calls b's public API.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, d := range g.order {
		fmt.Fprintf(&b, "    %s[%s]\n", d.Name, d.Name)
	}
	for _, d := range g.order {
		for _, dep := range d.DependsOn {
			fmt.Fprintf(&b, "    %s --> %s\n", d.Name, dep)
		}
	}
	return b.String()
}
