package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// moveConns is what shop db move holds: one connection to the source, and
// on the target the owner's pool and two of the module's.
const moveConns = 1 + database.OwnerConns + database.MinModuleConns

// dbMove runs shop db move in this process and returns its output.
func dbMove(env Env, args ...string) (string, error) {
	var out bytes.Buffer
	err := realMain(context.Background(), append([]string{"db", "move"}, args...), &out, &out, env)
	return out.String(), err
}

// movedSetting returns the SHOP_DB_<MODULE>_URL value a move printed.
func movedSetting(t *testing.T, module, out string) string {
	t.Helper()
	prefix := "SHOP_DB_" + strings.ToUpper(module) + "_URL="
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	t.Fatalf("the move printed no %s line:\n%s", prefix, out)
	return ""
}

// connectTo opens a connection to url, closed when the test ends.
func connectTo(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// query runs one query returning one row on url.
func query(t *testing.T, url, sql string, dest ...any) {
	t.Helper()
	if err := connectTo(t, url).QueryRow(context.Background(), sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// shop db move copies catalog's schema to another database: every table's
// rows, its outbox with what was not yet forwarded, its sequences and its
// migration state, under its role there; the source schema is renamed so
// that nothing writes there again. What would make the copy unsafe or
// pointless is refused with a clear message: an unknown module, no target,
// the same database, an unreachable one, a session of the module still
// connected, a target holding the module's rows (unless --replace).
func TestDBMoveCopiesAModuleToAnotherDatabase(t *testing.T) {
	t.Parallel()
	const products = 2000
	source, target := dbtest.NewURL(t), dbtest.NewEmptyURL(t)
	budget := commandConns()
	release, err := holdConns(budget)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	env := mapEnv("DATABASE_URL="+source, "SHOP_LOG_LEVEL=warn", fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", budget), "SHOP_DB_CONNECT_TIMEOUT=2s")
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"seed", "--products", fmt.Sprint(products)}, &out, &out, env); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	// No relay ran: the seed's events wait in the outbox.
	var rows, outbox, pending, lastSeq int64
	query(t, source, `SELECT (SELECT count(*) FROM catalog.products), (SELECT count(*) FROM catalog.event_outbox),
		(SELECT count(*) FROM catalog.event_outbox WHERE forwarded_at IS NULL), (SELECT last_value FROM catalog.event_outbox_seq_seq)`,
		&rows, &outbox, &pending, &lastSeq)
	if rows != products || pending == 0 {
		t.Fatalf("seeded %d products, %d events left unforwarded", rows, pending)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "db move needs one module"},
		{[]string{"warehouse", "--to", target}, `unknown module "warehouse"`},
		{[]string{"catalog"}, "needs --to"},
		{[]string{"catalog", "--to", source}, "where catalog already is"},
		{[]string{"catalog", "--to", "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable"}, "target database"},
	} {
		if out, err := dbMove(env, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("db move %v = %v, want an error with %q\n%s", tt.args, err, tt.want, out)
		}
	}
	// A process still logged in as catalog: refused, after the wait.
	role, password := database.RoleLogin(dbtest.Config(), "catalog")
	login, err := database.WithLogin(source, role, password)
	if err != nil {
		t.Fatal(err)
	}
	conn := connectTo(t, login)
	if out, err := dbMove(env, "catalog", "--to", target, "--wait", "300ms"); err == nil || !strings.Contains(err.Error(), "sessions of catalog's role") {
		t.Errorf("db move with a catalog session = %v, want refused\n%s", err, out)
	}
	conn.Close(context.Background())

	begin := time.Now()
	out2, err := dbMove(env, "catalog", "--to", target)
	if err != nil {
		t.Fatalf("db move: %v\n%s", err, out2)
	}
	t.Logf("moved %d products (%d events) in %s:\n%s", rows, outbox, time.Since(begin).Round(time.Millisecond), out2)
	moved := movedSetting(t, "catalog", out2)
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^products +%d +[0-9a-f]{32}$`, rows)).MatchString(out2) {
		t.Errorf("the report lacks the products' row count:\n%s", out2)
	}
	// The module's login reads its rows in the target, sees the same
	// migration state, and the outbox's sequence goes on after the source's.
	var got, gotPending, version, next int64
	query(t, moved, `SELECT (SELECT count(*) FROM catalog.products), (SELECT count(*) FROM catalog.event_outbox WHERE forwarded_at IS NULL),
		(SELECT version FROM catalog.schema_migrations), nextval('catalog.event_outbox_seq_seq')`, &got, &gotPending, &version, &next)
	if got != rows || gotPending != pending || version != 3 || next != lastSeq+1 {
		t.Errorf("target: %d products, %d unforwarded events, version %d, next seq %d; want %d, %d, 3, %d",
			got, gotPending, version, next, rows, pending, lastSeq+1)
	}
	var user string
	query(t, moved, `SELECT current_user`, &user)
	if user != role {
		t.Errorf("the printed setting logs in as %s, want %s", user, role)
	}
	// The source schema keeps its rows, fenced off catalog's role.
	var kept int64
	query(t, source, `SELECT count(*) FROM catalog.products`, &kept)
	if kept != rows {
		t.Errorf("the source keeps %d products, want %d", kept, rows)
	}
	fencedOff(t, login)
	if out, err := dbMove(env, "catalog", "--to", target); err == nil || !strings.Contains(err.Error(), "moved already") {
		t.Errorf("a second move = %v, want refused\n%s", err, out)
	}

	// Another database's catalog to the same target: refused, since the
	// target holds rows, unless --replace.
	other := mapEnv("DATABASE_URL="+dbtest.NewURL(t), "SHOP_LOG_LEVEL=warn", fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", budget))
	if out, err := dbMove(other, "catalog", "--to", target); err == nil || !strings.Contains(err.Error(), "holds") {
		t.Errorf("db move onto a target with rows = %v, want refused\n%s", err, out)
	}
	if out, err := dbMove(other, "catalog", "--to", target, "--replace"); err != nil {
		t.Fatalf("db move --replace: %v\n%s", err, out)
	}
	query(t, moved, `SELECT count(*) FROM catalog.products`, &got)
	if got != 0 {
		t.Errorf("after --replace with an empty catalog the target has %d products", got)
	}
}

// fencedOff checks that login (a module's) can neither read nor write its
// moved schema.
func fencedOff(t *testing.T, login string) {
	t.Helper()
	conn := connectTo(t, login)
	for _, sql := range []string{`SELECT count(*) FROM catalog.products`, `DELETE FROM catalog.deals`} {
		if _, err := conn.Exec(context.Background(), sql); sqlState(err) != "42501" {
			t.Errorf("%s on the moved schema: %v, want permission denied", sql, err)
		}
	}
}
