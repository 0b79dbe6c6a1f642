package kernel

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/migrate"
)

const stopTimeout = 15 * time.Second

// Databases opens each module's own database access: it provisions the
// module's role and schema, connects as that role, and (when asked) applies
// the module's migrations from migrations/<module>/.
type Databases struct {
	owner       *database.Owner
	migrations  fs.FS
	autoMigrate bool
	log         *slog.Logger

	mu     sync.Mutex
	opened []*database.DB
}

// NewDatabases returns the opener. migrations holds one folder per module.
func NewDatabases(owner *database.Owner, migrations fs.FS, autoMigrate bool, log *slog.Logger) *Databases {
	return &Databases{owner: owner, migrations: migrations, autoMigrate: autoMigrate, log: log}
}

// Owner returns the owner connection.
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

// Open connects a module (see Databases). Every opened module is closed by Close.
func (d *Databases) Open(ctx context.Context, module string) (*database.DB, error) {
	if err := d.owner.Provision(ctx, module); err != nil {
		return nil, err
	}
	db, err := d.owner.Open(ctx, module, logging.ForModule(d.log, module))
	if err != nil {
		return nil, err
	}
	if d.autoMigrate {
		src, err := d.Migrations(module)
		if err == nil {
			err = migrate.Up(db, src)
		}
		if err == nil {
			err = events.Migrate(db)
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	d.mu.Lock()
	d.opened = append(d.opened, db)
	d.mu.Unlock()
	return db, nil
}

// Close closes every module connection and the owner connection.
func (d *Databases) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, db := range d.opened {
		db.Close()
	}
	d.opened = nil
	d.owner.Close()
}
