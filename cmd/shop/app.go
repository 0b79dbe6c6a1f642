package main

import (
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
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
	Server        *httpapi.Server
	Bus           *events.Bus
	Identity      *identitymodule.Module
	Catalog       *catalogmodule.Module
	Inventory     *inventorymodule.Module
	Notifications *notificationsmodule.Module
	Reporting     *reportingmodule.Module
}

func newApp(srv *httpapi.Server, h *health.State, log *slog.Logger, bus *events.Bus,
	id *identitymodule.Module, cat *catalogmodule.Module, inv *inventorymodule.Module, c *cartmodule.Module, pay *paymentsmodule.Module,
	ord *ordersmodule.Module, notes *notificationsmodule.Module, rep *reportingmodule.Module) (*App, error) {
	k, err := kernel.New(srv, h, log, nil, id, cat, inv, c, pay, ord, notes, rep)
	if err != nil {
		return nil, err
	}
	k.AddWorker(bus)
	bus.Routes(srv.Router("events"))
	web.Register(srv.Echo)
	return &App{Kernel: k, Server: srv, Bus: bus, Identity: id, Catalog: cat, Inventory: inv, Notifications: notes, Reporting: rep}, nil
}

// The modules' public APIs, as their neighbours call them in this process.
// A process that hosts only some modules provides remote adapters here.

func catalogAPI(m *catalogmodule.Module) catalog.API       { return m.API() }
func inventoryAPI(m *inventorymodule.Module) inventory.API { return m.API() }
func cartAPI(m *cartmodule.Module) cart.API                { return m.API() }
func paymentsAPI(m *paymentsmodule.Module) payments.API    { return m.API() }

func provideBus(cfg config.Config, log *slog.Logger, m *metrics.Metrics, dbs *kernel.Databases) (*events.Bus, error) {
	return events.NewBus(cfg, log, m, dbs.Owner())
}

func provideHealth(log *slog.Logger) *health.State {
	return health.NewState(2 * time.Second).WithLogger(log)
}
