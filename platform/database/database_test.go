package database_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

var modules = []string{"alpha", "beta"}

// newDatabase creates an empty database and a role prefix of its own, so
// that parallel tests (and parallel test binaries) never share module roles.
// Both are dropped when the test ends.
func newDatabase(t *testing.T) (string, config.DB) {
	t.Helper()
	cfg := dbtest.Config()
	cfg.RolePrefix = dbtest.RolePrefix(t, modules...)
	cfg.MaxConns = 7 // owner 2, LISTEN 1, alpha and beta 2 each
	return dbtest.NewEmptyURL(t), cfg
}

func openOwner(t *testing.T, dbURL string, cfg config.DB) *database.Owner {
	t.Helper()
	return dbtest.OpenOwner(t, dbURL, cfg, modules)
}

// openOwners opens one owner per URL (replicas), reserving the connections
// of all of them at once.
func openOwners(t *testing.T, cfg config.DB, urls ...string) []*database.Owner {
	t.Helper()
	dbtest.Reserve(t, int32(len(urls))*cfg.MaxConns)
	owners := make([]*database.Owner, len(urls))
	for i, u := range urls {
		o, err := database.OpenOwner(context.Background(), u, cfg, modules)
		if err != nil {
			t.Fatalf("open owner: %v", err)
		}
		t.Cleanup(o.Close)
		owners[i] = o
	}
	return owners
}

func openModule(t *testing.T, o *database.Owner, module string) *database.DB {
	t.Helper()
	db, err := o.Open(context.Background(), module, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatalf("open %s: %v", module, err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestProvisionConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	const replicas = 4
	owners := openOwners(t, cfg, dbURL, dbURL, dbURL, dbURL)
	start := make(chan struct{})
	errc := make(chan error, replicas*len(modules))
	var wg sync.WaitGroup
	for _, o := range owners {
		for _, m := range modules {
			wg.Go(func() {
				<-start
				errc <- o.Provision(ctx, m)
			})
		}
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Provision: %v", err)
		}
	}
	// Again, one after another: nothing changes and nothing fails.
	for _, o := range owners[:2] {
		if err := o.Provision(ctx, "alpha"); err != nil {
			t.Errorf("repeated Provision: %v", err)
		}
	}

	var schemaOwner string
	var super, createDB, createRole bool
	err := owners[0].Pool().QueryRow(ctx, `
		SELECT pg_get_userbyid(n.nspowner), r.rolsuper, r.rolcreatedb, r.rolcreaterole
		FROM pg_namespace n JOIN pg_roles r ON r.rolname = $1
		WHERE n.nspname = 'alpha'`, owners[0].RoleName("alpha")).Scan(&schemaOwner, &super, &createDB, &createRole)
	if err != nil {
		t.Fatalf("inspect alpha: %v", err)
	}
	if schemaOwner != cfg.RolePrefix+"_alpha" {
		t.Errorf("schema alpha owned by %q, want %s_alpha", schemaOwner, cfg.RolePrefix)
	}
	if super || createDB || createRole {
		t.Errorf("alpha's role is privileged: super=%v createdb=%v createrole=%v", super, createDB, createRole)
	}
	// Every replica derives the same password: each can connect as the role.
	for _, o := range owners {
		db := openModule(t, o, "alpha")
		if err := db.Check(ctx); err != nil {
			t.Errorf("Check = %v", err)
		}
	}
}

// Roles are shared by every database of a server, while advisory locks are
// per database: test databases (dbtest) provision the same module roles
// concurrently, and must not fail doing so.
func TestProvisionConcurrentAcrossDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := dbtest.Config()
	cfg.RolePrefix = dbtest.RolePrefix(t, modules...)
	cfg.MaxConns = 7 // owner 2, LISTEN 1, alpha and beta 2 each
	const databases, rounds = 4, 5
	owners := openOwners(t, cfg, dbtest.NewEmptyURL(t), dbtest.NewEmptyURL(t), dbtest.NewEmptyURL(t), dbtest.NewEmptyURL(t))
	for round := range rounds {
		start := make(chan struct{})
		errc := make(chan error, databases)
		var wg sync.WaitGroup
		for _, o := range owners {
			wg.Go(func() {
				<-start
				errc <- o.Provision(ctx, "alpha")
			})
		}
		close(start)
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Errorf("round %d: Provision in parallel databases: %v", round, err)
			}
		}
	}
	for _, o := range owners {
		if err := openModule(t, o, "alpha").Check(ctx); err != nil {
			t.Errorf("Check = %v", err)
		}
	}
}

func TestProvisionRejectsBadModuleNames(t *testing.T) {
	t.Parallel()
	dbURL, cfg := newDatabase(t)
	o := openOwner(t, dbURL, cfg)
	for _, name := range []string{"", "Alpha", "1alpha", "al-pha", "alpha;drop", `al"pha`, "a234567890123456789012345678901x"} {
		if err := o.Provision(context.Background(), name); err == nil {
			t.Errorf("Provision(%q) = nil error", name)
		}
	}
}

func TestIsUniqueViolationAndInTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	o := openOwner(t, dbURL, cfg)
	if err := o.Provision(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	db := openModule(t, o, "alpha")
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL CONSTRAINT things_name_key UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.WithContext(ctx).Exec(`INSERT INTO things VALUES (1, 'lamp')`).Error; err != nil {
		t.Fatal(err)
	}

	dupErr := db.Gorm.WithContext(ctx).Exec(`INSERT INTO things VALUES (2, 'lamp')`).Error
	_, poolErr := db.Pool.Exec(ctx, `INSERT INTO things VALUES (1, 'chair')`)
	_, otherErr := db.Pool.Exec(ctx, `INSERT INTO things VALUES (3, NULL)`)
	tests := []struct {
		name       string
		err        error
		constraint string
		ok         bool
	}{
		{"gorm duplicate", dupErr, "things_name_key", true},
		{"wrapped duplicate", fmt.Errorf("save: %w", dupErr), "things_name_key", true},
		{"pool duplicate key", poolErr, "things_pkey", true},
		{"not null violation", otherErr, "", false},
		{"plain error", errors.New("x"), "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		c, ok := database.IsUniqueViolation(tt.err)
		if ok != tt.ok || c != tt.constraint {
			t.Errorf("%s: IsUniqueViolation(%v) = %q, %v; want %q, %v", tt.name, tt.err, c, ok, tt.constraint, tt.ok)
		}
	}

	count := func() int64 {
		var n int64
		if err := db.Gorm.WithContext(ctx).Table("things").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO things VALUES (10, 'rolled back')`).Error; err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("InTx = %v, want boom", err)
	}
	if n := count(); n != 1 {
		t.Errorf("after a failed transaction: %d rows, want 1", n)
	}
	if err := db.InTx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO things VALUES (11, 'committed')`).Error
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("after a committed transaction: %d rows, want 2", n)
	}
}

func TestOpenOwnerFailsFast(t *testing.T) {
	t.Parallel()
	cfg := dbtest.Config()
	if _, err := database.OpenOwner(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable", cfg, modules); err == nil {
		t.Error("OpenOwner on a closed port = nil error")
	}
	if _, err := database.OpenOwner(context.Background(), "::not a url", cfg, modules); err == nil {
		t.Error("OpenOwner on a bad URL = nil error")
	}
}

// A module's own URL names the role the owner provisions, in the owner's
// database only, and never the owner itself; the module then logs in as
// that role.
func TestProvisionLoginTakesTheRoleOfTheModulesURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, cfg := newDatabase(t)
	o := openOwner(t, dbURL, cfg)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	withUser := func(user string, edit func(*url.URL)) string {
		c := *u
		c.User = url.UserPassword(user, "pw-"+user)
		if edit != nil {
			edit(&c)
		}
		return c.String()
	}
	for _, tt := range []struct {
		name, url, want string
	}{
		{"another database", withUser(o.RoleName("alpha"), func(c *url.URL) { c.Path = "/elsewhere" }), "owner provisions only its own database"},
		{"another server", withUser(o.RoleName("alpha"), func(c *url.URL) { c.Host = "127.0.0.2:5432" }), "owner provisions only its own database"},
		{"the owner's role", withUser(u.User.Username(), nil), "module's own role"},
	} {
		if err := o.ProvisionLogin(ctx, "alpha", tt.url); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ProvisionLogin = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	own := withUser(o.RoleName("alpha"), nil)
	if err := o.ProvisionLogin(ctx, "alpha", own); err != nil {
		t.Fatal(err)
	}
	db, err := database.OpenURL(ctx, own, "alpha", 2, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, schema string
	if err := db.Pool.QueryRow(ctx, `SELECT current_user, current_schema()`).Scan(&user, &schema); err != nil {
		t.Fatal(err)
	}
	if user != o.RoleName("alpha") || schema != "alpha" {
		t.Errorf("logged in as %s in schema %s, want %s in alpha", user, schema, o.RoleName("alpha"))
	}
}

// WithLogin puts a module's role and password in either form of
// connection string, in place of the owner's.
func TestWithLoginReplacesTheCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ conn, want string }{
		{"postgres://postgres:secret@db:5432/shop?sslmode=disable", "postgres://shop_catalog:p%40ss@db:5432/shop?sslmode=disable"},
		{"postgres://db/shop?user=postgres&password=secret", "postgres://shop_catalog:p%40ss@db/shop"},
		{"host=db dbname=shop user=postgres", `host=db dbname=shop user=postgres user='shop_catalog' password='p@ss'`},
	} {
		got, err := database.WithLogin(tt.conn, "shop_catalog", "p@ss")
		if err != nil || got != tt.want {
			t.Errorf("WithLogin(%q) = %q, %v; want %q", tt.conn, got, err, tt.want)
		}
		c, err := pgx.ParseConfig(got)
		if err != nil || c.User != "shop_catalog" || c.Password != "p@ss" || c.Host != "db" || c.Database != "shop" {
			t.Errorf("%q parses as %+v, %v", got, c, err)
		}
	}
}
