package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/kernel"
)

func mapEnv(kv ...string) Env {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestModulesCommandPrintsTheGraph(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"modules"}, &out, &out, mapEnv()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"identity", "catalog", "```mermaid", "flowchart LR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Every module of the binary is in the graph the kernel checks.
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Order()) != len(dbtest.Modules()) {
		t.Fatalf("%d modules registered, %d have migrations", len(g.Order()), len(dbtest.Modules()))
	}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := mapEnv("DATABASE_URL=postgres://shop:hunter2@db:5432/shop", "SHOP_DB_ROLE_SECRET=0123456789abcdef-secret",
		"SHOP_BOOTSTRAP_ADMIN_EMAIL=a@b.c", "SHOP_BOOTSTRAP_ADMIN_PASSWORD=sup3rs3cret!")
	if err := realMain(context.Background(), []string{"config"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"hunter2", "0123456789abcdef-secret", "sup3rs3cret!"} {
		if strings.Contains(s, secret) {
			t.Errorf("config printed secret %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{"SHOP_HTTP_ADDR=:8080", "DATABASE_URL=postgres://shop:xxxxx@db:5432/shop", "SHOP_BOOTSTRAP_ADMIN_EMAIL=a@b.c"} {
		if !strings.Contains(s, want) {
			t.Errorf("config lacks %q:\n%s", want, s)
		}
	}
}

func TestBadConfigurationIsAClearError(t *testing.T) {
	t.Parallel()
	err := realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}, mapEnv("SHOP_ENV=staging"))
	if err == nil || !strings.Contains(err.Error(), "SHOP_ENV") {
		t.Fatalf("err = %v, want one naming SHOP_ENV", err)
	}
	var ue usageError
	if err := realMain(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &bytes.Buffer{}, mapEnv()); !errors.As(err, &ue) {
		t.Fatalf("unknown command: err = %v, want a usage error", err)
	}
}

// An unreachable database is a one-line error with a fix, not a stack trace.
func TestUnreachableDatabaseIsAClearError(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "migrate", "status")
	cmd.Env = []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=2", "SHOP_DB_CONNECT_TIMEOUT=2s"}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "shop: database") || strings.Contains(string(out), "goroutine") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestMigrateAndSeedCommands(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	// The commands run one after the other in this process, then the shop
	// below in its own: each holds its budget while it runs.
	budget := dbtest.Config().MaxConns
	release, err := holdConns(budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	env := mapEnv("DATABASE_URL="+url, "SHOP_LOG_LEVEL=warn", fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", budget))
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"migrate", "status"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "catalog") {
		t.Fatalf("status on a migrated database:\n%s", out.String())
	}
	out.Reset()
	if err := realMain(context.Background(), []string{"migrate", "down", "catalog"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending") {
		t.Fatalf("after down:\n%s", out.String())
	}
	out.Reset()
	if err := realMain(context.Background(), []string{"migrate", "up"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") {
		t.Fatalf("after up:\n%s", out.String())
	}
	out.Reset()
	if err := realMain(context.Background(), []string{"seed", "--products", "30"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	release()
	// The shop now serves the demo products.
	s := &shop{t: t, dbURL: url}
	s.start()
	var page struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/products?limit=100", "", nil)).json(t, &page)
	if len(page.Items) != 30 {
		t.Fatalf("%d products after seeding 30", len(page.Items))
	}
}

func TestConfigCommandPrintsEachModulesShare(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := realMain(context.Background(), []string{"config"}, &out, &out, mapEnv("SHOP_DB_MAX_CONNS=27")); err != nil {
		t.Fatal(err)
	}
	mods, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	want := "# SHOP_DB_MAX_CONNS=27 is spent as: owner 2, LISTEN 1"
	for _, m := range mods {
		want += ", " + m + " 3"
	}
	if !strings.Contains(out.String(), want+"\n") {
		t.Errorf("config lacks %q:\n%s", want, out.String())
	}
}
