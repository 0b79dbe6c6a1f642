// Package migrate runs each module's SQL migrations with golang-migrate. Every
// module keeps its own version table inside its own schema, and migrates over
// its own connection, so a module's schema can move to another database as it
// is. golang-migrate's advisory lock (per database, schema and table) makes
// concurrent start-ups of several replicas safe.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	pgxv5 "github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shopmonolith/shop/platform/database"
)

// Table is the name of each module's version table (in the module's schema).
const Table = "schema_migrations"

// Status is a module's migration state.
type Status struct {
	Module  string
	Version uint
	Dirty   bool
	Latest  uint
}

// with runs fn on a migrator over its own database/sql handle on the module's
// pool; closing the migrator returns its connection to the pool.
func with(db *database.DB, src fs.FS, fn func(*migrate.Migrate) error) error {
	return withTable(db, src, Table, fn)
}

func withTable(db *database.DB, src fs.FS, table string, fn func(*migrate.Migrate) error) error {
	source, err := iofs.New(src, ".")
	if err != nil {
		return fmt.Errorf("migrations of %s: %w", db.Module, err)
	}
	driver, err := pgx.WithInstance(stdlib.OpenDBFromPool(db.Pool), &pgx.Config{MigrationsTable: table, SchemaName: db.Module})
	if err != nil {
		return fmt.Errorf("migration driver for %s: %w", db.Module, err)
	}
	m, err := migrate.NewWithInstance("iofs", source, "postgres", driver)
	if err != nil {
		return fmt.Errorf("migrations of %s: %w", db.Module, err)
	}
	defer m.Close()
	return fn(m)
}

// Up applies every pending migration of the module.
func Up(ctx context.Context, db *database.DB, src fs.FS) error {
	return up(ctx, db, src, Table, "")
}

// UpTable applies a platform-owned migration set (such as the event tables)
// inside the module's schema, tracked in its own version table.
func UpTable(ctx context.Context, db *database.DB, src fs.FS, table string) error {
	return up(ctx, db, src, table, " "+table)
}

// up applies src's pending migrations, tracked in table; what names the
// set in errors. A schema already at src's latest version, as it is on
// every start but the first after an upgrade, costs one query: golang-migrate,
// whose set-up takes a dozen round trips and its lock, runs only when there
// may be something to apply.
func up(ctx context.Context, db *database.DB, src fs.FS, table, what string) error {
	if applied(ctx, db, src, table) {
		return nil
	}
	return withTable(db, src, table, func(m *migrate.Migrate) error {
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("migrate %s%s up: %w", db.Module, what, err)
		}
		return nil
	})
}

// applied reports whether table records src's latest version, applied
// completely (not dirty). golang-migrate marks a version dirty before
// applying it and clean after, so this holds only once every migration of
// src has run; any doubt (no table yet, an error) answers false and leaves
// the decision to golang-migrate.
func applied(ctx context.Context, db *database.DB, src fs.FS, table string) bool {
	want, err := Latest(src)
	if err != nil || want == 0 {
		return false
	}
	var version int64
	var dirty bool
	err = db.Pool.QueryRow(ctx, `SELECT version, dirty FROM `+pgxv5.Identifier{db.Module, table}.Sanitize()+` LIMIT 1`).
		Scan(&version, &dirty)
	return err == nil && !dirty && version == int64(want)
}

// Down reverts the module's last applied migration.
func Down(db *database.DB, src fs.FS) error {
	return with(db, src, func(m *migrate.Migrate) error {
		if err := m.Steps(-1); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("migrate %s down: %w", db.Module, err)
		}
		return nil
	})
}

// State reports the module's applied and latest available versions.
func State(db *database.DB, src fs.FS) (Status, error) {
	st := Status{Module: db.Module}
	err := with(db, src, func(m *migrate.Migrate) error {
		v, dirty, err := m.Version()
		if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
			return fmt.Errorf("migration version of %s: %w", db.Module, err)
		}
		st.Version, st.Dirty = v, dirty
		return nil
	})
	if err != nil {
		return st, err
	}
	st.Latest, err = Latest(src)
	return st, err
}

// Latest returns the latest version among a migration set's files (0 for none).
func Latest(src fs.FS) (uint, error) {
	source, err := iofs.New(src, ".")
	if err != nil {
		return 0, err
	}
	v, err := source.First()
	if err != nil {
		return 0, nil
	}
	for {
		next, err := source.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}
