package config

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// rolePrefix keeps module role names (<prefix>_<module>) plain identifiers.
var rolePrefix = regexp.MustCompile(`^[a-z][a-z0-9_]{0,29}$`)

// Validate reports every invalid setting at once.
func (c Config) Validate() error {
	var problems []error
	bad := func(name, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("SHOP_ENV", "must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.Env)
	}
	checkAddr(bad, "SHOP_HTTP_ADDR", c.HTTP.Addr, false)
	checkAddr(bad, "SHOP_HTTP_OPS_ADDR", c.HTTP.OpsAddr, true)
	// Two listeners on port 0 each get a port of their own.
	if c.HTTP.OpsAddr != "" && c.HTTP.OpsAddr == c.HTTP.Addr && !strings.HasSuffix(c.HTTP.Addr, ":0") {
		bad("SHOP_HTTP_OPS_ADDR", "must differ from SHOP_HTTP_ADDR (leave it empty to serve /metrics on the public listener)")
	}
	checkAddr(bad, "SHOP_HTTP_INTERNAL_ADDR", c.HTTP.InternalAddr, true)
	if a := c.HTTP.InternalAddr; a != "" && (a == c.HTTP.Addr || a == c.HTTP.OpsAddr) && !strings.HasSuffix(a, ":0") {
		bad("SHOP_HTTP_INTERNAL_ADDR", "must differ from SHOP_HTTP_ADDR and SHOP_HTTP_OPS_ADDR: the internal endpoints are never served with the public routes")
	}
	if c.HTTP.BodyLimitBytes <= 0 {
		bad("SHOP_HTTP_BODY_LIMIT_BYTES", "must be positive")
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"SHOP_HTTP_REQUEST_TIMEOUT", c.HTTP.RequestTimeout},
		{"SHOP_HTTP_READ_HEADER_TIMEOUT", c.HTTP.ReadHeaderTimeout},
		{"SHOP_HTTP_IDLE_TIMEOUT", c.HTTP.IdleTimeout},
		{"SHOP_HTTP_SHUTDOWN_TIMEOUT", c.HTTP.ShutdownTimeout},
		{"SHOP_DB_CONNECT_TIMEOUT", c.DB.ConnectTimeout},
		{"SHOP_AUTH_LOGIN_WINDOW", c.Auth.LoginWindow},
	} {
		if d.value <= 0 {
			bad(d.name, "must be positive")
		}
	}
	// Every duration: a negative one is a typo whatever the setting.
	walk(reflect.ValueOf(c), func(f reflect.StructField, v reflect.Value) {
		if d, ok := v.Interface().(time.Duration); ok && d < 0 {
			bad(f.Tag.Get("env"), "must not be negative")
		}
	})
	if c.Env == EnvProduction && c.HTTP.OpsAddr == "" {
		bad("SHOP_HTTP_OPS_ADDR", "must be set in production (like :9090): /metrics is served only on the operators' listener, never on the public one")
	}
	// The origins are also trusted by the cross-origin protection of unsafe
	// requests, which takes only a bare scheme://host[:port].
	for _, o := range c.HTTP.CORSOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			bad("SHOP_HTTP_CORS_ORIGINS", "%q is not an origin like https://shop.example (no path, no trailing /)", o)
		}
	}
	if c.DB.URL != "" {
		checkDatabaseURL(bad, "DATABASE_URL", c.DB.URL)
	}
	checkTracing(bad, c.Tracing)
	if !rolePrefix.MatchString(c.DB.RolePrefix) {
		bad("SHOP_DB_ROLE_PREFIX", "must be lower case letters, digits and _, starting with a letter, at most 30 characters")
	}
	if c.DB.EmbeddedPort < 1 || c.DB.EmbeddedPort > 65535 {
		bad("SHOP_DB_EMBEDDED_PORT", "must be a port, 1..65535")
	}
	if c.DB.MaxConns < 5 {
		bad("SHOP_DB_MAX_CONNS", "must be at least 5 (2 for the owner, 1 for LISTEN, 2 per module)")
	}
	if c.DB.MaxConnIdleTime < 100*time.Millisecond {
		bad("SHOP_DB_MAX_CONN_IDLE_TIME", "must be at least 100ms")
	}
	c.validateModules(bad)
	if len(c.DB.RoleSecret) < 16 {
		bad("SHOP_DB_ROLE_SECRET", "must be at least 16 characters")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("SHOP_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("SHOP_LOG_FORMAT", "must be json or text")
	}
	if c.Auth.SessionTTL < time.Minute {
		bad("SHOP_AUTH_SESSION_TTL", "must be at least 1m")
	}
	if c.Auth.Argon2MemoryKiB < 8 || c.Auth.Argon2MemoryKiB > 1<<20 || c.Auth.Argon2Iterations < 1 || c.Auth.Argon2Iterations > 16 {
		bad("SHOP_AUTH_ARGON2_MEMORY_KIB/SHOP_AUTH_ARGON2_ITERATIONS", "must be 8..1048576 KiB and 1..16 passes")
	}
	if c.Env == EnvProduction && (c.Auth.Argon2MemoryKiB < 19456 || c.Auth.Argon2Iterations < 2) {
		bad("SHOP_AUTH_ARGON2_MEMORY_KIB/SHOP_AUTH_ARGON2_ITERATIONS", "must be at least 19456 KiB and 2 passes in production (OWASP)")
	}
	if c.Auth.LoginPerAccount < 1 || c.Auth.LoginPerIP < 1 {
		bad("SHOP_AUTH_LOGIN_PER_ACCOUNT/SHOP_AUTH_LOGIN_PER_IP", "must be at least 1")
	}
	if c.Auth.RegisterPerIP < 1 {
		bad("SHOP_AUTH_REGISTER_PER_IP", "must be at least 1")
	}
	if c.Auth.RegisterWindow <= 0 {
		bad("SHOP_AUTH_REGISTER_WINDOW", "must be positive")
	}
	if c.Auth.SessionIdleTimeout < time.Minute {
		bad("SHOP_AUTH_SESSION_IDLE_TIMEOUT", "must be at least 1m")
	}
	if c.Events.PollInterval < 10*time.Millisecond || c.Events.BackoffBase <= 0 || c.Events.BackoffMax < c.Events.BackoffBase {
		bad("SHOP_EVENTS_POLL_INTERVAL/SHOP_EVENTS_BACKOFF_BASE/SHOP_EVENTS_BACKOFF_MAX", "must be positive, poll at least 10ms, max not below base")
	}
	if c.Events.MaxAttempts < 1 || c.Events.Workers < 1 || c.Events.HandlerTimeout <= 0 || c.Events.Retention < time.Minute {
		bad("SHOP_EVENTS_MAX_ATTEMPTS/SHOP_EVENTS_WORKERS/SHOP_EVENTS_HANDLER_TIMEOUT/SHOP_EVENTS_RETENTION", "must be positive (retention at least 1m)")
	}
	if c.Events.CallWorkers < 1 || c.Events.CallWorkers > 1024 {
		bad("SHOP_EVENTS_CALL_WORKERS", "must be between 1 and 1024")
	}
	switch c.Events.Transport {
	case EventsPostgres:
	case EventsNATS:
		checkNATSURL(bad, c.Events.NATSURL)
		if c.Events.NATSReplicas < 1 || c.Events.NATSReplicas > 5 {
			bad("SHOP_NATS_REPLICAS", "must be between 1 and 5")
		}
		if c.Events.NATSDuplicateWindow < time.Second || c.Events.NATSDuplicateWindow > c.Events.Retention {
			bad("SHOP_NATS_DUPLICATE_WINDOW", "must be at least 1s and not above SHOP_EVENTS_RETENTION (the streams keep events that long)")
		}
		if c.Events.NATSAckWait < time.Second {
			bad("SHOP_NATS_ACK_WAIT", "must be at least 1s")
		}
		if c.Events.NATSPinnedTTL < 2*time.Second {
			bad("SHOP_NATS_PINNED_TTL", "must be at least 2s (a pinned replica's fetch waits up to 1s; a shorter pin would move between healthy replicas)")
		}
	default:
		bad("SHOP_EVENTS_TRANSPORT", "must be %q or %q, got %q", EventsPostgres, EventsNATS, c.Events.Transport)
	}
	if c.Inventory.ReservationTTL < time.Second || c.Inventory.SweepInterval < 10*time.Millisecond {
		bad("SHOP_INVENTORY_RESERVATION_TTL/SHOP_INVENTORY_SWEEP_INTERVAL", "must be at least 1s and 10ms")
	}
	if c.Cart.CatalogTimeout <= 0 {
		bad("SHOP_CART_CATALOG_TIMEOUT", "must be positive")
	}
	if c.Payments.GatewayTimeout <= 0 {
		bad("SHOP_PAYMENTS_GATEWAY_TIMEOUT", "must be positive")
	}
	if 2*c.Payments.GatewayTimeout >= c.Events.HandlerTimeout {
		// An authorization that times out is followed by a void: two calls.
		bad("SHOP_PAYMENTS_GATEWAY_TIMEOUT", "must be below half of SHOP_EVENTS_HANDLER_TIMEOUT (payments are called from event handlers)")
	}
	if c.Mail.Timeout <= 0 || c.Mail.Timeout+2*time.Second >= c.Events.HandlerTimeout {
		bad("SHOP_SMTP_TIMEOUT", "must be positive and at least 2s below SHOP_EVENTS_HANDLER_TIMEOUT (mail is sent from event handlers)")
	}
	checkAddr(bad, "SHOP_SMTP_ADDR", c.Mail.SMTPAddr, true)
	if c.Mail.SMTPAddr != "" {
		if host, _, err := net.SplitHostPort(c.Mail.SMTPAddr); err == nil && host == "" {
			bad("SHOP_SMTP_ADDR", "must name the host, like mail.example:587")
		}
	}
	checkEmail(bad, "SHOP_MAIL_FROM", c.Mail.From, false)
	checkEmail(bad, "SHOP_BOOTSTRAP_ADMIN_EMAIL", c.Bootstrap.AdminEmail, true)
	if (c.Bootstrap.AdminEmail == "") != (c.Bootstrap.AdminPassword == "") {
		bad("SHOP_BOOTSTRAP_ADMIN_EMAIL/SHOP_BOOTSTRAP_ADMIN_PASSWORD", "set both or neither")
	}
	c.Topology.validate(bad)
	return errors.Join(problems...)
}

