// Package topology starts the shop binary as several processes, one per
// group of modules, the way a developer or a test wants to see the shop
// split: `monolith` (one process), `catalog` (catalog alone, the rest in a
// second process that serves as the edge) and `split` (every module alone,
// behind a pure edge hosting none). It knows nothing of the modules but what
// the binary says of them (shop modules --json): their names and
// dependencies.
//
// The launcher is the one piece of code behind `make run-split` (cmd/split)
// and the end-to-end tests on every topology (cmd/shop): it gives each
// process the addresses of the modules it needs (SHOP_MODULE_URLS, with
// identity's for sessions), its own internal listener, the NATS server that
// carries events between processes, and prefixes each process's log lines
// with its name; it waits until every process is ready and stops them all.
package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// Module is one module of the binary and the modules it depends on.
type Module struct {
	Name      string   `json:"name"`
	DependsOn []string `json:"depends_on"`
}

// ModulesOf asks the binary for its modules, dependencies first.
func ModulesOf(ctx context.Context, binary string) ([]Module, error) {
	cmd := exec.CommandContext(ctx, binary, "modules", "--json")
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("%s modules --json: %w: %s", binary, err, exit.Stderr)
		}
		return nil, fmt.Errorf("%s modules --json: %w", binary, err)
	}
	var mods []Module
	if err := json.Unmarshal(out, &mods); err != nil {
		return nil, fmt.Errorf("%s modules --json: %w", binary, err)
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s modules --json lists no module", binary)
	}
	return mods, nil
}

// Group is one process of a topology: the modules it hosts. A group of no
// module is a pure edge (SHOP_MODULES=none): it forwards every route.
type Group struct {
	Name    string
	Modules []string
}

// Edge reports whether the group hosts no module.
func (g Group) Edge() bool { return len(g.Modules) == 0 }

// Topology is the shop cut into processes, in start order: each group's
// dependencies come before it where the cut allows. The last group is the
// front, where clients send their requests.
type Topology struct {
	Name   string
	Groups []Group
	// modules are the binary's modules, dependencies first.
	modules []Module
}

// The topologies a developer or a test can ask for by name.
const (
	Monolith = "monolith" // one process hosting every module
	Catalog  = "catalog"  // catalog alone; the rest in the front process
	Split    = "split"    // every module alone, behind a pure edge
)

// Names lists the named topologies.
var Names = []string{Monolith, Catalog, Split}

// identity is the module that checks sessions: every process that hosts
// no identity reaches it, for the routes that need a session.
const identity = "identity"

// Named returns the topology called name for the binary's modules
// (dependencies first, as ModulesOf returns them). withEdge adds the pure
// edge to split; without it, the last module's process is the front.
func Named(name string, modules []Module, withEdge bool) (Topology, error) {
	t := Topology{Name: name, modules: modules}
	switch name {
	case Monolith:
		t.Groups = []Group{{Name: "shop", Modules: names(modules)}}
	case Catalog:
		var rest []string
		for _, m := range names(modules) {
			if m != "catalog" {
				rest = append(rest, m)
			}
		}
		t.Groups = []Group{{Name: "catalog", Modules: []string{"catalog"}}, {Name: "rest", Modules: rest}}
	case Split:
		for _, m := range names(modules) {
			t.Groups = append(t.Groups, Group{Name: m, Modules: []string{m}})
		}
		if withEdge {
			t.Groups = append(t.Groups, Group{Name: "edge"})
		}
	default:
		return Topology{}, fmt.Errorf("unknown topology %q; the topologies are %s", name, strings.Join(Names, ", "))
	}
	return t, t.check()
}

// check makes sure every module of the binary is hosted exactly once.
func (t Topology) check() error {
	hostedBy := map[string]string{}
	known := names(t.modules)
	for _, g := range t.Groups {
		for _, m := range g.Modules {
			if !slices.Contains(known, m) {
				return fmt.Errorf("topology %s: group %s hosts unknown module %q", t.Name, g.Name, m)
			}
			if other, dup := hostedBy[m]; dup {
				return fmt.Errorf("topology %s: module %s is hosted by both %s and %s", t.Name, m, other, g.Name)
			}
			hostedBy[m] = g.Name
		}
	}
	for _, m := range known {
		if _, ok := hostedBy[m]; !ok {
			return fmt.Errorf("topology %s: no group hosts module %s", t.Name, m)
		}
	}
	return nil
}

// Distributed reports whether the topology has more than one process.
func (t Topology) Distributed() bool { return len(t.Groups) > 1 }

// Front is the group clients talk to: the last one.
func (t Topology) Front() Group { return t.Groups[len(t.Groups)-1] }

// Needs lists, sorted, the modules group g reaches in other processes: the
// dependencies of its modules, identity (sessions) unless it hosts it, and
// every module when g is the edge or the front (it serves every route).
func (t Topology) Needs(g Group) []string {
	var out []string
	add := func(m string) {
		if !slices.Contains(g.Modules, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if !t.Distributed() {
		return nil
	}
	front := t.Front().Name == g.Name
	for _, m := range t.modules {
		if front || slices.Contains(g.Modules, m.Name) {
			for _, d := range m.DependsOn {
				add(d)
			}
		}
		if front {
			add(m.Name)
		}
	}
	add(identity)
	slices.Sort(out)
	return out
}

func names(modules []Module) []string {
	out := make([]string, len(modules))
	for i, m := range modules {
		out[i] = m.Name
	}
	return out
}
