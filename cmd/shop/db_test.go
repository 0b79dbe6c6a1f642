package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/testreport"
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

// moveSummary is the line of a move's output that sums it up: what moved
// and how long it took.
func moveSummary(out string) string {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "moved ") {
			summary, _, _ := strings.Cut(line, ". ")
			return summary
		}
	}
	return "no summary in the output"
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
	var rows, outbox, pending, lastSeq, sourceVersion int64
	query(t, source, `SELECT (SELECT count(*) FROM catalog.products), (SELECT count(*) FROM catalog.event_outbox),
		(SELECT count(*) FROM catalog.event_outbox WHERE forwarded_at IS NULL), (SELECT last_value FROM catalog.event_outbox_seq_seq),
		(SELECT version FROM catalog.schema_migrations)`,
		&rows, &outbox, &pending, &lastSeq, &sourceVersion)
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
	testreport.Print(t, "%d products (%d events) in %s: %s", rows, outbox, time.Since(begin).Round(time.Millisecond), moveSummary(out2))
	t.Logf("db move:\n%s", out2)
	moved := movedSetting(t, "catalog", out2)
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^products +%d +[0-9a-f]{32}$`, rows)).MatchString(out2) {
		t.Errorf("the report lacks the products' row count:\n%s", out2)
	}
	// The module's login reads its rows in the target, sees the same
	// migration state, and the outbox's sequence goes on after the source's.
	var got, gotPending, version, next int64
	query(t, moved, `SELECT (SELECT count(*) FROM catalog.products), (SELECT count(*) FROM catalog.event_outbox WHERE forwarded_at IS NULL),
		(SELECT version FROM catalog.schema_migrations), nextval('catalog.event_outbox_seq_seq')`, &got, &gotPending, &version, &next)
	if got != rows || gotPending != pending || version != sourceVersion || next != lastSeq+1 {
		t.Errorf("target: %d products, %d unforwarded events, version %d, next seq %d; want %d, %d, %d, %d",
			got, gotPending, version, next, rows, pending, sourceVersion, lastSeq+1)
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

// Catalog's data moves out while the split shop serves: process I hosts
// identity, A catalog, B the rest (events over NATS). A product's creation
// is still in catalog's outbox, not relayed, when A stops (as after a crash
// right after the commit). While A is down and shop db move copies
// catalog's schema to a second database, B keeps serving: the cart shows
// the last known prices, marked stale, and checkout says when to come back.
// A starts again on the printed SHOP_DB_CATALOG_URL alone: no product is
// lost, the event left in the outbox is relayed from the new database, a
// checkout goes through at catalog's price, and products an admin creates
// and reprices land in the new database, never in the old one.
func TestSplitCatalogMovesToADatabaseOfItsOwn(t *testing.T) {
	t.Parallel()
	dbURL, newDB := dbtest.NewURL(t), dbtest.NewEmptyURL(t)
	reserveShops(t, processConns(1)+processConns(1)+processConns(6)+moveConns)
	nats := []string{"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL=" + natstest.Start(t).URL()}
	_, identityURL := startOwner(t, dbURL, append(nats, "SHOP_MODULES=identity", moduleConns(1))...)
	catalogEnv := append(nats, "SHOP_MODULES=catalog", moduleConns(1), "SHOP_MODULE_URLS=identity="+identityURL)
	a := &shop{t: t, dbURL: dbURL, partial: true}
	a.start(append(catalogEnv, "SHOP_HTTP_INTERNAL_ADDR=127.0.0.1:0")...)
	internal := a.loggedAddr("internal server listening")
	b := &shop{t: t, dbURL: dbURL, partial: true}
	b.start(append(nats, "SHOP_MODULES=inventory,cart,payments,orders,notifications,reporting", moduleConns(6),
		"SHOP_MODULE_URLS=catalog=http://"+internal+",identity="+identityURL, "SHOP_CART_CATALOG_TIMEOUT=5s")...)

	admin := b.login(adminEmail, adminPassword)
	const price = 1250
	product := b.product(admin, "MOVE-1", price, 20)
	unrelayed := b.product(admin, "MOVE-2", 990, 5)
	customer := b.register("move@example.com")
	b.addToCart(customer, product, 1)
	if c := b.cart(customer); c.Stale || len(c.Items) != 1 || c.Items[0].UnitPrice.Amount != price {
		t.Fatalf("cart = %+v, want one fresh line at %d", c, price)
	}

	if err := a.stop(); err != nil {
		t.Fatalf("A's shutdown: %v", err)
	}
	owner := connectTo(t, dbURL)
	ctx := context.Background()
	var eventID string
	if err := owner.QueryRow(ctx, `UPDATE catalog.event_outbox SET forwarded_at = NULL
		WHERE key = $1 AND type = 'catalog.product_created.v1' RETURNING id::text`, unrelayed).Scan(&eventID); err != nil {
		t.Fatalf("the creation of %s in catalog's outbox: %v", unrelayed, err)
	}
	var products int64
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM catalog.products`).Scan(&products); err != nil {
		t.Fatal(err)
	}

	// The move, with B serving meanwhile.
	pool, _ := testPools.Load(t)
	release := pool.(*connPool).take(t, moveConns)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := dbMove(mapEnv("DATABASE_URL="+dbURL, "SHOP_MODULES=catalog", "SHOP_LOG_LEVEL=warn",
			fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", processConns(1))), "catalog", "--to", newDB)
		done <- result{out, err}
	}()
	var moved result
	rounds := 0
	for finished := false; !finished; rounds++ {
		c := b.cart(customer)
		if !c.Stale || len(c.Items) != 1 || c.Items[0].UnitPrice.Amount != price {
			t.Errorf("cart while catalog moves = %+v, want the stale line at %d", c, price)
		}
		r := b.must(http.StatusServiceUnavailable, b.checkout(customer, payments.CardApprove))
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("checkout while catalog moves: Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
		}
		select {
		case moved = <-done:
			finished = true
		default:
		}
	}
	release()
	if moved.err != nil {
		t.Fatalf("db move: %v\n%s", moved.err, moved.out)
	}
	testreport.Print(t, "B answered %d rounds of cart and checkout during the move; %s", rounds, moveSummary(moved.out))
	t.Logf("db move:\n%s", moved.out)

	// A again, on the new database alone.
	a2 := &shop{t: t, partial: true}
	a2.start(append(catalogEnv, "SHOP_HTTP_INTERNAL_ADDR="+internal, "SHOP_DB_CATALOG_URL="+movedSetting(t, "catalog", moved.out))...)
	moved2 := connectTo(t, newDB)
	awaitTrue(t, "the event left in the outbox relayed from the new database", func() bool {
		var relayed bool
		err := moved2.QueryRow(ctx, `SELECT forwarded_at IS NOT NULL FROM catalog.event_outbox WHERE id = $1`, eventID).Scan(&relayed)
		return err == nil && relayed
	})
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	b.must(http.StatusOK, b.call("GET", "/api/products?limit=100", "", nil)).json(t, &page)
	if int64(len(page.Items)) != products {
		t.Errorf("%d products after the move, %d before", len(page.Items), products)
	}

	// The golden path on the moved catalog: once B's circuit to catalog
	// lets a call through, checkout at catalog's price.
	var r response
	awaitTrue(t, "checkout with catalog back", func() bool {
		r = b.checkout(customer, payments.CardApprove)
		if r.Status != http.StatusCreated && r.Status != http.StatusServiceUnavailable {
			t.Fatalf("checkout with catalog back = %d %s", r.Status, r.Body)
		}
		return r.Status == http.StatusCreated
	})
	var placed order
	r.json(t, &placed)
	if o := b.awaitOrder(customer, placed.ID, order.settled); o.Status != "confirmed" || o.Total.Amount != price {
		t.Errorf("order on the moved catalog = %s, total %d; want confirmed at %d", o.Status, o.Total.Amount, price)
	}
	// Product admin writes to the new database only.
	added := b.product(admin, "MOVE-3", 4200, 3)
	b.must(http.StatusOK, b.call("PATCH", "/api/products/"+added, admin, map[string]any{"price_minor": 4100}))
	var newPrice, inNew, inOld int64
	if err := moved2.QueryRow(ctx, `SELECT price_minor, (SELECT count(*) FROM catalog.products) FROM catalog.products WHERE id = $1`, added).
		Scan(&newPrice, &inNew); err != nil || newPrice != 4100 || inNew != products+1 {
		t.Errorf("new database: %v, price %d, %d products; want 4100, %d", err, newPrice, inNew, products+1)
	}
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM catalog.products`).Scan(&inOld); err != nil || inOld != products {
		t.Errorf("old database: %v, %d products; want the %d it had", err, inOld, products)
	}
}

// cartView is a customer's cart as the API shows it.
type cartView struct {
	Stale bool `json:"stale"`
	Items []struct {
		UnitPrice struct {
			Amount int64 `json:"amount"`
		} `json:"unit_price"`
	} `json:"items"`
}

func (s *shop) cart(token string) cartView {
	s.t.Helper()
	var c cartView
	s.must(http.StatusOK, s.call("GET", "/api/cart", token, nil)).json(s.t, &c)
	return c
}

// awaitTrue polls cond until it holds, for 30 s at most.
func awaitTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		<-poll.C
	}
}
