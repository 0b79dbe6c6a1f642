// Package config loads the process configuration from environment variables.
// Every setting is typed, has a default where one is safe, and is validated
// once at start-up; nothing else in the program reads the environment.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// DevRoleSecret is the default secret module database passwords derive from. It
// is refused in production.
const DevRoleSecret = "dev-only-role-secret-change-me"

// Config is the whole configuration, composed per capability.
type Config struct {
	Env       string `env:"SHOP_ENV" envDefault:"development" help:"development or production"`
	HTTP      HTTP
	DB        DB
	Log       Log
	Tracing   Tracing
	Auth      Auth
	Events    Events
	Bootstrap Bootstrap
	Inventory Inventory
	Cart      Cart
	Payments  Payments
	Mail      Mail
	Topology  Topology
	Calls     Calls

	modules []string // the binary's modules, whose own settings were read
}

// HTTP configures the HTTP edge. DrainDelay defaults to a second: a load
// balancer checking /readyz a few times a second takes a stopping replica
// out before its listener closes, so a balancer that does not retry a
// refused connection loses no request in a rolling restart; 0 closes at
// once (no balancer, tests).
type HTTP struct {
	Addr              string        `env:"SHOP_HTTP_ADDR" envDefault:":8080" help:"listen address"`
	BodyLimitBytes    int64         `env:"SHOP_HTTP_BODY_LIMIT_BYTES" envDefault:"1048576" help:"largest accepted request body"`
	RequestTimeout    time.Duration `env:"SHOP_HTTP_REQUEST_TIMEOUT" envDefault:"10s" help:"deadline for handling one request; with the header timeout it also bounds reading the request's body"`
	ReadHeaderTimeout time.Duration `env:"SHOP_HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	IdleTimeout       time.Duration `env:"SHOP_HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	DrainDelay        time.Duration `env:"SHOP_HTTP_DRAIN_DELAY" envDefault:"1s" help:"how long /readyz fails before the listener closes on SIGTERM (keep it above the load balancer's time to take a server out)"`
	ShutdownTimeout   time.Duration `env:"SHOP_HTTP_SHUTDOWN_TIMEOUT" envDefault:"20s" help:"how long in-flight requests may take to finish"`
	CORSOrigins       []string      `env:"SHOP_HTTP_CORS_ORIGINS" envSeparator:"," help:"allowed CORS origins, comma separated; empty disables CORS"`
	OpsAddr           string        `env:"SHOP_HTTP_OPS_ADDR" help:"listen address of /metrics (with /healthz and /readyz), apart from the public listener; required in production; empty serves /metrics on the public one in development"`
	InternalAddr      string        `env:"SHOP_HTTP_INTERNAL_ADDR" help:"listen address of the internal endpoints other processes call this process's modules on (/internal/, with /healthz and /readyz), never public; empty serves none, as a process that hosts every module needs"`
	TrustedProxies    []IPRange     `env:"SHOP_HTTP_TRUSTED_PROXIES" envSeparator:"," help:"load balancers whose X-Forwarded-For is believed, comma separated CIDRs or IPs; empty uses the peer address"`
}

// DB configures PostgreSQL access.
type DB struct {
	URL              string        `env:"DATABASE_URL" secret:"url" help:"owner connection used to provision module roles; empty means local discovery, or none when every hosted module has its SHOP_DB_<MODULE>_URL"`
	RolePrefix       string        `env:"SHOP_DB_ROLE_PREFIX" envDefault:"shop" help:"module roles are named <prefix>_<module>"`
	RoleSecret       string        `env:"SHOP_DB_ROLE_SECRET" envDefault:"dev-only-role-secret-change-me" secret:"true" help:"the passwords of module roles without a SHOP_DB_<MODULE>_URL derive from it"`
	MaxConns         int32         `env:"SHOP_DB_MAX_CONNS" envDefault:"32" help:"connections this process may hold in all, split across its modules (shop config shows the split)"`
	MaxConnIdleTime  time.Duration `env:"SHOP_DB_MAX_CONN_IDLE_TIME" envDefault:"30s" help:"an idle connection is closed after this"`
	StatementTimeout time.Duration `env:"SHOP_DB_STATEMENT_TIMEOUT" envDefault:"5s"`
	ConnectTimeout   time.Duration `env:"SHOP_DB_CONNECT_TIMEOUT" envDefault:"5s"`
	EmbeddedDir      string        `env:"SHOP_DB_EMBEDDED_DIR" envDefault:".shop/pgdata" help:"data folder of the embedded PostgreSQL (non-root fallback)"`
	EmbeddedPort     uint32        `env:"SHOP_DB_EMBEDDED_PORT" envDefault:"54329"`
	// ModuleURLs are the modules' own database logins (SHOP_DB_<MODULE>_URL),
	// by module.
	ModuleURLs map[string]string
}

// Log configures logging.
type Log struct {
	Level  string `env:"SHOP_LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	Format string `env:"SHOP_LOG_FORMAT" help:"json or text; default json in production, text in development"`
}

// Tracing configures OpenTelemetry traces. The endpoints take the standard
// OTLP variables' names and meanings; without either no span leaves the
// process (trace context still travels, and log lines still carry trace ids).
type Tracing struct {
	Endpoint       string  `env:"OTEL_EXPORTER_OTLP_ENDPOINT" help:"base URL of an OTLP/HTTP collector (like http://collector:4318): spans go to its /v1/traces; empty (and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) exports none"`
	TracesEndpoint string  `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" help:"full URL spans are sent to over OTLP/HTTP, taken as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT"`
	ServiceName    string  `env:"OTEL_SERVICE_NAME" help:"service.name of this process's spans; default shop, or shop-<hosted modules> for a process of a split topology"`
	SampleRatio    float64 `env:"SHOP_TRACE_SAMPLE_RATIO" envDefault:"1" help:"share of new traces recorded and exported, 0 to 1; a request or event whose caller recorded its trace is recorded too"`
}

// Auth configures sessions and login protection.
type Auth struct {
	SessionTTL      time.Duration `env:"SHOP_AUTH_SESSION_TTL" envDefault:"720h" help:"absolute lifetime of a session, however much it is used"`
	CookieName      string        `env:"SHOP_AUTH_COOKIE_NAME" envDefault:"shop_session"`
	CookieSecure    *bool         `env:"SHOP_AUTH_COOKIE_SECURE" help:"Secure cookie flag; default true in production"`
	LoginWindow     time.Duration `env:"SHOP_AUTH_LOGIN_WINDOW" envDefault:"15m" help:"window of the login rate limits"`
	LoginPerAccount int           `env:"SHOP_AUTH_LOGIN_PER_ACCOUNT" envDefault:"5" help:"failed logins allowed per account and client IP per window (a wrong current password when changing it counts too)"`
	LoginPerIP      int           `env:"SHOP_AUTH_LOGIN_PER_IP" envDefault:"100" help:"failed logins allowed per client IP per window, whatever the account; successful logins do not count"`
	// Argon2id cost of new password hashes (stored hashes keep theirs and
	// are upgraded at the next login). Production refuses less than OWASP's
	// recommendation; development may lower it for fast tests.
	Argon2MemoryKiB  uint32 `env:"SHOP_AUTH_ARGON2_MEMORY_KIB" envDefault:"19456" help:"Argon2id memory per password hash, KiB"`
	Argon2Iterations uint32 `env:"SHOP_AUTH_ARGON2_ITERATIONS" envDefault:"2" help:"Argon2id passes per password hash"`
	// Sign-ups per client IP: each costs an Argon2id hash, and the limit is
	// counted before it is paid.
	RegisterPerIP      int           `env:"SHOP_AUTH_REGISTER_PER_IP" envDefault:"10" help:"sign-ups allowed per client IP per window, new and taken addresses alike"`
	RegisterWindow     time.Duration `env:"SHOP_AUTH_REGISTER_WINDOW" envDefault:"1h" help:"window of the sign-up rate limit"`
	SessionIdleTimeout time.Duration `env:"SHOP_AUTH_SESSION_IDLE_TIMEOUT" envDefault:"168h" help:"a session unused for this long ends (SHOP_AUTH_SESSION_TTL still bounds a busy one)"`
}

// Events configures the event pipeline between modules.
type Events struct {
	PollInterval   time.Duration `env:"SHOP_EVENTS_POLL_INTERVAL" envDefault:"2s" help:"safety poll; commits wake dispatchers at once through LISTEN/NOTIFY"`
	MaxAttempts    int           `env:"SHOP_EVENTS_MAX_ATTEMPTS" envDefault:"8" help:"handler attempts before an event is dead-lettered"`
	BackoffBase    time.Duration `env:"SHOP_EVENTS_BACKOFF_BASE" envDefault:"1s" help:"first retry delay; doubles per attempt, with jitter"`
	BackoffMax     time.Duration `env:"SHOP_EVENTS_BACKOFF_MAX" envDefault:"10m"`
	Workers        int           `env:"SHOP_EVENTS_WORKERS" envDefault:"2" help:"concurrent handlers per subscriber"`
	CallWorkers    int           `env:"SHOP_EVENTS_CALL_WORKERS" envDefault:"32" help:"call handlers (saga steps) in flight per subscriber, each on a different key; they hold no connection while a neighbour answers"`
	HandlerTimeout time.Duration `env:"SHOP_EVENTS_HANDLER_TIMEOUT" envDefault:"30s"`
	RelayHandling  time.Duration `env:"SHOP_EVENTS_RELAY_HANDLING" envDefault:"250ms" help:"the relay (postgres transport) or the NATS consumer runs this process's transactional handlers in the transaction that writes their events into the inbox, starting none once a round has taken this long (a subscriber one of whose handlers took longer, or whose transaction there broke, is left to the dispatchers for 30 s), so they need no dispatcher's claim; 0 leaves every event to the dispatchers"`
	Retention      time.Duration `env:"SHOP_EVENTS_RETENTION" envDefault:"168h" help:"how long delivered events are kept"`
	Crashpoint     string        `env:"SHOP_EVENTS_CRASHPOINT" help:"testing aid: stop dead at this point of the pipeline"`

	// The transport between a publisher's outbox and its subscribers' inboxes.
	Transport           string        `env:"SHOP_EVENTS_TRANSPORT" envDefault:"postgres" help:"postgres (relays write the subscribers' inboxes) or nats (relays publish to NATS JetStream; durable consumers fill the inboxes)"`
	NATSURL             string        `env:"SHOP_NATS_URL" envDefault:"nats://127.0.0.1:4222" secret:"urls" help:"NATS servers, comma separated (with the nats transport)"`
	NATSReplicas        int           `env:"SHOP_NATS_REPLICAS" envDefault:"1" help:"copies of each event stream in a NATS cluster (1 to 5)"`
	NATSDuplicateWindow time.Duration `env:"SHOP_NATS_DUPLICATE_WINDOW" envDefault:"2m" help:"how long JetStream drops a re-published event (by id) after a relay crash"`
	NATSAckWait         time.Duration `env:"SHOP_NATS_ACK_WAIT" envDefault:"30s" help:"how long JetStream waits for a subscriber's inbox write before delivering the event again"`
	NATSPinnedTTL       time.Duration `env:"SHOP_NATS_PINNED_TTL" envDefault:"5s" help:"how long a subscriber's events stay pinned to a replica that stopped fetching them before another replica takes over"`
}

// The event transports (SHOP_EVENTS_TRANSPORT).
const (
	EventsPostgres = "postgres"
	EventsNATS     = "nats"
)

// Bootstrap creates the first admin.
type Bootstrap struct {
	AdminEmail    string `env:"SHOP_BOOTSTRAP_ADMIN_EMAIL" help:"with the password: created as admin when no admin exists"`
	AdminPassword string `env:"SHOP_BOOTSTRAP_ADMIN_PASSWORD" secret:"true"`
}

// Inventory configures stock reservations.
type Inventory struct {
	ReservationTTL time.Duration `env:"SHOP_INVENTORY_RESERVATION_TTL" envDefault:"15m" help:"how long reserved stock is held for an order that is not committed"`
	SweepInterval  time.Duration `env:"SHOP_INVENTORY_SWEEP_INTERVAL" envDefault:"30s" help:"how often expired reservations are released"`
}

// Cart configures the cart's calls to the catalog.
type Cart struct {
	CatalogTimeout time.Duration `env:"SHOP_CART_CATALOG_TIMEOUT" envDefault:"500ms" help:"how long the cart waits for catalog prices before showing the last known ones"`
}

// Payments configures the card gateway.
type Payments struct {
	GatewayTimeout time.Duration `env:"SHOP_PAYMENTS_GATEWAY_TIMEOUT" envDefault:"3s" help:"deadline of one call to the card gateway"`
}

// Mail configures outgoing email. Without an SMTP address messages are kept
// in the notifications module's mailbox only.
type Mail struct {
	SMTPAddr     string        `env:"SHOP_SMTP_ADDR" help:"host:port of an SMTP server; empty keeps mail in the mailbox only"`
	SMTPUsername string        `env:"SHOP_SMTP_USERNAME"`
	SMTPPassword string        `env:"SHOP_SMTP_PASSWORD" secret:"true"`
	From         string        `env:"SHOP_MAIL_FROM" envDefault:"shop@shop.local" help:"sender address of every message"`
	Timeout      time.Duration `env:"SHOP_SMTP_TIMEOUT" envDefault:"10s" help:"deadline of one SMTP delivery"`
}

// Load reads the environment (lookup is os.LookupEnv in production, a map in
// tests), applies defaults and validates. modules are the binary's modules,
// whose own settings (SHOP_DB_<MODULE>_URL, SHOP_CALL_KEY_<MODULE>) are read
// too; without them none is.
func Load(lookup func(string) (string, bool), modules ...string) (Config, error) {
	var c Config
	environ := map[string]string{}
	for _, name := range Names() {
		if v, ok := lookup(name); ok {
			environ[name] = v
		}
	}
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", nameParseErrors(err))
	}
	if err := c.loadModules(lookup, modules); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
		if c.Env == EnvProduction {
			c.Log.Format = "json"
		}
	}
	for i, m := range c.Topology.Modules {
		c.Topology.Modules[i] = strings.TrimSpace(m)
	}
	if c.Auth.CookieSecure == nil {
		secure := c.Env == EnvProduction
		c.Auth.CookieSecure = &secure
	}
	return c, errors.Join(retired(lookup), c.Validate())
}

