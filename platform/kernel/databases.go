package kernel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/migrate"
)

const stopTimeout = 15 * time.Second

// Databases opens each module's own database access: it provisions the
// module's role and schema (when there is an owner), connects as that role,
// and (when asked) applies the module's migrations from migrations/<module>/.
// A module with its own URL (SHOP_DB_<MODULE>_URL) connects with it; the
// others as the role the owner provisions, with a derived password.
type Databases struct {
	owner       *database.Owner   // nil: every module has its own URL
	own         map[string]string // module → its own URL
	cfg         config.DB
	budget      database.Budget
	migrations  fs.FS
	autoMigrate bool
	log         *slog.Logger
	tracer      trace.TracerProvider // traces the modules' statements; nil: none

	mu       sync.Mutex
	opened   []*database.DB
	prepared map[string]*database.DB // by Prepare, until Open hands it out
}

// NewDatabases returns the opener of modules the owner provisions and logs
// in as. migrations holds one folder per module.
func NewDatabases(owner *database.Owner, migrations fs.FS, autoMigrate bool, log *slog.Logger) *Databases {
	return &Databases{owner: owner, cfg: owner.Config(), budget: owner.Budget(), migrations: migrations, autoMigrate: autoMigrate, log: log}
}

// NewModuleDatabases returns the opener of modules that connect with their
// own URLs (own, by module) where they have one, and through owner
// otherwise. owner may be nil when every module opened has its own URL:
// then nothing is provisioned, and the process holds no credentials but its
// modules'. budget is split across the modules opened.
func NewModuleDatabases(owner *database.Owner, own map[string]string, cfg config.DB, budget database.Budget, migrations fs.FS, autoMigrate bool, log *slog.Logger) *Databases {
	return &Databases{owner: owner, own: own, cfg: cfg, budget: budget, migrations: migrations, autoMigrate: autoMigrate, log: log}
}

// TraceWith has the statements of every module opened from now on traced
// with tp: call it before Prepare and Open.
func (d *Databases) TraceWith(tp trace.TracerProvider) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tracer = tp
}

// tracerProvider is what TraceWith set.
func (d *Databases) tracerProvider() trace.TracerProvider {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tracer
}

// Owner returns the owner connection; nil when every module has its own URL.
func (d *Databases) Owner() *database.Owner { return d.owner }

// Migrations returns a module's migration files.
func (d *Databases) Migrations(module string) (fs.FS, error) {
	sub, err := fs.Sub(d.migrations, module)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", module, err)
	}
	if _, err := fs.Stat(sub, "."); err != nil {
		return nil, fmt.Errorf("no migrations folder for module %s", module)
	}
	return sub, nil
}

// Prepare opens the modules at once, as Open does, and keeps them for
// Open to hand out: the roles and schemas the owner provisions go in one
// transaction, then each module connects and migrates concurrently with the
// others (their schemas, version tables and migration locks are apart), so
// that their round trips to the database overlap instead of adding up; that
// is most of a start. On failure nothing stays open.
func (d *Databases) Prepare(ctx context.Context, modules ...string) error {
	var viaOwner []string
	for _, m := range modules {
		if _, own := d.own[m]; !own && d.owner != nil {
			viaOwner = append(viaOwner, m)
		}
	}
	if len(viaOwner) > 0 {
		if err := d.owner.Provision(ctx, viaOwner...); err != nil {
			return err
		}
	}
	dbs := make([]*database.DB, len(modules))
	errs := make([]error, len(modules))
	var wg sync.WaitGroup
	for i, m := range modules {
		wg.Go(func() { dbs[i], errs[i] = d.open(ctx, m, !slices.Contains(viaOwner, m)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, db := range dbs {
			if db != nil {
				db.Close()
			}
		}
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prepared == nil {
		d.prepared = map[string]*database.DB{}
	}
	for i, m := range modules {
		d.prepared[m] = dbs[i]
		d.opened = append(d.opened, dbs[i])
	}
	return nil
}

// Open connects a module (see Databases), or hands out what Prepare opened
// for it. Every opened module is closed by Close.
func (d *Databases) Open(ctx context.Context, module string) (*database.DB, error) {
	d.mu.Lock()
	db, ok := d.prepared[module]
	delete(d.prepared, module)
	d.mu.Unlock()
	if ok {
		return db, nil
	}
	db, err := d.open(ctx, module, true)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.opened = append(d.opened, db)
	d.mu.Unlock()
	return db, nil
}

// open logs a module in (provisioning it first when provision is set) and
// migrates it when the opener is asked to.
func (d *Databases) open(ctx context.Context, module string, provision bool) (*database.DB, error) {
	db, err := d.login(ctx, module, provision)
	if err != nil {
		return nil, err
	}
	if d.autoMigrate {
		src, err := d.Migrations(module)
		if err == nil {
			err = migrate.Up(ctx, db, src)
		}
		if err == nil {
			err = events.Migrate(ctx, db)
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Close closes every module connection and the owner connection.
func (d *Databases) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, db := range d.opened {
		db.Close()
	}
	d.opened, d.prepared = nil, nil
	if d.owner != nil {
		d.owner.Close()
	}
}

// login provisions the module where there is an owner (unless provision is
// false: Prepare did it), then connects as the module's role.
func (d *Databases) login(ctx context.Context, module string, provision bool) (*database.DB, error) {
	log := logging.ForModule(d.log, module)
	url, own := d.own[module]
	if !own {
		if d.owner == nil {
			return nil, fmt.Errorf("module %s has no database URL of its own and there is no owner connection to log in through", module)
		}
		if provision {
			if err := d.owner.Provision(ctx, module); err != nil {
				return nil, err
			}
		}
		return d.owner.Open(ctx, module, log, d.tracerProvider())
	}
	conns, err := d.budget.Conns(module)
	if err != nil {
		return nil, err
	}
	if d.owner != nil {
		if err := d.owner.ProvisionLogin(ctx, module, url); err != nil {
			return nil, err
		}
	}
	db, err := database.OpenURL(ctx, url, module, conns, d.cfg, log, d.tracerProvider())
	if err != nil && d.owner == nil {
		return nil, fmt.Errorf("%w (provisioned yet? shop migrate up, with the owner's DATABASE_URL, provisions the module's role and schema)", err)
	}
	return db, err
}

// Connect opens a dedicated connection outside the modules' pools (for the
// event bus's LISTEN, which needs no privilege): the owner's when there is
// one, else that of the first module with its own URL, so that a process
// serving on its modules' URLs needs no other credentials.
func (d *Databases) Connect(ctx context.Context) (*pgx.Conn, error) {
	if d.owner != nil {
		return d.owner.Connect(ctx)
	}
	for _, s := range d.budget.Shares {
		if url, ok := d.own[s.Module]; ok {
			return database.Connect(ctx, url, d.cfg)
		}
	}
	return nil, errors.New("no database connection to listen on: no owner and no module URL")
}
