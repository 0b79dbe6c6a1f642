package kernel_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/kernel"
)

// synthetic holds migrations for two modules, alpha and beta, each with a
// table "things"; 0002 inserts a row, so applying it twice would show.
var synthetic = fstest.MapFS{
	"alpha/0001_init.up.sql":   {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL UNIQUE);`)},
	"alpha/0001_init.down.sql": {Data: []byte(`DROP TABLE things;`)},
	"alpha/0002_seed.up.sql":   {Data: []byte(`INSERT INTO things (id, name) VALUES (1, 'alpha-thing');`)},
	"alpha/0002_seed.down.sql": {Data: []byte(`DELETE FROM things WHERE id = 1;`)},
	"beta/0001_init.up.sql":    {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL);`)},
	"beta/0001_init.down.sql":  {Data: []byte(`DROP TABLE things;`)},
	"beta/0002_seed.up.sql":    {Data: []byte(`INSERT INTO things (id, name) VALUES (1, 'beta-thing');`)},
	"beta/0002_seed.down.sql":  {Data: []byte(`DELETE FROM things WHERE id = 1;`)},
}

// newDatabase creates an empty database and a role prefix of its own, so
// that parallel tests (and parallel test binaries) never share module roles.
// Both are dropped when the test ends.
func newDatabase(t *testing.T) (string, config.DB) {
	t.Helper()
	cfg := dbtest.Config()
	cfg.RolePrefix = dbtest.RolePrefix(t, "alpha", "beta", "gamma")
	cfg.MaxConns = dbtest.BudgetFor(3)
	return dbtest.NewEmptyURL(t), cfg
}

func openDatabases(t *testing.T, dbURL string, cfg config.DB, autoMigrate bool) *kernel.Databases {
	t.Helper()
	owner := dbtest.OpenOwner(t, dbURL, cfg, []string{"alpha", "beta", "gamma"})
	dbs := kernel.NewDatabases(owner, synthetic, autoMigrate, slog.New(slog.DiscardHandler))
	t.Cleanup(dbs.Close)
	return dbs
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestModulesAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	dbs := openDatabases(t, dbURL, cfg, true)
	alpha, err := dbs.Open(ctx, "alpha")
	if err != nil {
		t.Fatalf("open alpha: %v", err)
	}
	beta, err := dbs.Open(ctx, "beta")
	if err != nil {
		t.Fatalf("open beta: %v", err)
	}

	var user, name string
	if err := alpha.Pool.QueryRow(ctx, `SELECT current_user, (SELECT name FROM things WHERE id = 1)`).Scan(&user, &name); err != nil {
		t.Fatalf("alpha reads its own table: %v", err)
	}
	if user != cfg.RolePrefix+"_alpha" || name != "alpha-thing" {
		t.Errorf("alpha sees user %q and thing %q, want %s_alpha and alpha-thing", user, name, cfg.RolePrefix)
	}
	if err := beta.Pool.QueryRow(ctx, `SELECT name FROM things WHERE id = 1`).Scan(&name); err != nil || name != "beta-thing" {
		t.Errorf("beta reads its own table: %q, %v", name, err)
	}

	denied := []struct {
		name string
		sql  string
	}{
		{"read beta's table", `SELECT count(*) FROM beta.things`},
		{"write beta's table", `INSERT INTO beta.things (id, name) VALUES (2, 'x')`},
		{"create in beta's schema", `CREATE TABLE beta.intruder (id int)`},
		{"create in public", `CREATE TABLE public.intruder (id int)`},
		{"create a schema", `CREATE SCHEMA intruder`},
	}
	for _, d := range denied {
		_, err := alpha.Pool.Exec(ctx, d.sql)
		if got := sqlState(err); got != "42501" {
			t.Errorf("alpha may %s: err = %v (SQLSTATE %q), want 42501", d.name, err, got)
		}
	}

	// Unqualified names land in the module's own schema.
	if _, err := alpha.Pool.Exec(ctx, `CREATE TABLE scratch (id int)`); err != nil {
		t.Fatalf("alpha creates a table in its schema: %v", err)
	}
	var schema string
	if err := dbs.Owner().Pool().QueryRow(ctx, `SELECT schemaname FROM pg_tables WHERE tablename = 'scratch'`).Scan(&schema); err != nil || schema != "alpha" {
		t.Errorf("scratch table in schema %q (%v), want alpha", schema, err)
	}
}

func TestMigrationsKeepVersionTableInModuleSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	dbs := openDatabases(t, dbURL, cfg, true)
	if _, err := dbs.Open(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	owner := dbs.Owner().Pool()
	var version int64
	var dirty bool
	if err := owner.QueryRow(ctx, `SELECT version, dirty FROM alpha.schema_migrations`).Scan(&version, &dirty); err != nil {
		t.Fatalf("alpha.schema_migrations: %v", err)
	}
	if version != 2 || dirty {
		t.Errorf("alpha at version %d dirty=%v, want 2 clean", version, dirty)
	}
	var elsewhere int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations' AND schemaname <> 'alpha'`).Scan(&elsewhere); err != nil || elsewhere != 0 {
		t.Errorf("%d version tables outside alpha (%v), want 0", elsewhere, err)
	}
}

func TestConcurrentOpenersMigrateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	const openers = 3
	all := make([]*kernel.Databases, openers)
	for i := range all {
		all[i] = openDatabases(t, dbURL, cfg, true) // one owner each, like separate replicas
	}
	start := make(chan struct{})
	errc := make(chan error, openers)
	var wg sync.WaitGroup
	for _, dbs := range all {
		wg.Go(func() {
			<-start
			_, err := dbs.Open(ctx, "alpha")
			errc <- err
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}

	owner := all[0].Owner().Pool()
	var rows, versions int
	var version int64
	if err := owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM alpha.things), (SELECT count(*) FROM alpha.schema_migrations), (SELECT max(version) FROM alpha.schema_migrations)`).Scan(&rows, &versions, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || versions != 1 || version != 2 {
		t.Errorf("after %d openers: %d seeded rows, %d version rows, version %d; want 1, 1, 2", openers, rows, versions, version)
	}
}

func TestOpenWithoutMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)

	dbs := openDatabases(t, dbURL, cfg, false)
	alpha, err := dbs.Open(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if err := alpha.Check(ctx); err != nil {
		t.Errorf("Check = %v", err)
	}
	if _, err := alpha.Pool.Exec(ctx, `SELECT 1 FROM things`); sqlState(err) != "42P01" {
		t.Errorf("things exists without auto-migration: %v", err)
	}
	if _, err := dbs.Migrations("gamma"); err == nil {
		t.Error("Migrations(gamma) = nil error for a module without a folder")
	}
	if src, err := dbs.Migrations("beta"); err != nil {
		t.Errorf("Migrations(beta) = %v", err)
	} else if _, err := src.Open("0001_init.up.sql"); err != nil {
		t.Errorf("beta's migrations lack 0001: %v", err)
	}

	migrating := openDatabases(t, dbURL, cfg, true)
	if _, err := migrating.Open(ctx, "gamma"); err == nil {
		t.Error("Open(gamma) with auto-migration = nil error for a module without migrations")
	}
	if _, err := migrating.Open(ctx, "Bad-Name"); err == nil {
		t.Error("Open(Bad-Name) = nil error")
	}
}

// Prepare provisions and migrates the modules together and Open hands out
// what it opened: each module logged in as its own role, migrated once,
// isolated as Open's modules are.
func TestPrepareOpensTheModulesForOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	dbs := openDatabases(t, dbURL, cfg, true)
	if err := dbs.Prepare(ctx, "alpha", "beta"); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"alpha": "beta", "beta": "alpha"}
	for _, m := range []string{"alpha", "beta"} {
		db, err := dbs.Open(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := dbs.Open(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if again == db {
			t.Errorf("%s: Open handed out the prepared access twice", m)
		}
		var user, name string
		if err := db.Pool.QueryRow(ctx, `SELECT current_user, (SELECT name FROM things WHERE id = 1)`).Scan(&user, &name); err != nil {
			t.Fatalf("%s reads its own table: %v", m, err)
		}
		if user != cfg.RolePrefix+"_"+m || name != m+"-thing" {
			t.Errorf("%s sees user %q and thing %q", m, user, name)
		}
		if _, err := db.Pool.Exec(ctx, `SELECT count(*) FROM `+other[m]+`.things`); sqlState(err) != "42501" {
			t.Errorf("%s reads %s's table: err = %v, want 42501", m, other[m], err)
		}
	}
}

// A module Prepare cannot open fails it, and the others it opened are
// closed, not left holding connections.
func TestPrepareFailsWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	dbs := openDatabases(t, dbURL, cfg, true)
	if err := dbs.Prepare(ctx, "alpha", "gamma"); err == nil { // gamma has no migrations
		t.Fatal("Prepare(alpha, gamma) = nil error")
	}
	// A closed connection's backend leaves pg_stat_activity once it exits.
	eventstest.Eventually(t, 10*time.Second, "no connection of alpha left open", func() bool {
		var n int
		err := dbs.Owner().Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1`,
			cfg.RolePrefix+"_alpha").Scan(&n)
		return err == nil && n == 0
	})
}
