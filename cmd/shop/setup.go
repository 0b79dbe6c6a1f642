package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/shopmonolith/shop/migrations"
	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/devdb"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/tracing"
)

// descriptors lists every module this binary holds, in registration order.
func descriptors() []kernel.Descriptor {
	return []kernel.Descriptor{
		identitymodule.Descriptor(), catalogmodule.Descriptor(), inventorymodule.Descriptor(), cartmodule.Descriptor(),
		paymentsmodule.Descriptor(), ordersmodule.Descriptor(), notificationsmodule.Descriptor(), reportingmodule.Descriptor(),
	}
}

// moduleNames lists the modules in start order.
func moduleNames() ([]string, error) {
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range g.Order() {
		names = append(names, d.Name)
	}
	return names, nil
}

// env bundles what every command starts from.
type env struct {
	cfg     config.Config
	log     *slog.Logger
	place   placement
	modules []string // the hosted modules, in start order
	budget  database.Budget
	// took says how long composeApp's steps took: opening the hosted
	// modules' databases (provisioning, connecting, migrating) and
	// building the modules.
	took []any
}

// load reads and checks the configuration before anything starts.
func load(lookup Env, stderr io.Writer) (env, error) {
	e, err := settings(lookup)
	if err != nil {
		return env{}, err
	}
	e.log = logging.New(stderr, e.cfg.Log.Format, e.cfg.Log.Level)
	return e, nil
}

// settings loads the configuration, places the modules (hosted here or
// reached elsewhere) and splits the connection budget across the hosted
// ones: every check of the settings, made before anything starts.
func settings(lookup Env) (env, error) {
	names, err := moduleNames()
	if err != nil {
		return env{}, err
	}
	cfg, err := config.Load(lookup, names...)
	if err != nil {
		return env{cfg: cfg}, err
	}
	p, err := place(cfg.Topology)
	if err != nil {
		return env{cfg: cfg}, err
	}
	budget, err := database.Split(cfg.DB.MaxConns, p.hosted)
	if err != nil {
		return env{cfg: cfg}, fmt.Errorf("configuration: %w", err)
	}
	return env{cfg: cfg, place: p, modules: p.hosted, budget: budget}, nil
}

// checkServeBudget refuses a budget that leaves a module no connection
// beyond what its event handlers can hold at once (SHOP_EVENTS_WORKERS
// transactions per subscriber): requests and the outbox relay would wait
// behind the handlers. Operator commands run no handlers and may use less.
func (e env) checkServeBudget() error {
	need := int32(e.cfg.Events.Workers) + 1
	for _, s := range e.budget.Shares {
		if s.Conns < need {
			return fmt.Errorf("configuration: SHOP_DB_MAX_CONNS=%d gives module %s %d connections; serving needs at least %d per module (SHOP_EVENTS_WORKERS=%d, plus one): raise SHOP_DB_MAX_CONNS or lower SHOP_EVENTS_WORKERS",
				e.budget.Total, s.Module, s.Conns, need, e.cfg.Events.Workers)
		}
	}
	return nil
}

// checkServeCredentials refuses the owner's credentials to a production
// process of a split topology: it logs in as its own modules only
// (SHOP_DB_<MODULE>_URL), and provisioning is the operator's step (shop
// migrate up, with DATABASE_URL).
func (e env) checkServeCredentials() error {
	if e.cfg.Env == config.EnvProduction && e.cfg.Split() && e.cfg.DB.URL != "" {
		return errors.New("configuration: DATABASE_URL: must be empty when a production process of a split topology serves: " +
			"it logs in as its own modules only (SHOP_DB_<MODULE>_URL); provision and migrate with DATABASE_URL in shop migrate up")
	}
	return nil
}

// openDatabases finds the database and opens the owner connection, unless
// every hosted module logs in with its own URL and no owner is given: then
// the process holds its modules' credentials only. The returned close
// function also stops an embedded PostgreSQL.
func (e env) openDatabases(ctx context.Context, autoMigrate bool) (*kernel.Databases, func(), error) {
	if e.cfg.DB.URL == "" && e.cfg.OwnLogins() {
		dbs := kernel.NewModuleDatabases(nil, e.cfg.DB.ModuleURLs, e.cfg.DB, e.budget, migrations.FS, autoMigrate, e.log)
		return dbs, dbs.Close, nil
	}
	loc, err := devdb.Locate(ctx, e.cfg.DB, e.log)
	if err != nil {
		return nil, nil, err
	}
	owner, err := database.OpenOwner(ctx, loc.URL, e.cfg.DB, e.modules)
	if err != nil {
		stopEmbedded(loc, e.log)
		return nil, nil, fmt.Errorf("database (%s): %w", loc.Source, err)
	}
	dbs := kernel.NewModuleDatabases(owner, e.cfg.DB.ModuleURLs, e.cfg.DB, owner.Budget(), migrations.FS, autoMigrate, e.log)
	return dbs, func() {
		dbs.Close()
		stopEmbedded(loc, e.log)
	}, nil
}

// composeApp loads the configuration, opens (and migrates) the hosted
// modules' databases and composes them: what serve and the operator
// commands start from. A command that works on modules (uses) refuses to
// start where they are not hosted.
func composeApp(ctx context.Context, lookup Env, stderr io.Writer, command string, uses ...string) (env, *App, func(), error) {
	e, err := load(lookup, stderr)
	if err != nil {
		return env{}, nil, nil, err
	}
	if err := e.place.need(command, uses...); err != nil {
		return env{}, nil, nil, err
	}
	begin := time.Now()
	tp, err := tracing.New(ctx, e.cfg.Tracing, e.modules, len(e.modules) == len(e.place.all))
	if err != nil {
		return env{}, nil, nil, err
	}
	dbs, closeDB, err := e.openDatabases(ctx, true)
	if err != nil {
		return env{}, nil, nil, err
	}
	closeAll := func() {
		closeDB()
		e.flushSpans(tp)
	}
	dbs.TraceWith(tp)
	// The hosted modules' databases open together; building each module
	// then takes its own.
	if err := dbs.Prepare(ctx, e.modules...); err != nil {
		closeAll()
		return env{}, nil, nil, err
	}
	opened := time.Now()
	app, err := buildApp(ctx, e.cfg, e.log, dbs, e.place, tp)
	if err != nil {
		closeAll()
		return env{}, nil, nil, err
	}
	e.took = []any{slog.Duration("databases", opened.Sub(begin)), slog.Duration("modules", time.Since(opened))}
	return e, app, closeAll, nil
}

// spanFlushTimeout bounds how long a stopping process tries to export the
// spans it has not sent yet.
const spanFlushTimeout = 5 * time.Second

// flushSpans exports the spans not sent yet and stops tracing.
func (e env) flushSpans(tp *sdktrace.TracerProvider) {
	ctx, cancel := context.WithTimeout(context.Background(), spanFlushTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		e.log.Warn("export the last spans", slog.String("error", err.Error()))
	}
}

func stopEmbedded(loc devdb.Located, log *slog.Logger) {
	if loc.Stop == nil {
		return
	}
	if err := loc.Stop(); err != nil {
		log.Warn("stop embedded PostgreSQL", slog.String("error", err.Error()))
	}
}
