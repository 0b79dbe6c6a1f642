package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/remote"
	"github.com/shopmonolith/shop/platform/tracing"
)

// buildMonolith composes every module in one process, as the default
// topology does, traced as serve traces it without a collector.
func buildMonolith(tb testing.TB, ctx context.Context, cfg config.Config, log *slog.Logger, dbs *kernel.Databases) *App {
	tb.Helper()
	mods, err := moduleNames()
	if err != nil {
		tb.Fatal(err)
	}
	tp, err := tracing.New(ctx, cfg.Tracing, mods, true)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return buildTracedMonolith(tb, ctx, cfg, log, dbs, tp)
}

// buildTracedMonolith composes every module in one process, traced with
// tp; dbs must not have opened a module yet.
func buildTracedMonolith(tb testing.TB, ctx context.Context, cfg config.Config, log *slog.Logger, dbs *kernel.Databases, tp trace.TracerProvider) *App {
	tb.Helper()
	p, err := place(cfg.Topology)
	if err != nil {
		tb.Fatal(err)
	}
	dbs.TraceWith(tp)
	app, err := buildApp(ctx, cfg, log, dbs, p, tp)
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// A process hosting one module builds, provisions, migrates and connects
// that module alone: on a fresh database (with roles of the test's own) no
// other module's schema or role appears, and only that module's pool
// connects, within a budget of one module's share.
func TestTopologyProcessHostsOnlyItsModule(t *testing.T) {
	t.Parallel()
	// Identity in a process that cannot answer now, for catalog's sessions.
	identityDown := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.Error(w, "identity is down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(identityDown.Close)
	tests := []struct {
		module string
		env    []string
		serves func(t *testing.T, s *shop)
	}{
		{"catalog", []string{"SHOP_MODULE_URLS=identity=" + identityDown.URL}, func(t *testing.T, s *shop) {
			var page struct {
				Items []any `json:"items"`
			}
			s.must(http.StatusOK, s.call("GET", "/api/products", "", nil)).json(t, &page)
			if len(page.Items) != 0 {
				t.Errorf("a fresh catalog lists %d products", len(page.Items))
			}
			// Identity cannot check a session now: a request that carries
			// one is refused as unavailable, never taken as anonymous.
			s.must(http.StatusServiceUnavailable, s.call("GET", "/api/products", "some-session-token", nil))
		}},
		{"identity", nil, func(t *testing.T, s *shop) {
			admin := s.login(adminEmail, adminPassword)
			me := s.must(http.StatusOK, s.call("GET", "/api/identity/me", admin, nil)).object(t)
			if me["role"] != "admin" {
				t.Errorf("bootstrap admin = %v", me)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			t.Parallel()
			all, err := moduleNames()
			if err != nil {
				t.Fatal(err)
			}
			prefix := dbtest.RolePrefix(t, all...)
			s := &shop{t: t, dbURL: dbtest.NewEmptyURL(t), partial: true}
			share := database.OwnerConns + database.ListenConns + 3 // SHOP_EVENTS_WORKERS=2, plus one
			s.start(append(tt.env, "SHOP_MODULES="+tt.module, "SHOP_DB_ROLE_PREFIX="+prefix, fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", share))...)
			tt.serves(t, s)
			var schemas, roles, pools []string
			var subscribers int
			queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
				ctx := context.Background()
				// The bus registered no subscriber of a module hosted elsewhere
				// (in one process, notifications subscribes to identity's events).
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+tt.module+`.event_subscriptions`).Scan(&subscribers); err != nil {
					return err
				}
				if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(nspname ORDER BY nspname), '{}') FROM pg_namespace WHERE nspname = ANY($1)`, all).Scan(&schemas); err != nil {
					return err
				}
				if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(rolname ORDER BY rolname), '{}') FROM pg_roles WHERE starts_with(rolname, $1)`, prefix+"_").Scan(&roles); err != nil {
					return err
				}
				return conn.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT application_name), '{}') FROM pg_stat_activity
					WHERE datname = current_database() AND application_name LIKE 'shop/%'`).Scan(&pools)
			})
			if !slices.Equal(schemas, []string{tt.module}) {
				t.Errorf("module schemas = %v, want %s's alone", schemas, tt.module)
			}
			if !slices.Equal(roles, []string{prefix + "_" + tt.module}) {
				t.Errorf("module roles = %v, want %s's alone", roles, tt.module)
			}
			if subscribers != 0 {
				t.Errorf("%s's registry lists %d subscriptions, want none: no subscriber is hosted", tt.module, subscribers)
			}
			if !slices.Equal(pools, []string{"shop/" + tt.module}) {
				t.Errorf("module connections = %v, want %s's alone", pools, tt.module)
			}
		})
	}
}

// A hosted module whose dependencies are neither hosted nor addressed stops
// serve before anything starts, with one error that says what to set.
func TestTopologyMissingDependencyIsOneClearError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &stderr,
		mapEnv("SHOP_MODULES=cart", "DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1"))
	if err == nil {
		t.Fatal("serve started cart without catalog and inventory")
	}
	for _, want := range []string{`"cart"`, `"catalog"`, `"inventory"`, "SHOP_MODULES=cart", "SHOP_MODULE_URLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "database") {
		t.Errorf("error %q is not the one topology error", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("serve logged before failing:\n%s", stderr.String())
	}
}

// closedURL is the address of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// serve refuses, before anything starts, a process that could not check
// the sessions of the routes it serves, and an edge with nothing to forward.
func TestServeNeedsIdentitysAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"modules without identity", []string{"SHOP_MODULES=cart", "SHOP_MODULE_URLS=catalog=http://c.internal,inventory=http://i.internal"},
			[]string{"SHOP_MODULE_URLS must address identity", "SHOP_MODULES=cart"}},
		{"an edge forwarding nothing", []string{"SHOP_MODULES=none"}, []string{"SHOP_MODULES=none", "SHOP_MODULE_URLS must address"}},
	}
	for _, tt := range tests {
		err := realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{},
			mapEnv(append(tt.env, "DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1")...))
		for _, want := range tt.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: serve = %v, want an error naming %q", tt.name, err, want)
			}
		}
	}
}

// An address that does not answer at start stops serve before any database
// is opened, naming the setting and the URL.
func TestTopologyUnreachableAddressIsAClearError(t *testing.T) {
	t.Parallel()
	catalogURL, inventoryURL := closedURL(t), closedURL(t)
	err := realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}, mapEnv("SHOP_MODULES=cart",
		"SHOP_MODULE_URLS=catalog="+catalogURL+",inventory="+inventoryURL+",identity="+closedURL(t), "SHOP_MODULE_READY_TIMEOUT=300ms",
		"DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1"))
	if err == nil {
		t.Fatal("serve started on unreachable neighbours")
	}
	for _, want := range []string{"SHOP_MODULE_URLS", "catalog=" + catalogURL, "inventory=" + inventoryURL, "/readyz", "SHOP_MODULE_READY_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "database") {
		t.Errorf("error %q: the database was tried before the neighbours", err)
	}
}

// Start-up waits for the modules whose API a hosted module calls, not for
// identity reached only for sessions nor for modules whose routes are only
// forwarded: else a process hosting identity beside orders and one hosting
// payments (which checks its sessions at that identity) would wait for each
// other. A process hosting no module waits for every module it forwards to.
func TestTopologyAwaitsOnlyWhatItCalls(t *testing.T) {
	t.Parallel()
	urls := config.ModuleURLs{"catalog": "http://c", "inventory": "http://i", "identity": "http://id", "reporting": "http://r"}
	p, err := place(config.Topology{Modules: []string{"cart"}, URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.awaited(); !slices.Equal(got, []string{"catalog", "inventory"}) {
		t.Errorf("cart's process waits for %v, want catalog and inventory", got)
	}
	edge, err := place(config.Topology{Modules: []string{config.NoModules}, URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	if got := edge.awaited(); !slices.Equal(got, []string{"catalog", "identity", "inventory", "reporting"}) {
		t.Errorf("a process hosting no module waits for %v, want every module it forwards to", got)
	}
}

// A neighbour that is not ready yet is waited for; one that never is, is
// named with what it last answered.
func TestTopologyAwaitsNeighboursUntilReady(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	warming := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer warming.Close()
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	p := placement{urls: config.ModuleURLs{"catalog": warming.URL}}
	if err := awaitRemotes(context.Background(), p, time.Minute); err != nil {
		t.Fatalf("a neighbour that became ready: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("readyz asked %d times, want until it answered 200 (3)", calls.Load())
	}
	p = placement{urls: config.ModuleURLs{"catalog": warming.URL, "inventory": draining.URL}}
	err := awaitRemotes(context.Background(), p, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "inventory="+draining.URL) || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "catalog") {
		t.Errorf("err = %v, want one naming inventory's URL and its 503 alone", err)
	}
}

// Each hosted module calls the modules of SHOP_MODULE_URLS through a remote
// adapter that signs as that module: cart's calls to inventory as cart,
// orders' as orders, each counted under its caller; a process that
// addresses nothing builds none.
func TestRemoteCallsAreSignedByTheCallingModule(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]string{} // path -> issuer of its call token
	neighbour := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _, _ := strings.Cut(r.Header.Get(remote.HeaderCaller), ".")
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		var claims struct {
			Issuer string `json:"iss"`
		}
		if err != nil || json.Unmarshal(raw, &claims) != nil {
			t.Errorf("%s: unreadable call token", r.URL.Path)
		}
		mu.Lock()
		calls[r.URL.Path] = claims.Issuer
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	defer neighbour.Close()

	cfg := config.Config{DB: config.DB{RoleSecret: config.DevRoleSecret}}
	p := placement{hosted: []string{"cart", "orders"},
		urls: config.ModuleURLs{"catalog": neighbour.URL, "inventory": neighbour.URL, "payments": neighbour.URL}}
	keys, err := remoteKeys(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	r, err := remoteAPIs(p, keys, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ordersCart != nil {
		t.Error("orders calls the cart hosted here through a remote adapter")
	}
	ctx := context.Background()
	for _, call := range []func() error{
		func() error { _, err := r.cartCatalog.Products(ctx, []string{"p1"}); return err },
		func() error { _, err := r.cartInventory.Availability(ctx, []string{"p1"}); return err },
		func() error { _, err := r.ordersInventory.Availability(ctx, []string{"p2"}); return err },
		func() error { _, err := r.ordersPayments.Capture(ctx, "o1"); return err },
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	// The last call to inventory's Availability was orders'.
	want := map[string]string{"/internal/catalog/Products": "cart", "/internal/inventory/Availability": "orders", "/internal/payments/Capture": "orders"}
	if !maps.Equal(calls, want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, series := range []string{
		`shop_remote_calls_total{callee="inventory",caller="cart",method="Availability",outcome="ok"} 1`,
		`shop_remote_calls_total{callee="inventory",caller="orders",method="Availability",outcome="ok"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), series) {
			t.Errorf("the process's metrics lack %s", series)
		}
	}

	if r, err := remoteAPIs(placement{hosted: []string{"cart", "orders"}}, keys, metrics.New(), nil); err != nil || r != (remotes{}) {
		t.Errorf("nothing addressed: remotes %+v, err %v", r, err)
	}
}

// The keys of calls between modules derive from SHOP_DB_ROLE_SECRET under
// a label of their own, not from the secret itself (which also makes the
// database passwords); production refuses them when modules are split (it
// needs configured keys, see TestConfiguredCallKeysSignOnlyAsHostedModules).
func TestRemoteKeysAreNotTheRoleSecretAndNeverProduction(t *testing.T) {
	t.Parallel()
	cfg := config.Config{DB: config.DB{RoleSecret: config.DevRoleSecret}}
	keys, err := remoteKeys(cfg, placement{hosted: []string{"cart"}})
	if err != nil {
		t.Fatal(err)
	}
	derived, _ := keys.Public("cart")
	plain, _ := remote.DevKeys(config.DevRoleSecret).Public("cart")
	if derived == nil || derived.Equal(plain) {
		t.Error("the call keys are derived from the role secret as it is")
	}
	if _, ok := keys.Private("catalog"); ok {
		t.Error("a process hosting cart signs as catalog")
	}
	prod := cfg
	prod.Env = config.EnvProduction
	prod.Topology.URLs = config.ModuleURLs{"catalog": "http://catalog.internal"}
	if _, err := remoteKeys(prod, placement{hosted: []string{"cart"}}); err == nil || !strings.Contains(err.Error(), "production") {
		t.Errorf("production split: err = %v, want a refusal", err)
	}
	var out bytes.Buffer
	err = realMain(context.Background(), []string{"config"}, &out, &out, mapEnv("SHOP_ENV=production", "DATABASE_URL=postgres://db/shop",
		"SHOP_DB_ROLE_SECRET=a-real-production-secret", "SHOP_HTTP_OPS_ADDR=:9090", "SHOP_MODULES=cart", "SHOP_HTTP_INTERNAL_ADDR=:9091"))
	if err == nil || !strings.Contains(err.Error(), "SHOP_CALL_PUBLIC_KEYS") || !strings.Contains(err.Error(), "shop keys") {
		t.Errorf("shop config of a production split on development keys: %v, want a refusal", err)
	}
}

// Names, addresses and their combination are checked as settings: shop
// config prints the one error.
func TestTopologySettingsAreChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  []string
		want []string
	}{
		{[]string{"SHOP_MODULES=cart,basket"}, []string{"SHOP_MODULES", `unknown module "basket"`, "identity, catalog"}},
		{[]string{"SHOP_MODULES=cart", "SHOP_MODULE_URLS=catalog=http://c,ghost=http://g"}, []string{"SHOP_MODULE_URLS", `unknown module "ghost"`}},
		{[]string{"SHOP_MODULES=cart,catalog", "SHOP_MODULE_URLS=catalog=http://c,inventory=http://i"}, []string{"SHOP_MODULE_URLS", "addresses catalog", "hosts"}},
		{[]string{"SHOP_MODULES=cart", "SHOP_MODULE_URLS=catalog=catalog.internal,inventory=http://i"}, []string{"SHOP_MODULE_URLS", "catalog=catalog.internal", "http://"}},
		{[]string{"SHOP_MODULES=cart", "SHOP_MODULE_URLS=catalog=http://:8080,inventory=http://i"}, []string{"SHOP_MODULE_URLS", "no host"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, " "), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := realMain(context.Background(), []string{"config"}, &out, &out, mapEnv(tt.env...))
			if err == nil {
				t.Fatalf("config accepted it:\n%s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("config printed settings besides the error:\n%s", out.String())
			}
		})
	}
}

