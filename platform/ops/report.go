package ops

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
)

// Report is the ops page: the live topology, the module graph and the
// replicas.
type Report struct {
	// Process is the process that answered (the one the load balancer
	// picked).
	Process Process        `json:"process"`
	Modules []ModuleStatus `json:"modules"`
	Graph   Graph          `json:"graph"`
	// Replicas are the processes seen within 15 s, in this process's
	// modules and by the processes of the remote ones, oldest first.
	Replicas []Process `json:"replicas"`
	At       time.Time `json:"at"`
}

// Graph is the module graph: an edge from a module to one whose API it
// calls.
type Graph struct {
	Modules []string `json:"modules"`
	Edges   []Edge   `json:"edges"`
	Mermaid string   `json:"mermaid" description:"the same graph as a Mermaid flowchart (shop modules --mermaid)"`
}

// Edge is one dependency: From calls To's public API.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Report gathers the ops page.
func (o *Ops) Report(ctx context.Context) (Report, error) {
	g, err := o.graph()
	if err != nil {
		return Report{}, err
	}
	mods := o.statuses(ctx)
	return Report{Process: o.self(), Modules: mods, Graph: g, Replicas: union(mods), At: time.Now().UTC()}, nil
}

func (o *Ops) graph() (Graph, error) {
	g, err := kernel.NewGraph(o.cfg.Modules...)
	if err != nil {
		return Graph{}, err
	}
	out := Graph{Modules: []string{}, Edges: []Edge{}, Mermaid: g.Mermaid()}
	for _, d := range g.Order() {
		out.Modules = append(out.Modules, d.Name)
		for _, dep := range d.DependsOn {
			out.Edges = append(out.Edges, Edge{From: d.Name, To: dep})
		}
	}
	return out, nil
}

// union lists each process the modules' statuses name once, with its
// latest heartbeat, oldest first.
func union(mods []ModuleStatus) []Process {
	byInstance := map[string]Process{}
	for _, m := range mods {
		for _, p := range m.Replicas {
			if seen, ok := byInstance[p.Instance]; !ok || p.SeenAt.After(seen.SeenAt) {
				byInstance[p.Instance] = p
			}
		}
	}
	out := make([]Process, 0, len(byInstance))
	for _, p := range byInstance {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Process) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Instance, b.Instance)
	})
	return out
}

// Routes registers the ops page's endpoint (admin only).
func (o *Ops) Routes(r *httpapi.Router) {
	r.GET("/api/admin/ops", func(c echo.Context) error {
		rep, err := o.Report(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, rep)
	}, httpapi.RequireRole(auth.RoleAdmin)).Doc(httpapi.Op{
		ID: "getOps", Summary: "The live topology (each module, where it runs, its health, event backlog, dead letters and p99), the module graph and the replicas",
		Description: "A module hosted elsewhere is reported by its process, asked with a 1 s timeout: one that does not answer in time is \"unreachable\".",
		Access:      httpapi.AccessAdmin,
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: Report{}}},
	})
}

// StatusFunc serves remote.StatusMethod: ServerConfig.Status.
func (o *Ops) StatusFunc(ctx context.Context, module string) (any, error) {
	return o.Status(ctx, module)
}
