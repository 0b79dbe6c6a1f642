// Package kernel is the microkernel the modules plug into. A module describes
// itself (a Descriptor: name and dependencies) and implements Module (routes,
// readiness, start and stop); the kernel checks the dependency graph, opens
// each module's own database access, migrates it, registers its routes, and
// starts and stops modules in dependency order. A process runs the modules
// it hosts; a dependency hosted by another process is reached remotely.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Module is a running module as the kernel sees it.
type Module interface {
	Descriptor() Descriptor
	// Routes registers the module's HTTP routes.
	Routes(r *httpapi.Router)
	// Check reports whether the module can serve (readiness).
	Check(ctx context.Context) error
	// Start launches background work; it must return promptly.
	Start(ctx context.Context) error
	// Stop ends background work started by Start.
	Stop(ctx context.Context) error
}

// Worker is background machinery shared by the modules (the event bus). It
// starts after every module and stops before them.
type Worker interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Kernel runs a set of modules behind one HTTP edge.
type Kernel struct {
	graph   *Graph
	modules []Module // dependency order
	workers []Worker
	srv     *httpapi.Server
	health  *health.State
	log     *slog.Logger
}

// New validates the graph of the hosted modules mods, whose dependencies may
// also be among remote (modules other processes host, which this one calls
// remotely), and registers every hosted module's routes and readiness check.
func New(srv *httpapi.Server, h *health.State, log *slog.Logger, remote []string, mods ...Module) (*Kernel, error) {
	ds := make([]Descriptor, len(mods))
	byName := make(map[string]Module, len(mods))
	for i, m := range mods {
		ds[i] = m.Descriptor()
		byName[ds[i].Name] = m
	}
	g, err := NewHostedGraph(remote, ds...)
	if err != nil {
		return nil, err
	}
	k := &Kernel{graph: g, srv: srv, health: h, log: log}
	for _, d := range g.Order() {
		m := byName[d.Name]
		k.modules = append(k.modules, m)
		m.Routes(srv.Router(d.Name))
		h.Add("module:"+d.Name, m.Check)
	}
	return k, nil
}

// AddWorker registers shared background machinery.
func (k *Kernel) AddWorker(w Worker) { k.workers = append(k.workers, w) }

// Graph returns the validated module graph.
func (k *Kernel) Graph() *Graph { return k.graph }

// Server returns the HTTP edge.
func (k *Kernel) Server() *httpapi.Server { return k.srv }

// Run starts the modules, serves HTTP until ctx ends, drains, and stops the
// modules in reverse order. onListen, if not nil, gets the bound address.
func (k *Kernel) Run(ctx context.Context, onListen httpapi.ListenFunc) error {
	started, workers := 0, 0
	var runErr error
	for _, m := range k.modules {
		if err := m.Start(ctx); err != nil {
			runErr = fmt.Errorf("start module %s: %w", m.Descriptor().Name, err)
			break
		}
		started++
	}
	for _, w := range k.workers {
		if runErr != nil {
			break
		}
		if err := w.Start(ctx); err != nil {
			runErr = fmt.Errorf("start worker: %w", err)
			break
		}
		workers++
	}
	if runErr == nil {
		runErr = k.srv.Run(ctx, onListen)
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	for i := workers - 1; i >= 0; i-- {
		if err := k.workers[i].Stop(stopCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("stop worker: %w", err))
		}
	}
	for i := started - 1; i >= 0; i-- {
		m := k.modules[i]
		if err := m.Stop(stopCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("stop module %s: %w", m.Descriptor().Name, err))
		}
	}
	return runErr
}