// Warnings lists settings that are valid but probably not what a
// production deployment wants; shop config prints them and serve logs them.
func (c Config) Warnings() []string {
	var w []string
	if c.Env == EnvProduction && len(c.HTTP.TrustedProxies) == 0 {
		w = append(w, "SHOP_HTTP_TRUSTED_PROXIES is empty: behind a load balancer every client would share its address, "+
			"and the per-IP login and sign-up limits would count them all as one; set it to the load balancers' CIDRs or IPs")
	}
	return w
}

// checkAddr accepts host:port with a numeric port (0 picks a free one; the
// host may be empty for every interface), or nothing when optional.
func checkAddr(bad func(string, string, ...any), name, addr string, optional bool) {
	if addr == "" && optional {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		bad(name, "%q is not host:port (like :8080 or 127.0.0.1:8080)", addr)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		bad(name, "%q has no port number 0..65535", addr)
	}
}

// checkDatabaseURL accepts a postgres:// URL or a keyword/value connection
// string (host=… dbname=…), the two forms PostgreSQL clients take.
func checkDatabaseURL(bad func(string, string, ...any), name, raw string) {
	if !strings.Contains(raw, "://") {
		if !strings.Contains(raw, "=") {
			bad(name, "is neither a postgres:// URL nor a key=value connection string")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		bad(name, "is not a URL: %v", errors.Unwrap(err))
		return
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		bad(name, "must start with postgres:// or postgresql://, not %s://", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			bad(name, "port %q is not 1..65535", p)
		}
	}
}

// parseURL parses a connection string in URL form; false for the
// key=value form or an unparsable URL.
func parseURL(raw string) (*url.URL, bool) {
	if !strings.Contains(raw, "://") {
		return nil, false
	}
	u, err := url.Parse(raw)
	return u, err == nil
}

// checkNATSURL accepts a comma-separated list of nats:// (or tls://, ws://,
// wss://) URLs with a host and port, as the NATS client takes them.
func checkNATSURL(bad func(string, string, ...any), raw string) {
	for _, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			bad("SHOP_NATS_URL", "is not a URL: %v", errors.Unwrap(err))
			continue
		}
		switch {
		case u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
			bad("SHOP_NATS_URL", "%q must start with nats://, tls://, ws:// or wss://", u.Redacted())
		case u.Hostname() == "":
			bad("SHOP_NATS_URL", "%q names no host", u.Redacted())
		}
	}
}

