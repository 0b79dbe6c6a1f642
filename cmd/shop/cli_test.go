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
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
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

// In production without trusted proxies, shop config warns on stderr that
// behind a load balancer the per-IP limits would see one client.
func TestConfigCommandWarnsWithoutTrustedProxiesInProduction(t *testing.T) {
	t.Parallel()
	prod := []string{"SHOP_ENV=production", "DATABASE_URL=postgres://shop@db:5432/shop",
		"SHOP_DB_ROLE_SECRET=0123456789abcdef-secret", "SHOP_HTTP_OPS_ADDR=:9090"}
	var stdout, stderr bytes.Buffer
	if err := realMain(context.Background(), []string{"config"}, &stdout, &stderr, mapEnv(prod...)); err != nil {
		t.Fatal(err)
	}
	warning := stderr.String()
	for _, want := range []string{"warning", "SHOP_HTTP_TRUSTED_PROXIES", "load balancer", "per-IP login and sign-up limits"} {
		if !strings.Contains(warning, want) {
			t.Errorf("stderr lacks %q:\n%s", want, warning)
		}
	}
	if strings.Contains(stdout.String(), "warning") || !strings.Contains(stdout.String(), "SHOP_ENV=production") {
		t.Errorf("stdout is not the plain configuration:\n%s", stdout.String())
	}
	for _, env := range [][]string{append(prod, "SHOP_HTTP_TRUSTED_PROXIES=10.0.0.0/8"), nil} {
		stderr.Reset()
		if err := realMain(context.Background(), []string{"config"}, &bytes.Buffer{}, &stderr, mapEnv(env...)); err != nil {
			t.Fatal(err)
		}
		if stderr.Len() != 0 {
			t.Errorf("%v: stderr = %q, want no warning", env, stderr.String())
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

// Settings are checked before anything starts: an invalid address stops
// serve with the variable's name, before any database is looked for.
func TestInvalidSettingStopsServeBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &stderr,
		mapEnv("SHOP_HTTP_ADDR=notaport", "DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1"))
	if err == nil || !strings.Contains(err.Error(), "SHOP_HTTP_ADDR") || strings.Contains(err.Error(), "database") {
		t.Fatalf("err = %v, want one naming SHOP_HTTP_ADDR and nothing of the database", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("serve logged before failing:\n%s", stderr.String())
	}
	// A budget too small for the modules is also a setting error.
	err = realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &stderr,
		mapEnv("SHOP_DB_MAX_CONNS=10", "DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1"))
	if err == nil || !strings.Contains(err.Error(), "SHOP_DB_MAX_CONNS") {
		t.Fatalf("err = %v, want one naming SHOP_DB_MAX_CONNS", err)
	}
	// So is one that leaves a module nothing beyond its event handlers'
	// connections (19 gives every module 2; two workers can hold both).
	err = realMain(context.Background(), []string{"serve"}, &bytes.Buffer{}, &stderr,
		mapEnv("SHOP_DB_MAX_CONNS=19", "DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1"))
	if err == nil || !strings.Contains(err.Error(), "SHOP_DB_MAX_CONNS=19") || !strings.Contains(err.Error(), "SHOP_EVENTS_WORKERS") {
		t.Fatalf("err = %v, want one naming SHOP_DB_MAX_CONNS and SHOP_EVENTS_WORKERS", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("serve logged before failing:\n%s", stderr.String())
	}
}

// shop config with an invalid value prints the error alone, exit status 1.
func TestConfigCommandWithAnInvalidValuePrintsTheErrorAlone(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "config")
	cmd.Env = []string{"SHOP_HTTP_ADDR=notaport"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want 1", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
	if got := strings.TrimSpace(stderr.String()); !strings.HasPrefix(got, "shop: SHOP_HTTP_ADDR:") || strings.Count(got, "\n") != 0 {
		t.Errorf("stderr = %q, want the one error naming SHOP_HTTP_ADDR", got)
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

// Every command has --help: exit status 0, its own usage (and flags) on
// stdout; shop --help and shop help are the program's.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"usage:", "shop migrate", "shop seed", "shop config"}},
		{[]string{"-h"}, []string{"usage:", "shop migrate"}},
		{[]string{"help"}, []string{"usage:", "shop migrate"}},
		{[]string{"help", "seed"}, []string{"usage: shop seed", "-products"}},
		{[]string{"serve", "--help"}, []string{"usage: shop [serve]", "-seed-demo"}},
		{[]string{"seed", "--help"}, []string{"usage: shop seed [--products N]", "-products", "default 60"}},
		{[]string{"migrate", "--help"}, []string{"usage: shop migrate up|down|status"}},
		{[]string{"migrate", "up", "--help"}, []string{"usage: shop migrate up|down|status"}},
		{[]string{"events", "--help"}, []string{"usage: shop events dead", "-subscriber", "-all"}},
		{[]string{"events", "dead", "--help"}, []string{"usage: shop events dead", "-subscriber"}},
		{[]string{"events", "replay", "-h"}, []string{"usage: shop events", "-all"}},
		{[]string{"events", "forget", "--help"}, []string{"usage: shop events", "shop events forget SUBSCRIBER"}},
		{[]string{"reporting", "--help"}, []string{"usage: shop reporting rebuild"}},
		{[]string{"reporting", "rebuild", "--help"}, []string{"usage: shop reporting rebuild"}},
		{[]string{"db", "--help"}, []string{"usage: shop db move MODULE --to URL", "-replace", "-wait"}},
		{[]string{"db", "move", "catalog", "--help"}, []string{"usage: shop db move MODULE --to URL", "-to"}},
		{[]string{"modules", "--help"}, []string{"usage: shop modules [--mermaid|--json]", "-mermaid", "-json"}},
		{[]string{"config", "--help"}, []string{"usage: shop config"}},
		{[]string{"version", "--help"}, []string{"usage: shop version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary, tt.args...)
			// An unreachable database: help must not need one.
			cmd.Env = []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/shop?connect_timeout=1", "HOME=/tmp"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("shop %s: %v\n%s", strings.Join(tt.args, " "), err, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
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
	budget := commandConns()
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

func TestSeedProgressShowsForARunLongerThanAMoment(t *testing.T) {
	t.Parallel()
	var quick lockedBuffer
	p := startProgress(&quick, 1000, time.Hour)
	p.set(1000)
	p.finish()
	if quick.String() != "" {
		t.Errorf("a quick run printed %q", quick.String())
	}

	// 1,000 products (far below the 5,000 that used to be needed), with the
	// moment already passed: the bar shows, with the count so far.
	var slow lockedBuffer
	p = startProgress(&slow, 1000, 0)
	p.set(400)
	eventstest.Eventually(t, 10*time.Second, "the bar shows", func() bool {
		return strings.Contains(slow.String(), "seeding products") && strings.Contains(slow.String(), "/1000")
	})
	p.finish()
}
