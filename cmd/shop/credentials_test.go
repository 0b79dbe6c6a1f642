package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/remote"
)

// keysEnv runs shop keys and returns its settings by name.
func keysEnv(t *testing.T) map[string]string {
	t.Helper()
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"keys"}, &out, &out, mapEnv()); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(name, "#") {
			settings[name] = value
		}
	}
	return settings
}

// A set from shop keys runs a production split: a process given cart's
// private key (and every public key) signs as cart, and cannot sign as
// catalog, whose private key it does not hold; it verifies everyone.
func TestConfiguredCallKeysSignOnlyAsHostedModules(t *testing.T) {
	t.Parallel()
	keys := keysEnv(t)
	names, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(names)+2 || keys["SHOP_CALL_KEY_EDGE"] == "" {
		t.Fatalf("shop keys printed %d settings, want SHOP_CALL_PUBLIC_KEYS, the edge's key and one per module (%d): %v", len(keys), len(names), keys)
	}
	env := []string{"SHOP_ENV=production", "SHOP_HTTP_OPS_ADDR=:9090",
		"SHOP_MODULES=cart", "SHOP_MODULE_URLS=catalog=http://catalog.internal,inventory=http://inventory.internal,identity=http://identity.internal",
		"SHOP_EVENTS_TRANSPORT=nats", "SHOP_DB_CART_URL=postgres://shop_cart:pw@db.internal/shop",
		"SHOP_CALL_PUBLIC_KEYS=" + keys["SHOP_CALL_PUBLIC_KEYS"], "SHOP_CALL_KEY_CART=" + keys["SHOP_CALL_KEY_CART"]}
	// Every process forwards and checks sessions as the edge: without the
	// edge's key a production split process does not start.
	if _, err := settings(mapEnv(env...)); err == nil || !strings.Contains(err.Error(), "SHOP_CALL_KEY_EDGE") {
		t.Fatalf("a production split without the edge's key: %v, want an error naming SHOP_CALL_KEY_EDGE", err)
	}
	e, err := settings(mapEnv(append(env, "SHOP_CALL_KEY_EDGE="+keys["SHOP_CALL_KEY_EDGE"])...))
	if err != nil {
		t.Fatalf("a production split on its own keys refused: %v", err)
	}
	k, err := remoteKeys(e.cfg, e.place)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(names, remote.EdgeCaller) {
		if _, ok := k.Public(m); !ok {
			t.Errorf("no public key of %s", m)
		}
		if _, ok := k.Private(m); ok != (m == "cart" || m == remote.EdgeCaller) {
			t.Errorf("Private(%s) = %v, want keys of cart and the edge only", m, ok)
		}
	}
	if _, err := remote.NewClient(remote.ClientConfig{Caller: "cart", Keys: k}); err != nil {
		t.Errorf("cannot call as cart: %v", err)
	}
	if _, err := remote.NewClient(remote.ClientConfig{Caller: "catalog", Keys: k}); err == nil {
		t.Error("a process without catalog's private key calls as catalog")
	}
}

// The proof: a process hosting catalog, given catalog's own
// database URL and nothing else, serves catalog, and cannot log in as
// identity. The shared test server trusts loopback, so this runs on a
// throw-away cluster that checks every password. The operator's step (shop
// migrate up, with the owner's DATABASE_URL and every module's URL)
// provisions each role with the password of its URL; the serving process
// has neither the owner's URL nor identity's, and the role secret in its
// configuration (the development default) derives no password identity
// accepts.
func TestCatalogProcessCannotLogInAsIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ownerURL := dbtest.PasswordServer(t)
	server, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	ownerPassword, _ := server.User.Password()
	own := map[string]*url.URL{}
	for _, m := range []string{"catalog", "identity"} {
		u := *server
		u.User = url.UserPassword("shop_"+m, rand.Text())
		own[m] = &u
	}
	password := func(m string) string { p, _ := own[m].User.Password(); return p }

	var out bytes.Buffer
	if err := realMain(ctx, []string{"migrate", "up"}, &out, &out, mapEnv("DATABASE_URL="+ownerURL, "SHOP_LOG_LEVEL=warn",
		"SHOP_MODULES=catalog,identity", "SHOP_DB_CATALOG_URL="+own["catalog"].String(), "SHOP_DB_IDENTITY_URL="+own["identity"].String())); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out.String())
	}

	s := &shop{t: t, partial: true} // no dbURL: no DATABASE_URL
	// Identity is named for the sessions of catalog's routes (nothing here
	// needs one); events of a split on own logins go over NATS.
	s.start("SHOP_MODULES=catalog", "SHOP_DB_CATALOG_URL="+own["catalog"].String(), "SHOP_MODULE_URLS=identity="+closedURL(t),
		"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL="+natstest.Start(t).URL(),
		fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", database.OwnerConns+database.ListenConns+3))
	// (a) It serves catalog.
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/products", "", nil)).json(t, &page)

	// (b) With catalog's password the server refuses identity's role; with
	// identity's own it accepts it, so the role exists and only the
	// password is wrong.
	login := func(role, password string) error {
		cfg, err := pgx.ParseConfig(own["identity"].String())
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Password = role, password
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			conn.Close(ctx)
		}
		return err
	}
	if err := login("shop_identity", password("catalog")); sqlState(err) != "28P01" {
		t.Errorf("log in as shop_identity with catalog's password: %v, want invalid_password (28P01)", err)
	}
	if err := login("shop_identity", password("identity")); err != nil {
		t.Errorf("log in as shop_identity with its own password: %v", err)
	}
	// Nor does the role secret of the process's configuration log in as
	// identity: the password it derives is not identity's.
	e, err := settings(mapEnv(s.env()...))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := database.OpenOwner(ctx, ownerURL, e.cfg.DB, []string{"identity"})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if db, err := owner.Open(ctx, "identity", slog.New(slog.DiscardHandler), nil); sqlState(err) != "28P01" {
		if db != nil {
			db.Close()
		}
		t.Errorf("log in as identity with the password the process's SHOP_DB_ROLE_SECRET derives: %v, want invalid_password (28P01)", err)
	}

	// (c) Its environment holds no owner URL and no other module's
	// secret, shop config shows none, and the server saw it log in as
	// catalog only.
	for _, kv := range s.env() {
		if strings.HasPrefix(kv, "DATABASE_URL=") || strings.Contains(kv, password("identity")) || strings.Contains(kv, ownerPassword) {
			t.Errorf("the process's environment holds %q", kv)
		}
	}
	out.Reset()
	if err := realMain(ctx, []string{"config"}, &out, &out, mapEnv(s.env()...)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nDATABASE_URL= ", "\nSHOP_DB_IDENTITY_URL= ", "\nSHOP_DB_CATALOG_URL=" + strings.Replace(own["catalog"].String(), password("catalog"), "xxxxx", 1) + " "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("shop config lacks %q:\n%s", want, out.String())
		}
	}
	// The event bus listens as catalog too: it needs no owner.
	eventstest.Eventually(t, 30*time.Second, "the event listener connected as shop_catalog", func() bool {
		var n int
		err := owner.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = 'shop_catalog' AND query LIKE 'LISTEN %'`).Scan(&n)
		return err == nil && n > 0
	})
	var roles []string
	if err := owner.Pool().QueryRow(ctx, `SELECT array_agg(DISTINCT usename::text) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename <> current_user`).Scan(&roles); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(roles, []string{"shop_catalog"}) {
		t.Errorf("the server sees connections as %v, want shop_catalog's only", roles)
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
