package main

import (
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/web"
)

// App is the composed process: the kernel with every module, plus the modules
// the operator commands talk to.
type App struct {
	Kernel   *kernel.Kernel
	Identity *identity.Module
	Catalog  *catalog.Module
}

func newApp(srv *httpapi.Server, h *health.State, log *slog.Logger, id *identity.Module, cat *catalog.Module) (*App, error) {
	k, err := kernel.New(srv, h, log, id, cat)
	if err != nil {
		return nil, err
	}
	web.Register(srv.Echo)
	return &App{Kernel: k, Identity: id, Catalog: cat}, nil
}

func provideHealth() *health.State { return health.NewState(2 * time.Second) }
