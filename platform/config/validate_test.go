package config_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/config"
)

// durationNames lists every setting of type time.Duration.
func durationNames(t *testing.T) []string {
	t.Helper()
	var names []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
				walk(f.Type)
			case f.Type == reflect.TypeOf(time.Duration(0)):
				names = append(names, f.Tag.Get("env"))
			}
		}
	}
	walk(reflect.TypeOf(config.Config{}))
	if len(names) < 20 {
		t.Fatalf("found only %d duration settings: %v", len(names), names)
	}
	return names
}

func TestEveryDurationIsChecked(t *testing.T) {
	t.Parallel()
	for _, name := range durationNames(t) {
		for _, value := range []string{"-1s", "soon", "10"} {
			t.Run(name+"="+value, func(t *testing.T) {
				t.Parallel()
				wantInvalid(t, map[string]string{name: value}, name)
			})
		}
	}
}

func TestAddressesURLsAndSizesAreChecked(t *testing.T) {
	t.Parallel()
	invalid := []struct{ name, value string }{
		{"SHOP_HTTP_ADDR", "notaport"},
		{"SHOP_HTTP_ADDR", ":http-alt"},
		{"SHOP_HTTP_ADDR", ":65536"},
		{"SHOP_HTTP_ADDR", "localhost:"},
		{"SHOP_HTTP_ADDR", "1.2.3.4"},
		{"SHOP_HTTP_OPS_ADDR", "notaport"},
		{"SHOP_HTTP_OPS_ADDR", ":-1"},
		{"SHOP_HTTP_OPS_ADDR", ":8080"}, // the public listener's
		{"SHOP_HTTP_INTERNAL_ADDR", "notaport"},
		{"SHOP_HTTP_INTERNAL_ADDR", ":8080"}, // the public listener's
		{"SHOP_SMTP_ADDR", "mail.example"},
		{"SHOP_SMTP_ADDR", ":25"},
		{"SHOP_SMTP_ADDR", "mail.example:smtp"},
		{"DATABASE_URL", "mysql://db/shop"},
		{"DATABASE_URL", "postgres://db:99999/shop"},
		{"DATABASE_URL", "postgres://db:port/shop"},
		{"DATABASE_URL", "localhost"},
		{"SHOP_HTTP_CORS_ORIGINS", "shop.example"},
		{"SHOP_HTTP_CORS_ORIGINS", "https://shop.example/"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "lb.internal"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "10.0.0.1/8"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "fe80::1%eth0"},
		{"SHOP_MAIL_FROM", "not an address"},
		{"SHOP_MAIL_FROM", "Shop <shop@example.com>"},
		{"SHOP_BOOTSTRAP_ADMIN_EMAIL", "admin"},
		{"SHOP_HTTP_BODY_LIMIT_BYTES", "0"},
		{"SHOP_HTTP_BODY_LIMIT_BYTES", "-1"},
		{"SHOP_HTTP_BODY_LIMIT_BYTES", "1MB"},
		{"SHOP_DB_MAX_CONNS", "4"},
		{"SHOP_DB_MAX_CONNS", "many"},
		{"SHOP_DB_EMBEDDED_PORT", "0"},
		{"SHOP_DB_EMBEDDED_PORT", "70000"},
		{"SHOP_DB_ROLE_PREFIX", "Shop-Prod"},
		{"SHOP_AUTH_ARGON2_MEMORY_KIB", "4"},
		{"SHOP_AUTH_REGISTER_PER_IP", "0"},
		{"SHOP_AUTH_REGISTER_WINDOW", "0s"},
		{"SHOP_AUTH_SESSION_IDLE_TIMEOUT", "30s"},
	}
	for _, tt := range invalid {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{tt.name: tt.value}
			if tt.name == "SHOP_BOOTSTRAP_ADMIN_EMAIL" {
				env["SHOP_BOOTSTRAP_ADMIN_PASSWORD"] = "a long enough password"
			}
			wantInvalid(t, env, tt.name)
		})
	}
	valid := []struct{ name, value string }{
		{"SHOP_HTTP_ADDR", ":8080"},
		{"SHOP_HTTP_ADDR", "127.0.0.1:0"},
		{"SHOP_HTTP_ADDR", "[::1]:8080"},
		{"SHOP_HTTP_ADDR", "localhost:65535"},
		{"SHOP_HTTP_OPS_ADDR", ":9090"},
		{"SHOP_HTTP_INTERNAL_ADDR", ":9091"},
		{"SHOP_SMTP_ADDR", "mail.example:587"},
		{"DATABASE_URL", "postgres://shop:pw@db.internal:5432/shop?sslmode=require"},
		{"DATABASE_URL", "postgresql:///shop?host=/var/run/postgresql"},
		{"DATABASE_URL", "host=db.internal user=shop dbname=shop"},
		{"SHOP_MAIL_FROM", "orders@shop.example"},
		{"SHOP_HTTP_CORS_ORIGINS", "http://localhost:5173"},
		{"SHOP_HTTP_TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.7,::1,2001:db8::/32"},
		{"SHOP_DB_STATEMENT_TIMEOUT", "0s"}, // no server-side limit
		{"SHOP_HTTP_DRAIN_DELAY", "0s"},
	}
	// Both listeners on port 0 (tests) each get a port of their own.
	if _, err := config.Load(lookup(map[string]string{"SHOP_HTTP_ADDR": "127.0.0.1:0", "SHOP_HTTP_OPS_ADDR": "127.0.0.1:0", "SHOP_HTTP_INTERNAL_ADDR": "127.0.0.1:0"})); err != nil {
		t.Errorf("two listeners on port 0 refused: %v", err)
	}
	for _, tt := range valid {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			if _, err := config.Load(lookup(map[string]string{tt.name: tt.value})); err != nil {
				t.Errorf("%s=%q refused: %v", tt.name, tt.value, err)
			}
		})
	}
}

