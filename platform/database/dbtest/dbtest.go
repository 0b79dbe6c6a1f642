// Package dbtest gives tests a fresh PostgreSQL database in milliseconds: the
// migrations of every module are applied once to a template database (named
// after a hash of the migration files, so a change makes a new one), and each
// test gets its own CREATE DATABASE … TEMPLATE copy, dropped when it ends.
// Tests using it may run in parallel, across packages too.
//
// The server is SHOP_TEST_DATABASE_URL, or the local PostgreSQL on
// 127.0.0.1:5432 as user postgres. Tests share a connection budget across
// processes (see Reserve), so that `go test ./...` fits a server with the
// stock max_connections.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/migrations"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL is the maintenance URL of the test PostgreSQL server.
func ServerURL() string {
	if u := os.Getenv("SHOP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

// Config is the database configuration tests use: the defaults, with a
// connection budget of ModuleConns per module (every module's), which is
// what OpenOwner reserves of the budget tests share (see Reserve).
func Config() config.DB {
	c, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		panic(err) // the defaults are valid; a failure here is a programming error
	}
	c.DB.MaxConns = BudgetFor(len(Modules()))
	return c.DB
}

// ModuleConns is a module's share in tests: a transaction, a second one
// waiting on it, and a query that checks on both.
const ModuleConns = 4

// BudgetFor is the SHOP_DB_MAX_CONNS that gives n modules ModuleConns each.
func BudgetFor(n int) int32 {
	return database.OwnerConns + database.ListenConns + int32(n)*ModuleConns
}

// OpenOwner reserves cfg.MaxConns of the shared test budget, then opens the
// owner connection for modules; both are released when the test ends.
func OpenOwner(t testing.TB, url string, cfg config.DB, modules []string) *database.Owner {
	t.Helper()
	Reserve(t, cfg.MaxConns)
	owner, err := database.OpenOwner(context.Background(), url, cfg, modules)
	if err != nil {
		t.Fatalf("open owner connection: %v", err)
	}
	t.Cleanup(owner.Close)
	return owner
}

// Modules lists the modules that have migrations.
func Modules() []string {
	entries, _ := fs.ReadDir(migrations.FS, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// NewURL creates a fresh, fully migrated database and returns its owner URL.
// The database is dropped when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("test database template: %v", templateErr)
	}
	return create(t, " TEMPLATE "+templateName)
}

// NewEmptyURL creates an empty database (nothing provisioned or migrated),
// dropped when the test ends.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

// RolePrefix returns a module role prefix of the test's own, so that tests
// provisioning modules in parallel never share roles (roles are server-wide).
// The named modules' roles are dropped when the test ends; call it before
// creating the databases they will own objects in, so that the databases are
// dropped first.
func RolePrefix(t testing.TB, modules ...string) string {
	t.Helper()
	prefix := "pt_" + randomHex(8)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, m := range modules {
			if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{prefix + "_" + m}.Sanitize()); err != nil {
				t.Errorf("drop role: %v", err)
			}
		}
	})
	return prefix
}

// create makes a database with the given CREATE DATABASE options and drops
// it when the test ends.
func create(t testing.TB, options string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatalf("connect to test PostgreSQL (%s): %v", ServerURL(), err)
	}
	defer conn.Close(ctx)
	name := "shop_test_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+options); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDatabase(ServerURL(), name)
}

// Open returns a fresh database's access for one module, as that module's
// own role. It is closed when the test ends.
func Open(t testing.TB, module string) *database.DB {
	t.Helper()
	dbs := Databases(t, NewURL(t), module)
	db, err := dbs.Open(context.Background(), module)
	if err != nil {
		t.Fatalf("open %s: %v", module, err)
	}
	return db
}

// Databases returns the module database opener for a database URL (already
// migrated) and the modules the test opens (every module when none are
// named): the connections of exactly those are reserved of the budget tests
// share, and opening another module fails. Everything it opens is closed
// when the test ends.
func Databases(t testing.TB, url string, modules ...string) *kernel.Databases {
	t.Helper()
	if len(modules) == 0 {
		modules = Modules()
	}
	cfg := Config()
	cfg.MaxConns = BudgetFor(len(modules))
	owner := OpenOwner(t, url, cfg, modules)
	dbs := kernel.NewDatabases(owner, migrations.FS, false, slog.New(slog.DiscardHandler))
	t.Cleanup(dbs.Close)
	return dbs
}

// ensureTemplate builds the migrated template once per migration set, under
// an advisory lock so that test binaries running in parallel share it.
func ensureTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "shop_tpl_" + sum
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", fmt.Errorf("connect to test PostgreSQL at %s (set SHOP_TEST_DATABASE_URL): %w", ServerURL(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7305425)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7305425)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, touchTemplate(ctx, conn, name)
	}
	if err := dropStaleTemplates(ctx, conn); err != nil {
		return "", err
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", err
	}
	if err := migrateAll(ctx, withDatabase(ServerURL(), building)); err != nil {
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building))
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, touchTemplate(ctx, conn, name)
}

// templateIdle is how long a template of another migration set is kept after
// its last use: another checkout (another branch) may be testing with it.
const templateIdle = 6 * time.Hour

// touchTemplate records when a template was last used, in its comment.
func touchTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%d'", name, time.Now().Unix()))
	return err
}

// dropStaleTemplates drops the templates of other migration sets that no test
// has used for templateIdle.
func dropStaleTemplates(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT d.datname FROM pg_database d
		WHERE d.datname LIKE 'shop\_tpl\_%'
		  AND COALESCE(NULLIF(shobj_description(d.oid, 'pg_database'), ''), '0') ~ '^[0-9]+$'
		  AND COALESCE(NULLIF(shobj_description(d.oid, 'pg_database'), ''), '0')::bigint < $1`,
		time.Now().Add(-templateIdle).Unix())
	if err != nil {
		return err
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, o := range stale {
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{o}.Sanitize()))
	}
	return nil
}

func migrateAll(ctx context.Context, url string) error {
	// Not reserved of the shared budget: it runs once per migration set,
	// often for a test that holds its reservation already, and one module at
	// a time (the owner's two connections and one module's two), which the
	// budget's headroom covers like the CREATE DATABASE connections.
	cfg := Config()
	cfg.MaxConns = database.OwnerConns + database.ListenConns + int32(len(Modules()))*database.MinModuleConns
	owner, err := database.OpenOwner(ctx, url, cfg, Modules())
	if err != nil {
		return err
	}
	dbs := kernel.NewDatabases(owner, migrations.FS, true, slog.New(slog.DiscardHandler))
	defer dbs.Close()
	for _, m := range Modules() {
		db, err := dbs.Open(ctx, m)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m, err)
		}
		db.Close()
	}
	return nil
}

// migrationsHash names a migration set: the files of every module's
// migrations and of the event tables, and the role prefix.
func migrationsHash() (string, error) {
	h := sha256.New()
	// Every module's schema also carries the event tables.
	for _, src := range []struct {
		name string
		fsys fs.FS
	}{{"migrations", migrations.FS}, {"events", events.Schema()}} {
		var files []string
		err := fs.WalkDir(src.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return "", err
		}
		slices.Sort(files)
		for _, f := range files {
			b, err := fs.ReadFile(src.fsys, f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s/%s\n%d\n", src.name, f, len(b))
			h.Write(b)
		}
	}
	fmt.Fprint(h, Config().RolePrefix)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(errors.New("dbtest: bad server URL: " + raw))
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
