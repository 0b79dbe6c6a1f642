package config_test

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/config"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(nil))
	if err != nil {
		t.Fatalf("Load(defaults) = %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(defaults) = %v", err)
	}
	if c.Env != config.EnvDevelopment {
		t.Errorf("Env = %q, want development", c.Env)
	}
	if c.Log.Format != "text" {
		t.Errorf("Log.Format = %q, want text in development", c.Log.Format)
	}
	if c.Auth.CookieSecure == nil || *c.Auth.CookieSecure {
		t.Errorf("Auth.CookieSecure = %v, want false in development", c.Auth.CookieSecure)
	}
	// A load balancer that checks /readyz a few times a second takes a
	// stopping replica out before its listener closes.
	if c.HTTP.DrainDelay != time.Second {
		t.Errorf("HTTP.DrainDelay = %s, want 1s", c.HTTP.DrainDelay)
	}
	if c.HTTP.BodyLimitBytes != 1<<20 || c.DB.RoleSecret != config.DevRoleSecret || c.DB.MaxConns != 32 {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestLoadProductionDerivedDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(map[string]string{
		"SHOP_ENV":               "production",
		"DATABASE_URL":           "postgres://shop@db.internal:5432/shop",
		"SHOP_DB_ROLE_SECRET":    "a-real-production-secret",
		"SHOP_HTTP_CORS_ORIGINS": "https://shop.example,https://admin.shop.example",
		"SHOP_HTTP_OPS_ADDR":     ":9090",
	}))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if c.Log.Format != "json" {
		t.Errorf("Log.Format = %q, want json in production", c.Log.Format)
	}
	if c.Auth.CookieSecure == nil || !*c.Auth.CookieSecure {
		t.Errorf("Auth.CookieSecure = %v, want true in production", c.Auth.CookieSecure)
	}
	if got := strings.Join(c.HTTP.CORSOrigins, " "); got != "https://shop.example https://admin.shop.example" {
		t.Errorf("CORSOrigins = %q", got)
	}
}

func TestLoadReportsInvalidSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"bad env", map[string]string{"SHOP_ENV": "staging"}, []string{"SHOP_ENV", `"staging"`}},
		{"collector without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT", `"collector:4318"`}},
		{"sample ratio above one", map[string]string{"SHOP_TRACE_SAMPLE_RATIO": "1.5"}, []string{"SHOP_TRACE_SAMPLE_RATIO", "between 0 and 1"}},
		{"CORS origin without scheme", map[string]string{"SHOP_HTTP_CORS_ORIGINS": "shop.example"}, []string{"SHOP_HTTP_CORS_ORIGINS", `"shop.example"`}},
		{"production with default role secret", map[string]string{"SHOP_ENV": "production"}, []string{"SHOP_DB_ROLE_SECRET", "production"}},
		{"production without DATABASE_URL", map[string]string{"SHOP_ENV": "production", "SHOP_DB_ROLE_SECRET": "a-real-production-secret"}, []string{"DATABASE_URL", "production"}},
		{"short role secret", map[string]string{"SHOP_DB_ROLE_SECRET": "short"}, []string{"SHOP_DB_ROLE_SECRET", "16"}},
		{"bootstrap email without password", map[string]string{"SHOP_BOOTSTRAP_ADMIN_EMAIL": "admin@shop.example"}, []string{"SHOP_BOOTSTRAP_ADMIN_EMAIL/SHOP_BOOTSTRAP_ADMIN_PASSWORD"}},
		{"bootstrap password without email", map[string]string{"SHOP_BOOTSTRAP_ADMIN_PASSWORD": "pw"}, []string{"SHOP_BOOTSTRAP_ADMIN_EMAIL/SHOP_BOOTSTRAP_ADMIN_PASSWORD"}},
		{"bad log level", map[string]string{"SHOP_LOG_LEVEL": "verbose"}, []string{"SHOP_LOG_LEVEL"}},
		{"bad log format", map[string]string{"SHOP_LOG_FORMAT": "xml"}, []string{"SHOP_LOG_FORMAT"}},
		{"zero body limit", map[string]string{"SHOP_HTTP_BODY_LIMIT_BYTES": "0"}, []string{"SHOP_HTTP_BODY_LIMIT_BYTES"}},
		{"zero request timeout", map[string]string{"SHOP_HTTP_REQUEST_TIMEOUT": "0s"}, []string{"SHOP_HTTP_REQUEST_TIMEOUT"}},
		{"budget below one module", map[string]string{"SHOP_DB_MAX_CONNS": "4"}, []string{"SHOP_DB_MAX_CONNS"}},
		{"idle time too short", map[string]string{"SHOP_DB_MAX_CONN_IDLE_TIME": "1ms"}, []string{"SHOP_DB_MAX_CONN_IDLE_TIME"}},
		{"short session", map[string]string{"SHOP_AUTH_SESSION_TTL": "30s"}, []string{"SHOP_AUTH_SESSION_TTL"}},
		{"no login attempts", map[string]string{"SHOP_AUTH_LOGIN_PER_IP": "0"}, []string{"SHOP_AUTH_LOGIN_PER_IP"}},
		{"weak password hashing in production", map[string]string{"SHOP_ENV": "production", "SHOP_AUTH_ARGON2_MEMORY_KIB": "64"}, []string{"SHOP_AUTH_ARGON2_MEMORY_KIB", "OWASP"}},
		{"no hashing passes", map[string]string{"SHOP_AUTH_ARGON2_ITERATIONS": "0"}, []string{"SHOP_AUTH_ARGON2_ITERATIONS"}},
		{"gateway slower than a handler", map[string]string{"SHOP_PAYMENTS_GATEWAY_TIMEOUT": "40s"}, []string{"SHOP_PAYMENTS_GATEWAY_TIMEOUT", "SHOP_EVENTS_HANDLER_TIMEOUT"}},
		{"SMTP address without port", map[string]string{"SHOP_SMTP_ADDR": "mail.example"}, []string{"SHOP_SMTP_ADDR"}},
		{"no cart deadline", map[string]string{"SHOP_CART_CATALOG_TIMEOUT": "0s"}, []string{"SHOP_CART_CATALOG_TIMEOUT"}},
		// The env library names the Go field, not the variable, on parse errors.
		{"unparsable duration", map[string]string{"SHOP_HTTP_REQUEST_TIMEOUT": "soon"}, []string{"SHOP_HTTP_REQUEST_TIMEOUT", `"soon"`}},
		{"production without an operators' listener", map[string]string{"SHOP_ENV": "production", "DATABASE_URL": "postgres://db/shop", "SHOP_DB_ROLE_SECRET": "a-real-production-secret"}, []string{"SHOP_HTTP_OPS_ADDR", "production", "/metrics"}},
		{"production split", map[string]string{"SHOP_ENV": "production", "DATABASE_URL": "postgres://db/shop", "SHOP_DB_ROLE_SECRET": "a-real-production-secret", "SHOP_HTTP_OPS_ADDR": ":9090", "SHOP_MODULES": "cart", "SHOP_MODULE_URLS": "catalog=http://catalog.internal,inventory=http://inventory.internal"}, []string{"SHOP_DB_CART_URL", "SHOP_CALL_PUBLIC_KEYS", "SHOP_DB_ROLE_SECRET: must not be set"}},
		{"retired proxy switch", map[string]string{"SHOP_AUTH_TRUST_PROXY": "true"}, []string{"SHOP_AUTH_TRUST_PROXY", "SHOP_HTTP_TRUSTED_PROXIES"}},
		{"retired proxy switch, even false", map[string]string{"SHOP_AUTH_TRUST_PROXY": "false"}, []string{"SHOP_AUTH_TRUST_PROXY", "SHOP_HTTP_TRUSTED_PROXIES"}},
		{"every problem at once", map[string]string{"SHOP_ENV": "staging", "SHOP_LOG_LEVEL": "loud"}, []string{"SHOP_ENV", "SHOP_LOG_LEVEL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(lookup(tt.env))
			if err == nil {
				t.Fatalf("Load(%v) = nil error, want one naming %v", tt.env, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadReadsOnlyKnownNames(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, n := range config.Names() {
		known[n] = true
	}
	// A retired name is looked up only to refuse it.
	known["SHOP_AUTH_TRUST_PROXY"] = true
	_, err := config.Load(func(name string) (string, bool) {
		if !known[name] {
			t.Errorf("Load looked up %q, which Names() does not list", name)
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrintMasksSecretsAndListsEveryName(t *testing.T) {
	t.Parallel()
	const (
		roleSecret = "role-secret-0123456789"
		adminPW    = "admin-password-42"
		dbPassword = "db-pass-xyz"
		natsToken  = "nats-token-xyz"
	)
	c, err := config.Load(lookup(map[string]string{
		"DATABASE_URL":                  "postgres://shop:" + dbPassword + "@db.internal:5432/shop?sslmode=disable",
		"SHOP_DB_ROLE_SECRET":           roleSecret,
		"SHOP_BOOTSTRAP_ADMIN_EMAIL":    "admin@shop.example",
		"SHOP_BOOTSTRAP_ADMIN_PASSWORD": adminPW,
		"SHOP_NATS_URL":                 "nats://" + natsToken + "@nats-1:4222,nats://u:" + natsToken + "@nats-2:4222",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{roleSecret, adminPW, dbPassword, natsToken} {
		if strings.Contains(out, secret) {
			t.Errorf("Print leaks %q:\n%s", secret, out)
		}
	}

	values := map[string]string{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), " # ")
		name, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			t.Errorf("line %q is not NAME=value", sc.Text())
			continue
		}
		values[name] = value
	}
	for _, name := range config.Names() {
		if _, ok := values[name]; !ok {
			t.Errorf("Print does not list %s", name)
		}
	}
	if len(values) != len(config.Names()) {
		t.Errorf("Print lists %d names, Names() has %d", len(values), len(config.Names()))
	}
	checks := map[string]string{
		"SHOP_DB_ROLE_SECRET":           "********",
		"SHOP_BOOTSTRAP_ADMIN_PASSWORD": "********",
		"SHOP_BOOTSTRAP_ADMIN_EMAIL":    "admin@shop.example",
		"DATABASE_URL":                  "postgres://shop:xxxxx@db.internal:5432/shop?sslmode=disable",
		"SHOP_HTTP_BODY_LIMIT_BYTES":    "1048576",
		"SHOP_NATS_URL":                 "nats://xxxxx@nats-1:4222,nats://xxxxx@nats-2:4222",
	}
	for name, want := range checks {
		if got := values[name]; got != want {
			t.Errorf("%s printed as %q, want %q", name, got, want)
		}
	}
}

func TestPrintLeavesEmptySecretsEmpty(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "SHOP_BOOTSTRAP_ADMIN_PASSWORD=") {
			value, _, _ := strings.Cut(strings.TrimPrefix(line, "SHOP_BOOTSTRAP_ADMIN_PASSWORD="), " ")
			if value != "" {
				t.Errorf("unset password printed as %q, want empty", value)
			}
			return
		}
	}
	t.Error("SHOP_BOOTSTRAP_ADMIN_PASSWORD not printed")
}

// Production without trusted proxies is valid (the shop may face clients
// directly) but worth a warning; development never warns.
func TestWarnings(t *testing.T) {
	t.Parallel()
	prod := map[string]string{
		"SHOP_ENV":            "production",
		"DATABASE_URL":        "postgres://shop@db.internal:5432/shop",
		"SHOP_DB_ROLE_SECRET": "a-real-production-secret",
		"SHOP_HTTP_OPS_ADDR":  ":9090",
	}
	c, err := config.Load(lookup(prod))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"SHOP_HTTP_TRUSTED_PROXIES", "load balancer", "per-IP"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	prod["SHOP_HTTP_TRUSTED_PROXIES"] = "10.0.0.0/8"
	if c, err = config.Load(lookup(prod)); err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("with trusted proxies: warnings %q", w)
	}
	if c, err = config.Load(lookup(nil)); err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("development: warnings %q", w)
	}
}

func TestTrustedProxiesAreParsed(t *testing.T) {
	t.Parallel()
	c, err := config.Load(lookup(map[string]string{"SHOP_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,2001:db8::/32"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.HTTP.TrustedProxies {
		got = append(got, r.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 2001:db8::/32" {
		t.Errorf("TrustedProxies = %v", got)
	}
	in := func(s string) bool {
		for _, r := range c.HTTP.TrustedProxies {
			if r.Contains(netip.MustParseAddr(s)) {
				return true
			}
		}
		return false
	}
	for addr, want := range map[string]bool{
		"10.9.8.7": true, "::ffff:10.9.8.7": true, "192.168.1.7": true, "192.168.1.8": false,
		"2001:db8::1": true, "127.0.0.1": false, "172.16.0.1": false,
	} {
		if in(addr) != want {
			t.Errorf("%s trusted = %v, want %v", addr, !want, want)
		}
	}
}
