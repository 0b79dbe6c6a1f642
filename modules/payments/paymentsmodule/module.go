// Package paymentsmodule is the payments module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package payments) to the domain. Only the composition root (cmd/) imports it.
package paymentsmodule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway/simulated"
	"github.com/shopmonolith/shop/modules/payments/internal/rest"
	"github.com/shopmonolith/shop/modules/payments/internal/store"
	"github.com/shopmonolith/shop/modules/payments/internal/sweep"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "payments",
		Summary:   "card payments through a gateway (simulated by default)",
		DependsOn: nil,
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// sweepEvery is how often each replica looks for abandoned gateway
// operations. They are due a grace period (domain.Service.PendingGrace,
// a minute or more) after they were last taken up, so a sweep a few times
// a minute finishes them soon after, at the cost of one indexed query.
const sweepEvery = 15 * time.Second

// Module is the payments module as the kernel runs it.
type Module struct {
	db      *database.DB
	svc     *domain.Service
	log     *slog.Logger
	now     func() time.Time
	sweeper *sweep.Worker

	bg kernel.Background // the worker, from Start to Stop
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close),
// registers its outbox with bus and builds the service on the simulated
// gateway, whose calls cfg.Payments.GatewayTimeout bounds.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, bus, nil, clock)
}

// newModule is New with the gateway wrapped by wrap, when not nil (tests
// inject failures around the simulated gateway), and the clock injected
// (tests move time by hand).
func newModule(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	wrap func(gateway.Gateway) gateway.Gateway, now func() time.Time,
) (*Module, error) {
	name := Descriptor().Name
	db, err := dbs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("payments database: %w", err)
	}
	log = logging.ForModule(log, name)
	var gw gateway.Gateway = simulated.New(db)
	if wrap != nil {
		gw = wrap(gw)
	}
	st := store.New(db, events.Translate(bus.Outbox(db), toEvent))
	svc := domain.NewService(st, gw, cfg.Payments.GatewayTimeout, now, log)
	return &Module{
		db: db, svc: svc, log: log, now: now,
		sweeper: sweep.New(svc.FinishPending, now, sweepEvery, log),
	}, nil
}

// clock is the module's time; PostgreSQL keeps microseconds.
func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// API returns the in-process implementation of the public contract.
func (m *Module) API() payments.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the module is ready when its database
// is. The gateway is not part of readiness: when it is down, payments fail
// or ask callers to retry, and everything else keeps serving.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module: it starts the worker that finishes
// captures, voids and refunds whose callers abandoned them.
func (m *Module) Start(ctx context.Context) error {
	return m.bg.Start(ctx, m.sweeper.Run)
}

// Stop implements kernel.Module: it stops the worker, waiting for a sweep
// in progress until ctx ends. An operation the sweep had taken up stays
// pending (its gateway call ends with the worker's context), and a sweep
// after the grace period, here or on another replica, finishes it.
func (m *Module) Stop(ctx context.Context) error {
	if err := m.bg.Stop(ctx); err != nil {
		return fmt.Errorf("payments: stop: %w", err)
	}
	return nil
}
