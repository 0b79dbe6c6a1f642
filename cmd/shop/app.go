package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/ops"
	"github.com/shopmonolith/shop/platform/remote"
	"github.com/shopmonolith/shop/web"
)

// App is the composed process: the kernel with the modules this process
// hosts, plus the modules the operator commands talk to (nil when hosted
// elsewhere).
type App struct {
	Kernel    *kernel.Kernel
	Server    *httpapi.Server
	Bus       *events.Bus
	Identity  *identitymodule.Module
	Catalog   *catalogmodule.Module
	Inventory *inventorymodule.Module
	// InventoryCatalog is catalog as inventory reaches it (nil when this
	// process hosts no inventory): the one hosted here, or its remote adapter.
	InventoryCatalog catalog.API
	Notifications    *notificationsmodule.Module
	Reporting        *reportingmodule.Module
}

func newApp(cfg config.Config, srv *httpapi.Server, h *health.State, log *slog.Logger, tp trace.TracerProvider, bus *events.Bus, o *ops.Ops, p placement, keys remote.Keys, r remotes,
	id *identitymodule.Module, cat *catalogmodule.Module, inv *inventorymodule.Module, c *cartmodule.Module, pay *paymentsmodule.Module,
	ord *ordersmodule.Module, notes *notificationsmodule.Module, rep *reportingmodule.Module) (*App, error) {
	var mods []kernel.Module
	mods = appendHosted(mods, id)
	mods = appendHosted(mods, cat)
	mods = appendHosted(mods, inv)
	mods = appendHosted(mods, c)
	mods = appendHosted(mods, pay)
	mods = appendHosted(mods, ord)
	mods = appendHosted(mods, notes)
	mods = appendHosted(mods, rep)
	k, err := kernel.New(srv, h, log, p.remote(), mods...)
	if err != nil {
		return nil, err
	}
	k.AddWorker(bus)
	k.AddWorker(o.Worker())
	bus.ReportHealth(h)
	bus.Routes(srv.Router("events"))
	o.Routes(srv.Router("ops"))
	web.Register(srv.Echo)
	if err := forwardRoutes(srv, p, keys); err != nil {
		return nil, err
	}
	if in := internalEndpoints(cfg, keys, log, tp, p, o, id, cat, inv, c, pay, ord, notes, rep); in != nil {
		srv.MountInternal(in, keys)
	}
	a := &App{Kernel: k, Server: srv, Bus: bus, Identity: id, Catalog: cat, Inventory: inv, Notifications: notes, Reporting: rep}
	if inv != nil {
		a.InventoryCatalog = localOr(cat, r.inventoryCatalog)
	}
	return a, nil
}

// appendHosted appends m unless it is nil: a module this process does not
// host is not built.
func appendHosted[M any, P interface {
	*M
	kernel.Module
}](mods []kernel.Module, m P) []kernel.Module {
	if m == nil {
		return mods
	}
	return append(mods, m)
}

// The modules, built only when this process hosts them (else nil, and
// their neighbours call them through remote adapters). Wire cannot choose
// at run time, so each provider asks the placement.

func provideIdentity(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*identitymodule.Module, error) {
	return ifHosted(p, identitymodule.Descriptor(), func() (*identitymodule.Module, error) { return identitymodule.New(ctx, dbs, log, cfg, bus) })
}

func provideCatalog(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*catalogmodule.Module, error) {
	return ifHosted(p, catalogmodule.Descriptor(), func() (*catalogmodule.Module, error) { return catalogmodule.New(ctx, dbs, log, cfg, bus) })
}

func provideInventory(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*inventorymodule.Module, error) {
	return ifHosted(p, inventorymodule.Descriptor(), func() (*inventorymodule.Module, error) { return inventorymodule.New(ctx, dbs, log, cfg, bus) })
}

// provideCart builds cart on the catalog and inventory hosted here, or on
// their remote adapters that call as cart.
func provideCart(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	cat *catalogmodule.Module, inv *inventorymodule.Module, r remotes) (*cartmodule.Module, error) {
	return ifHosted(p, cartmodule.Descriptor(), func() (*cartmodule.Module, error) {
		return cartmodule.New(ctx, dbs, log, cfg, bus, localOr(cat, r.cartCatalog), localOr(inv, r.cartInventory))
	})
}

