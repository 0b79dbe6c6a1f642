package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/cart/cartremote"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/catalog/catalogremote"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/identity/identityremote"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventoryremote"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsremote"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersremote"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentsremote"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingremote"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/ops"
	"github.com/shopmonolith/shop/platform/remote"
)

// remotes holds the remote adapters of the module APIs this process calls
// in modules it reaches elsewhere, one per calling module: each caller
// signs its own calls (cart's calls to inventory as cart, orders' as
// orders), and each has its own circuit and in-flight limit per neighbour.
// A pair whose callee is hosted here has none.
//
// The edge's calls to identity (sessions checked remotely) are
// provideAuthenticator's.
type remotes struct {
	cartCatalog     catalog.API
	cartInventory   inventory.API
	ordersCart      cart.API
	ordersInventory inventory.API
	ordersPayments  payments.API
	// inventoryCatalog lists the products to stock for a demo
	// (serve --seed-demo where inventory runs without catalog).
	inventoryCatalog catalog.API
}

// remoteCall is one caller–callee pair of the module APIs, and how its
// adapter is made.
type remoteCall struct {
	caller, callee string
	set            func(*remotes, *remote.Client)
}

// remoteCalls lists every pair in which one module's code calls another's
// API. A module whose dependency it only hears from by events has none.
var remoteCalls = []remoteCall{
	{"cart", "catalog", func(r *remotes, c *remote.Client) { r.cartCatalog = catalogremote.NewClient(c) }},
	{"cart", "inventory", func(r *remotes, c *remote.Client) { r.cartInventory = inventoryremote.NewClient(c) }},
	{"inventory", "catalog", func(r *remotes, c *remote.Client) { r.inventoryCatalog = catalogremote.NewClient(c) }},
	{"orders", "cart", func(r *remotes, c *remote.Client) { r.ordersCart = cartremote.NewClient(c) }},
	{"orders", "inventory", func(r *remotes, c *remote.Client) { r.ordersInventory = inventoryremote.NewClient(c) }},
	{"orders", "payments", func(r *remotes, c *remote.Client) { r.ordersPayments = paymentsremote.NewClient(c) }},
}

// remoteAPIs builds the remote adapter of every call a hosted module makes
// to a module of SHOP_MODULE_URLS: one remote.Client per calling module,
// with the addresses of SHOP_MODULE_URLS, the default call options, and its
// metrics in the process's registry. With no module addressed it builds
// nothing.
func remoteAPIs(p placement, keys remote.Keys, m *metrics.Metrics, tp trace.TracerProvider) (remotes, error) {
	var r remotes
	clients := map[string]*remote.Client{}
	for _, call := range remoteCalls {
		if _, addressed := p.urls[call.callee]; !addressed || !p.hosts(call.caller) {
			continue
		}
		c, ok := clients[call.caller]
		if !ok {
			var err error
			c, err = remote.NewClient(remote.ClientConfig{Caller: call.caller, Endpoints: p.urls, Keys: keys, Registerer: m.Registry, Tracer: tp})
			if err != nil {
				return remotes{}, fmt.Errorf("remote calls of %s: %w", call.caller, err)
			}
			clients[call.caller] = c
		}
		call.set(&r, c)
	}
	return r, nil
}

// remoteKeyLabel separates the keys of calls between modules from the
// database role passwords, which derive from the same secret.
const remoteKeyLabel = "shop service-to-service call keys"

// remoteKeys returns the keys that sign and verify calls between modules:
// the configured ones (SHOP_CALL_PUBLIC_KEYS and each hosted module's
// SHOP_CALL_KEY_<MODULE>), with which the process signs only as the hosted
// modules whose private keys it holds. Without them development derives
// every key from SHOP_DB_ROLE_SECRET, so the processes of one shop agree
// without more settings (anyone with the secret can sign as any module),
// and production, which never runs on development keys, needs none in one
// process: nothing is signed there (config.Validate refuses a production
// split without keys first).
func remoteKeys(cfg config.Config, p placement) (remote.Keys, error) {
	if cfg.Calls.Configured() {
		return remote.NewKeys(cfg.Calls.PrivateKeys, cfg.Calls.PublicKeys), nil
	}
	if cfg.Env == config.EnvProduction {
		if cfg.Split() {
			return nil, errors.New("SHOP_CALL_PUBLIC_KEYS: a production split topology needs configured call keys (shop keys makes a set)")
		}
		return nil, nil
	}
	secret, err := hkdf.Key(sha256.New, []byte(cfg.DB.RoleSecret), nil, remoteKeyLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("derive the keys of calls between modules: %w", err)
	}
	// Every process is an edge too: it forwards requests and checks
	// sessions as remote.EdgeCaller.
	return remote.DevKeys(hex.EncodeToString(secret), append(slices.Clone(p.hosted), remote.EdgeCaller)...), nil
}

// internalEndpoints returns the server of the internal endpoints of every
// module this process hosts (a nil module is hosted elsewhere), accepting
// each module's callers by the descriptors' DependsOn; nil when the process
// serves none (SHOP_HTTP_INTERNAL_ADDR is empty). Each module also answers
// the edge's status calls of the ops page (o).
func internalEndpoints(cfg config.Config, keys remote.Keys, log *slog.Logger, tp trace.TracerProvider, p placement, o *ops.Ops,
	id *identitymodule.Module, cat *catalogmodule.Module, inv *inventorymodule.Module, c *cartmodule.Module, pay *paymentsmodule.Module,
	ord *ordersmodule.Module, notes *notificationsmodule.Module, rep *reportingmodule.Module) *remote.Server {
	if cfg.HTTP.InternalAddr == "" {
		return nil
	}
	var svcs []remote.Service
	svcs = appendService(svcs, id, identityremote.Methods)
	svcs = appendService(svcs, cat, catalogremote.Methods)
	svcs = appendService(svcs, inv, inventoryremote.Methods)
	svcs = appendService(svcs, c, cartremote.Methods)
	svcs = appendService(svcs, pay, paymentsremote.Methods)
	svcs = appendService(svcs, ord, ordersremote.Methods)
	svcs = appendService(svcs, notes, notificationsremote.Methods)
	svcs = appendService(svcs, rep, reportingremote.Methods)
	dependsOn := map[string][]string{}
	for _, d := range p.all {
		dependsOn[d.Name] = d.DependsOn
	}
	return remote.NewServer(remote.ServerConfig{Keys: keys, Callers: remote.AllowedCallers(dependsOn), Log: log, Tracer: tp, Status: o.StatusFunc}, svcs...)
}

// appendService appends the internal endpoints of m unless it is nil.
func appendService[A, M any, P interface {
	*M
	API() A
}](svcs []remote.Service, m P, methods func(A) remote.Service) []remote.Service {
	if m == nil {
		return svcs
	}
	return append(svcs, methods(m.API()))
}