func checkEmail(bad func(string, string, ...any), name, addr string, optional bool) {
	if addr == "" && optional {
		return
	}
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		bad(name, "%q is not an email address like shop@example.com", addr)
	}
}

// retiredNames are settings the shop no longer reads, with what replaced
// them: a deployment that still sets one would silently lose its effect.
var retiredNames = map[string]string{
	"SHOP_AUTH_TRUST_PROXY": "SHOP_HTTP_TRUSTED_PROXIES, the CIDRs or IPs of the load balancers whose X-Forwarded-For to believe",
}

// retired reports each retired setting the environment still sets.
func retired(lookup func(string) (string, bool)) error {
	var problems []error
	for name, instead := range retiredNames {
		if _, ok := lookup(name); ok {
			problems = append(problems, fmt.Errorf("%s: is no longer read; use %s", name, instead))
		}
	}
	return errors.Join(problems...)
}

// checkTracing checks the collector's URLs and the sample ratio.
func checkTracing(bad func(name, format string, args ...any), t Tracing) {
	for _, e := range [][2]string{{"OTEL_EXPORTER_OTLP_ENDPOINT", t.Endpoint}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", t.TracesEndpoint}} {
		name, raw := e[0], e[1]
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "must be an http:// or https:// URL, got %q", raw)
		}
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		bad("SHOP_TRACE_SAMPLE_RATIO", "must be between 0 and 1, got %v", t.SampleRatio)
	}
}
