package dbtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database/dbtest"
)

func TestNewURLGivesFreshMigratedDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	modules := dbtest.Modules()
	if len(modules) == 0 {
		t.Skip("no module has migrations yet")
	}
	a, b := dbtest.NewURL(t), dbtest.NewURL(t)
	if a == b {
		t.Fatalf("NewURL returned %s twice", a)
	}
	connA, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close(ctx)
	for _, m := range modules {
		var version int64
		var dirty bool
		q := "SELECT version, dirty FROM " + pgx.Identifier{m, "schema_migrations"}.Sanitize()
		if err := connA.QueryRow(ctx, q).Scan(&version, &dirty); err != nil {
			t.Errorf("module %s: %v", m, err)
			continue
		}
		if version == 0 || dirty {
			t.Errorf("module %s at version %d dirty=%v, want migrated and clean", m, version, dirty)
		}
	}
	// A change in one database does not show in the other.
	if _, err := connA.Exec(ctx, "CREATE TABLE public.only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	connB, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer connB.Close(ctx)
	var exists bool
	if err := connB.QueryRow(ctx, "SELECT to_regclass('public.only_in_a') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Errorf("table created in one test database is visible in another (%v)", err)
	}
}

func TestOpenConnectsAsModuleRole(t *testing.T) {
	t.Parallel()
	modules := dbtest.Modules()
	if len(modules) == 0 {
		t.Skip("no module has migrations yet")
	}
	m := modules[0]
	db := dbtest.Open(t, m)
	var user, schema string
	if err := db.Pool.QueryRow(context.Background(), "SELECT current_user, current_schema()").Scan(&user, &schema); err != nil {
		t.Fatal(err)
	}
	if user != dbtest.Config().RolePrefix+"_"+m || schema != m {
		t.Errorf("connected as %s in schema %s, want %s_%s in %s", user, schema, dbtest.Config().RolePrefix, m, m)
	}
}