var splitTopology = []string{"SHOP_MODULES=cart,orders", "SHOP_DB_MAX_CONNS=27",
	"SHOP_MODULE_URLS=catalog=http://catalog.internal:8080,inventory=http://inventory.internal,payments=https://payments.internal"}

// shop config shows a split process: its settings, the budget split over
// the hosted modules alone, and where each module runs.
func TestConfigCommandPrintsTheTopology(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"config"}, &out, &out, mapEnv(splitTopology...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nSHOP_MODULES=cart,orders ",
		"\nSHOP_MODULE_URLS=catalog=http://catalog.internal:8080,inventory=http://inventory.internal,payments=https://payments.internal ",
		"\n# SHOP_DB_MAX_CONNS=27 is spent as: owner 2, LISTEN 1, cart 12, orders 12\n",
		"\n# hosted here: cart, orders\n",
		"\n# remote: catalog at http://catalog.internal:8080 (its routes forwarded there)\n# remote: inventory at http://inventory.internal (its routes forwarded there)\n# remote: payments at https://payments.internal (its routes forwarded there)\n",
		"shop: warning: shop serve refuses this topology: SHOP_MODULE_URLS must address identity",
		"\n# neither hosted nor addressed (nothing here calls them): identity, notifications, reporting\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, out.String())
		}
	}
}