func TestEventTransportSettingsAreChecked(t *testing.T) {
	t.Parallel()
	nats := func(name, value string) map[string]string {
		return map[string]string{"SHOP_EVENTS_TRANSPORT": "nats", name: value}
	}
	for _, tt := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"SHOP_EVENTS_TRANSPORT": "kafka"}, "SHOP_EVENTS_TRANSPORT"},
		{nats("SHOP_NATS_URL", "http://nats:4222"), "SHOP_NATS_URL"},
		{nats("SHOP_NATS_URL", "nats://a:4222,nats://"), "SHOP_NATS_URL"},
		{nats("SHOP_NATS_REPLICAS", "0"), "SHOP_NATS_REPLICAS"},
		{nats("SHOP_NATS_REPLICAS", "6"), "SHOP_NATS_REPLICAS"},
		{nats("SHOP_NATS_DUPLICATE_WINDOW", "0s"), "SHOP_NATS_DUPLICATE_WINDOW"},
		{nats("SHOP_NATS_DUPLICATE_WINDOW", "200h"), "SHOP_NATS_DUPLICATE_WINDOW"}, // above the 168h retention
		{nats("SHOP_NATS_ACK_WAIT", "10ms"), "SHOP_NATS_ACK_WAIT"},
		{nats("SHOP_NATS_PINNED_TTL", "1s"), "SHOP_NATS_PINNED_TTL"},
	} {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			t.Parallel()
			wantInvalid(t, tt.env, tt.name)
		})
	}
	c, err := config.Load(lookup(map[string]string{"SHOP_EVENTS_TRANSPORT": "nats", "SHOP_NATS_URL": "nats://a:4222, tls://b:4222"}))
	if err != nil {
		t.Fatalf("a valid nats configuration refused: %v", err)
	}
	if c.Events.NATSReplicas != 1 || c.Events.NATSDuplicateWindow != 2*time.Minute || c.Events.NATSAckWait != 30*time.Second ||
		c.Events.NATSPinnedTTL != 5*time.Second {
		t.Errorf("defaults = %+v", c.Events)
	}
	// The default transport needs no broker settings.
	if c, err := config.Load(lookup(map[string]string{"SHOP_NATS_REPLICAS": "0"})); err != nil || c.Events.Transport != config.EventsPostgres {
		t.Errorf("postgres transport = %q, %v", c.Events.Transport, err)
	}
}

func wantInvalid(t *testing.T, env map[string]string, name string) {
	t.Helper()
	_, err := config.Load(lookup(env))
	if err == nil {
		t.Fatalf("Load(%v) accepted it", env)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("Load(%v) = %q, which does not name %s", env, err, name)
	}
}
