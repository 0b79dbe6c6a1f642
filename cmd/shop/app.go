package main

import (
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/web"
)

// App is the composed process: the kernel with every module, plus the modules
// the operator commands talk to.
type App struct {
	Kernel        *kernel.Kernel
	Bus           *events.Bus
	Identity      *identity.Module
	Catalog       *catalog.Module
	Notifications *notifications.Module
}

func newApp(srv *httpapi.Server, h *health.State, log *slog.Logger, bus *events.Bus,
	id *identity.Module, cat *catalog.Module, notes *notifications.Module) (*App, error) {
	k, err := kernel.New(srv, h, log, id, cat, notes)
	if err != nil {
		return nil, err
	}
	k.AddWorker(bus)
	bus.Routes(srv.Router("events"))
	web.Register(srv.Echo)
	return &App{Kernel: k, Bus: bus, Identity: id, Catalog: cat, Notifications: notes}, nil
}

func provideBus(cfg config.Config, log *slog.Logger, m *metrics.Metrics, dbs *kernel.Databases) (*events.Bus, error) {
	return events.NewBus(cfg, log, m, dbs.Owner())
}

func provideHealth(log *slog.Logger) *health.State {
	return health.NewState(2 * time.Second).WithLogger(log)
}