// shop modules marks each module local or remote, with its address.
func TestModulesCommandMarksWhereEachModuleRuns(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"modules"}, &out, &out, mapEnv(splitTopology...)); err != nil {
		t.Fatal(err)
	}
	runs := map[string]string{}
	table, _, _ := strings.Cut(out.String(), "\n\n") // the Mermaid graph follows
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "remote" {
			runs[f[0]] = f[1] + " " + f[2]
		} else if len(f) > 1 {
			runs[f[0]] = f[1]
		}
	}
	for module, want := range map[string]string{
		"cart": "local", "orders": "local", "catalog": "remote http://catalog.internal:8080",
		"inventory": "remote http://inventory.internal", "payments": "remote https://payments.internal", "identity": "elsewhere,",
	} {
		if runs[module] != want {
			t.Errorf("%s runs %q, want %q:\n%s", module, runs[module], want, out.String())
		}
	}
	out.Reset()
	if err := realMain(context.Background(), []string{"modules", "--mermaid"}, &out, &out, mapEnv(splitTopology...)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "flowchart LR\n") || !strings.Contains(out.String(), "cart --> catalog") {
		t.Errorf("--mermaid:\n%s", out.String())
	}
}

// shop migrate works on the hosted modules by default, and refuses one
// hosted elsewhere: this process holds its own modules' credentials only.
func TestMigrateDefaultsToTheHostedModules(t *testing.T) {
	t.Parallel()
	all, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	prefix := dbtest.RolePrefix(t, all...)
	url := dbtest.NewEmptyURL(t)
	budget := int32(database.OwnerConns + database.ListenConns + database.MinModuleConns)
	release, err := holdConns(budget)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	env := mapEnv("DATABASE_URL="+url, "SHOP_LOG_LEVEL=warn", "SHOP_MODULES=catalog", "SHOP_DB_ROLE_PREFIX="+prefix, fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", budget))
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"migrate", "up"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "catalog ") {
		t.Errorf("migrate up of SHOP_MODULES=catalog:\n%s", out.String())
	}
	var schemas []string
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT coalesce(array_agg(nspname), '{}') FROM pg_namespace WHERE nspname = ANY($1)`, all).Scan(&schemas)
	})
	if !slices.Equal(schemas, []string{"catalog"}) {
		t.Errorf("schemas after migrate up = %v, want catalog's alone", schemas)
	}
	for _, args := range [][]string{{"migrate", "up", "orders"}, {"seed"}, {"reporting", "rebuild"}} {
		err := realMain(context.Background(), args, &out, &out, env)
		if err == nil || !strings.Contains(err.Error(), "does not host") || !strings.Contains(err.Error(), "SHOP_MODULES") {
			t.Errorf("shop %s where SHOP_MODULES=catalog: %v, want a refusal naming SHOP_MODULES", strings.Join(args, " "), err)
		}
	}
}