// nameParseErrors rewrites the parser's errors, which name Go fields, to
// name the environment variables an operator actually sets.
func nameParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	byField := map[string]string{}
	walk(reflect.ValueOf(Config{}), func(f reflect.StructField, _ reflect.Value) {
		byField[f.Name] = f.Tag.Get("env")
	})
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && byField[pe.Name] != "" {
			out = append(out, fmt.Errorf("%s: cannot parse as %s: %w", byField[pe.Name], pe.Type, pe.Err))
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Names lists every environment variable the configuration reads.
func Names() []string {
	var names []string
	walk(reflect.ValueOf(Config{}), func(f reflect.StructField, _ reflect.Value) {
		names = append(names, f.Tag.Get("env"))
	})
	return append(names, CallKeyName(EdgeKey))
}

// Print writes the effective configuration, one NAME=value per line, with
// secrets masked.
func (c Config) Print(w io.Writer) error {
	var err error
	walk(reflect.ValueOf(c), func(f reflect.StructField, v reflect.Value) {
		if err != nil {
			return
		}
		value := format(v)
		switch f.Tag.Get("secret") {
		case "true":
			if value != "" {
				value = "********"
			}
		case "url":
			value = maskURL(value)
		case "urls":
			value = maskURLs(value)
		}
		_, err = fmt.Fprintln(w, printLine(f.Tag.Get("env"), value, f.Tag.Get("help")))
	})
	if err != nil {
		return err
	}
	return c.printModules(w)
}

// printLine is one setting as Print writes it.
func printLine(name, value, help string) string {
	line := fmt.Sprintf("%s=%s", name, value)
	if help != "" {
		line = fmt.Sprintf("%-60s # %s", line, help)
	}
	return line
}

func walk(v reflect.Value, fn func(reflect.StructField, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			walk(fv, fn)
			continue
		}
		if f.Tag.Get("env") != "" {
			fn(f, fv)
		}
	}
}

func format(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Pointer && v.IsNil():
		return ""
	case v.Kind() == reflect.Pointer:
		return fmt.Sprint(v.Elem().Interface())
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v.Interface())
	}
}

// maskURLs masks every URL of a comma-separated list, the user part
// wholly: a NATS URL's user may be a token.
func maskURLs(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = url.User("xxxxx")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// maskURL masks the password of a URL, or of a key=value connection
// string.
func maskURL(raw string) string {
	if !strings.Contains(raw, "://") {
		fields := strings.Fields(raw)
		for i, f := range fields {
			if strings.HasPrefix(f, "password=") {
				fields[i] = "password=xxxxx"
			}
		}
		return strings.Join(fields, " ")
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