func providePayments(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*paymentsmodule.Module, error) {
	return ifHosted(p, paymentsmodule.Descriptor(), func() (*paymentsmodule.Module, error) { return paymentsmodule.New(ctx, dbs, log, cfg, bus) })
}

// provideOrders builds orders on the cart, inventory and payments hosted
// here, or on their remote adapters that call as orders.
func provideOrders(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	c *cartmodule.Module, inv *inventorymodule.Module, pay *paymentsmodule.Module, r remotes) (*ordersmodule.Module, error) {
	return ifHosted(p, ordersmodule.Descriptor(), func() (*ordersmodule.Module, error) {
		return ordersmodule.New(ctx, dbs, log, cfg, bus, localOr(c, r.ordersCart), localOr(inv, r.ordersInventory), localOr(pay, r.ordersPayments))
	})
}

func provideNotifications(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*notificationsmodule.Module, error) {
	return ifHosted(p, notificationsmodule.Descriptor(), func() (*notificationsmodule.Module, error) { return notificationsmodule.New(ctx, dbs, log, cfg, bus) })
}

func provideReporting(ctx context.Context, p placement, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*reportingmodule.Module, error) {
	return ifHosted(p, reportingmodule.Descriptor(), func() (*reportingmodule.Module, error) { return reportingmodule.New(ctx, dbs, log, cfg, bus) })
}

// ifHosted builds a module when this process hosts it; nil otherwise.
func ifHosted[M any](p placement, d kernel.Descriptor, build func() (*M, error)) (*M, error) {
	if !p.hosts(d.Name) {
		return nil, nil
	}
	return build()
}

// localOr returns the API of m when this process hosts it (m is not nil),
// else the remote adapter: a neighbour as the calling module sees it.
func localOr[A, M any, P interface {
	*M
	API() A
}](m P, remote A) A {
	if m != nil {
		return m.API()
	}
	return remote
}

// provideAuthenticator is how the edge learns who holds a session token:
// the identity module hosted here, or else identity in the process of
// SHOP_MODULE_URLS, asked on every request (remote.Sessions). A process
// that does neither serves no route that needs a session (serve refuses
// to start otherwise: placement.checkServe); it refuses session tokens.
func provideAuthenticator(m *identitymodule.Module, p placement, keys remote.Keys, mt *metrics.Metrics, tp trace.TracerProvider) (auth.Authenticator, error) {
	if m != nil {
		return identitymodule.ProvideAuthenticator(m), nil
	}
	if _, ok := p.urls[identitymodule.Descriptor().Name]; ok {
		s, err := remote.NewSessions(remote.ClientConfig{Endpoints: p.urls, Keys: keys, Registerer: mt.Registry, Tracer: tp})
		if err != nil {
			return nil, fmt.Errorf("sessions at a remote identity: %w", err)
		}
		return s, nil
	}
	return noIdentity{}, nil
}

// noIdentity refuses every session token: no identity module to ask.
type noIdentity struct{}

func (noIdentity) Authenticate(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, errs.E(errs.KindUnavailable,
		"sessions cannot be checked here: this process neither hosts the identity module (SHOP_MODULES) nor reaches it (SHOP_MODULE_URLS)")
}

// forwardRoutes serves the public routes of every module this process
// reaches elsewhere by forwarding them to its process's address in
// SHOP_MODULE_URLS, as the module's descriptor declares them.
func forwardRoutes(srv *httpapi.Server, p placement, keys remote.Keys) error {
	for _, d := range p.all {
		raw, ok := p.urls[d.Name]
		if !ok || d.Routes == nil {
			continue
		}
		owner, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("SHOP_MODULE_URLS: %s=%s: %w", d.Name, raw, err)
		}
		d.Routes(srv.ForwardRouter(d.Name, owner, keys))
	}
	return nil
}

func provideBus(cfg config.Config, log *slog.Logger, m *metrics.Metrics, dbs *kernel.Databases, tp trace.TracerProvider) (*events.Bus, error) {
	return events.NewBus(cfg, log, m, dbs, tp)
}

func provideHealth(log *slog.Logger) *health.State {
	return health.NewState(2 * time.Second).WithLogger(log)
}
