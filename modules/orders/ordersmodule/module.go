// Package ordersmodule is the orders module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package orders) to the domain. Only the composition root (cmd/) imports it.
package ordersmodule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/orders/internal/domain"
	"github.com/shopmonolith/shop/modules/orders/internal/rest"
	"github.com/shopmonolith/shop/modules/orders/internal/store"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. The module calls the cart
// (checkout), inventory and payments (saga steps) through their public APIs.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "orders",
		Summary:   "checkout, the order saga, order history and shipping",
		DependsOn: []string{"cart", "inventory", "payments"},
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// SagaSubscriber is the subscriber id of the saga's steps; one id for all of
// the order's events keeps them in order per order. Never rename it.
const SagaSubscriber = "orders.saga"

// Module is the orders module as the kernel runs it.
type Module struct {
	db  *database.DB
	svc *domain.Service
	log *slog.Logger
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's database, builds the service on its neighbours'
// APIs and subscribes the saga to bus, which must not have started yet.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	c cart.API, inv inventory.API, pay payments.API) (*Module, error) {
	db, err := dbs.Open(ctx, Descriptor().Name)
	if err != nil {
		return nil, fmt.Errorf("orders database: %w", err)
	}
	log = logging.ForModule(log, Descriptor().Name)
	outbox := bus.Outbox(db)
	st := store.New(db, events.Translate(outbox, toEvent))
	svc := domain.NewService(st, st.Transactor(db), cartPort{c}, stockPort{inv}, paymentsPort{pay}, time.Now, log,
		domain.CheckoutStale(cfg.HTTP.RequestTimeout))
	if err := subscribeSaga(bus, db, svc); err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	return &Module{db: db, svc: svc, log: log}, nil
}

// subscribeSaga registers the saga steps, each on one of the order's own
// events (keyed by the order id), under one subscriber id. They call other
// modules, so they run outside any transaction (SubscribeCalls).
func subscribeSaga(bus *events.Bus, db *database.DB, svc *domain.Service) error {
	return errors.Join(
		sagaStep[orders.OrderPlaced](bus, db, svc.OnPlaced),
		sagaStep[orders.OrderStockReserved](bus, db, svc.OnStockReserved),
		sagaStep[orders.OrderConfirmed](bus, db, svc.OnConfirmed),
		sagaStep[orders.OrderCancelled](bus, db, svc.OnCancelled),
	)
}

func sagaStep[E events.Event](bus *events.Bus, db *database.DB, step func(context.Context, string) error) error {
	typ, h := events.OnCall(func(ctx context.Context, e E, _ events.Envelope) error {
		return step(auth.AsService(ctx, Descriptor().Name), e.EventKey())
	})
	if err := bus.SubscribeCalls(db, SagaSubscriber, typ, h); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", SagaSubscriber, typ, err)
	}
	return nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() orders.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the module is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the saga runs on the bus.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }
