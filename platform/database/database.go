// Package database gives each module its own PostgreSQL access: one schema and
// one login role per module, so that a module's connection is refused on any
// other module's tables by the database itself. An owner connection (the
// DATABASE_URL) provisions the roles and schemas; after that every module
// talks to PostgreSQL through its own pgx pool, under gorm. A module logs in
// with a password derived from one secret (development, the monolith), or
// with a URL of its own (SHOP_DB_<MODULE>_URL): a process that has the URL of
// every module it hosts needs no owner, and can log in as no other module.
package database

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/tracing"
)

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// provisionLock serialises role and schema creation across replicas.
const provisionLock int64 = 0x73686f7001 // "shop" + 1

// Owner is the connection that provisions module roles and schemas.
type Owner struct {
	pool   *pgxpool.Pool
	cfg    config.DB
	url    string
	budget Budget
}

// OpenOwner connects with the owner URL and checks the connection. The
// connection budget cfg.MaxConns is split across modules, the modules this
// process will open (see Budget).
func OpenOwner(ctx context.Context, url string, cfg config.DB, modules []string) (*Owner, error) {
	budget, err := Split(cfg.MaxConns, modules)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pc.MaxConns = OwnerConns
	releaseIdle(pc, cfg.MaxConnIdleTime)
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", describe(pc.ConnConfig), err)
	}
	return &Owner{pool: pool, cfg: cfg, url: url, budget: budget}, nil
}

// releaseIdle closes a pool's connections once idle for idle: a shop at rest
// holds few connections of the server's max_connections, which other
// processes share. No connection is kept open for its own sake.
func releaseIdle(pc *pgxpool.Config, idle time.Duration) {
	pc.MinConns = 0
	pc.MaxConnIdleTime = idle
	pc.HealthCheckPeriod = max(idle/2, 50*time.Millisecond)
}

// Budget returns how the connection budget is split.
func (o *Owner) Budget() Budget { return o.budget }

// Config returns the database settings the owner was opened with.
func (o *Owner) Config() config.DB { return o.cfg }

// Close releases the owner connection.
func (o *Owner) Close() { o.pool.Close() }

// Pool exposes the owner pool (for tests and operator commands only).
func (o *Owner) Pool() *pgxpool.Pool { return o.pool }

// RoleName is the database role of a module.
func (o *Owner) RoleName(module string) string { return roleName(o.cfg, module) }

func roleName(cfg config.DB, module string) string { return cfg.RolePrefix + "_" + module }

// password derives a module role's password from the configured secret, so
// every replica computes the same one without storing it anywhere.
func (o *Owner) password(module string) string {
	_, password := RoleLogin(o.cfg, module)
	return password
}

// RoleLogin returns the role and password a module logs in with through
// the owner (see Open): the password is derived from SHOP_DB_ROLE_SECRET.
func RoleLogin(cfg config.DB, module string) (role, password string) {
	role = roleName(cfg, module)
	mac := hmac.New(sha256.New, []byte(cfg.RoleSecret))
	mac.Write([]byte(role))
	return role, hex.EncodeToString(mac.Sum(nil))[:40]
}

// WithLogin returns the connection string conn (a postgres:// URL or
// key=value pairs) with user and password in place of its own; an empty
// password leaves none.
func WithLogin(conn, user, password string) (string, error) {
	if !strings.Contains(conn, "://") {
		// Of repeated keys, the last one counts.
		kv := conn + " user=" + quoteValue(user)
		if password != "" {
			kv += " password=" + quoteValue(password)
		}
		return kv, nil
	}
	u, err := url.Parse(conn)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", errors.Unwrap(err))
	}
	u.User = url.User(user)
	if password != "" {
		u.User = url.UserPassword(user, password)
	}
	q := u.Query()
	if q.Has("user") || q.Has("password") {
		q.Del("user")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Provision makes sure each module's role and schema exist, that the role
// owns the schema and can reach nothing else, with the role's password
// derived from SHOP_DB_ROLE_SECRET. It is idempotent and safe when several
// replicas run it at once. The modules are provisioned together, in one
// transaction and one round trip of statements.
func (o *Owner) Provision(ctx context.Context, modules ...string) error {
	logins := make([]login, len(modules))
	for i, m := range modules {
		logins[i] = login{module: m, role: o.RoleName(m), password: o.password(m)}
	}
	return o.provision(ctx, logins...)
}

// ProvisionLogin provisions the module as Provision does, for the role and
// password of the module's own URL (SHOP_DB_<MODULE>_URL): the URL is the
// one record of a module's credentials, given to the processes hosting the
// module and to this operator step. A URL without a password leaves the
// role's password as it is. The URL must name the owner's database: the
// owner provisions nothing elsewhere (a module in a database of its own is
// provisioned with that database's owner).
func (o *Owner) ProvisionLogin(ctx context.Context, module, url string) error {
	own, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("module %s: parse its database URL: %w", module, err)
	}
	owner, err := pgx.ParseConfig(o.url)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	if own.Host != owner.Host || own.Port != owner.Port || own.Database != owner.Database {
		return fmt.Errorf("module %s: its URL names database %q at %s:%d, but the owner connection is to %q at %s:%d; "+
			"the owner provisions only its own database (provision a module kept elsewhere with that database's owner URL)",
			module, own.Database, own.Host, own.Port, owner.Database, owner.Host, owner.Port)
	}
	if own.User == "" || own.User == owner.User {
		return fmt.Errorf("module %s: its URL must name the module's own role (like %s), not the owner's", module, o.RoleName(module))
	}
	return o.provision(ctx, login{module: module, role: own.User, password: own.Password})
}

// login is a module's role and its password (empty: left as it is).
type login struct{ module, role, password string }

// statements are the statements that provision l (see Provision).
func (l login) statements() ([]string, error) {
	if !moduleName.MatchString(l.module) {
		return nil, fmt.Errorf("module name %q: want lower case letters, digits and _", l.module)
	}
	role := pgx.Identifier{l.role}.Sanitize()
	schema := pgx.Identifier{l.module}.Sanitize()
	alter := fmt.Sprintf(`ALTER ROLE %s WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`, role)
	if l.password != "" {
		alter += " PASSWORD " + quoteLiteral(l.password)
	}
	return []string{
		fmt.Sprintf(`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN
				CREATE ROLE %s LOGIN;
			END IF;
		END $$`, quoteLiteral(l.role), role),
		alter,
		fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s`, schema, role),
		fmt.Sprintf(`ALTER SCHEMA %s OWNER TO %s`, schema, role),
		fmt.Sprintf(`REVOKE ALL ON SCHEMA %s FROM PUBLIC`, schema),
	}, nil
}

// provision creates or updates each login's role (with its password,
// unless empty) and its module's schema, owned by the role; see Provision.
// Every statement goes in one simple-protocol batch (no parameters, so
// pgx sends them so), inside a transaction that holds the provisioning
// lock: the round trips stay three whatever the number of modules.
func (o *Owner) provision(ctx context.Context, logins ...login) error {
	// The advisory lock serialises replicas sharing this database.
	stmts := []string{fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, provisionLock)}
	for _, l := range logins {
		ss, err := l.statements()
		if err != nil {
			return err
		}
		stmts = append(stmts, ss...)
	}
	stmts = append(stmts, `REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
	batch := strings.Join(stmts, ";\n")
	// Roles are global to the server, though, so provisioning in another
	// database of the same server can still collide on the role's catalog
	// row; such a collision is retried.
	var err error
	for attempt := range 5 {
		err = pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, batch); err != nil {
				return fmt.Errorf("provision %s: %w", describeModules(logins), err)
			}
			return nil
		})
		if !concurrentCatalogUpdate(err) {
			return err
		}
		t := time.NewTimer(time.Duration(attempt+1) * 20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return err
}

// describeModules names the modules of logins for an error.
func describeModules(logins []login) string {
	names := make([]string, len(logins))
	for i, l := range logins {
		names[i] = l.module
	}
	if len(names) == 1 {
		return "module " + names[0]
	}
	return "modules " + strings.Join(names, ", ")
}

// concurrentCatalogUpdate reports the errors PostgreSQL raises when two
// sessions create or alter the same role at once.
func concurrentCatalogUpdate(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "XX000" && strings.Contains(pe.Message, "concurrently") ||
		pe.Code == "42710" || // role created by another session since the check
		pe.Code == "23505" || pe.Code == "40001" || pe.Code == "40P01"
}

// DB is one module's database access.
type DB struct {
	Module string
	Gorm   *gorm.DB
	Pool   *pgxpool.Pool
	sql    *sql.DB
}

// Open connects as the module's own role, with the password derived from
// SHOP_DB_ROLE_SECRET, the module's schema as the search path and the
// module's share of the connection budget. Statements are traced with tp
// (nil: not traced).
func (o *Owner) Open(ctx context.Context, module string, log *slog.Logger, tp trace.TracerProvider) (*DB, error) {
	share, err := o.budget.Conns(module)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(o.url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pc.ConnConfig.User = o.RoleName(module)
	pc.ConnConfig.Password = o.password(module)
	return open(ctx, pc, module, share, o.cfg, log, tp)
}

// OpenURL connects a module with its own URL (SHOP_DB_<MODULE>_URL): the
// role and password it names, the module's schema as the search path and
// conns connections at most. No owner is involved: a process serving on its
// modules' own URLs holds no other credentials.
func OpenURL(ctx context.Context, url, module string, conns int32, cfg config.DB, log *slog.Logger, tp trace.TracerProvider) (*DB, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse the database URL of %s: %w", module, err)
	}
	return open(ctx, pc, module, conns, cfg, log, tp)
}

// open connects a module's pool as pc's user, under gorm.
func open(ctx context.Context, pc *pgxpool.Config, module string, share int32, cfg config.DB, log *slog.Logger, tp trace.TracerProvider) (*DB, error) {
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	pc.ConnConfig.Tracer = statementTracer(module, tp)
	pc.ConnConfig.RuntimeParams["search_path"] = module
	pc.ConnConfig.RuntimeParams["application_name"] = "shop/" + module
	pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	pc.MaxConns = share
	releaseIdle(pc, cfg.MaxConnIdleTime)
	watchConns(pc, module, cfg, log)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database for %s: %w", module, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect as %s: %w", pc.ConnConfig.User, err)
	}
	// database/sql keeps up to half the budget idle instead of acquiring a
	// connection from the pool per query (OpenDBFromPool's default); the rest
	// stays with the pgx pool for modules' direct pgx queries, readiness pings
	// and migrations.
	sqlDB := stdlib.OpenDBFromPool(pool)
	sqlDB.SetMaxOpenConns(int(pc.MaxConns))
	sqlDB.SetMaxIdleConns(int(pc.MaxConns) / 2)
	sqlDB.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		SkipDefaultTransaction: true,
		QueryFields:            true, // name columns: SELECT * would also fetch columns rows do not map
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger:                 queryLog{log: log, slow: 200 * time.Millisecond},
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("gorm for %s: %w", module, err)
	}
	return &DB{Module: module, Gorm: g, Pool: pool, sql: sqlDB}, nil
}

// statementTracer makes a span of every statement the module's pool sends
// (gorm's, the module's own pgx queries, the statements sent with a
// COMMIT), named by its operation ("query INSERT"), with the statement's
// text and shop.module. Only a statement whose context carries a recording
// span gets one: the pipeline's polls and the sweepers' claims, which run
// outside any request or event, make none. Connects and acquisitions from
// the pool are not traced.
func statementTracer(module string, tp trace.TracerProvider) pgx.QueryTracer {
	return recordingOnly{otelpgx.NewTracer(otelpgx.WithTracerProvider(tracing.Or(tp)), otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithTracerAttributes(attribute.String("shop.module", module)), otelpgx.WithDisableAcquireTracer(),
		otelpgx.WithDisableConnectionDetailsInAttributes())}
}

// recordingOnly leaves out of the statements whose context carries no
// recording span the tracer's work for them: it makes no span for them
// either way, but keeps their start time in the context, two allocations
// a statement, for metrics the shop does not take from it. The other
// hooks (batches, copies, prepares, connects) are the tracer's.
type recordingOnly struct{ *otelpgx.Tracer }

func (t recordingOnly) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	return t.Tracer.TraceQueryStart(ctx, conn, data)
}

// TraceQueryEnd ends the statement's span: in the context when the start
// made one, and then recording.
func (t recordingOnly) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	t.Tracer.TraceQueryEnd(ctx, conn, data)
}

// watchConns keeps a module's pool from handing out, or waiting on, a
// connection its server no longer answers on, and frees its slot quickly:
//
//   - a connection that stays silent past the statement timeout and the
//     connect timeout while the client waits is closed (see silentConn);
//     without a statement timeout the server may be silent for as long as
//     a statement runs, and nothing is watched;
//   - a pooled connection idle for a while is pinged before use, and
//     discarded for another when the pong takes longer than the connect
//     timeout;
//   - the cancel request pgx sends, on a connection of its own, when it
//     closes a connection in the middle of a statement gets the connect
//     timeout rather than pgx's fixed 15 s: the pool counts the closing
//     connection until then, and during an outage every slot would be
//     held by one for 15 s after the outage ended.
func watchConns(pc *pgxpool.Config, module string, cfg config.DB, log *slog.Logger) {
	pc.PingTimeout = cfg.ConnectTimeout
	if dial := pc.ConnConfig.DialFunc; cfg.ConnectTimeout > 0 {
		pc.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err == nil {
				_ = conn.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
			}
			return conn, err
		}
	}
	pc.ConnConfig.AfterNetConnect = func(_ context.Context, _ *pgconn.Config, conn net.Conn) (net.Conn, error) {
		// A session's connection, not a cancel request's: its statements'
		// contexts (and the watch) bound it from now on.
		if err := conn.SetDeadline(time.Time{}); err != nil {
			return nil, err
		}
		if cfg.StatementTimeout <= 0 {
			return conn, nil
		}
		limit := cfg.StatementTimeout + cfg.ConnectTimeout
		return watchSilence(conn, limit, func() {
			log.Warn("closed a database connection whose server stayed silent", slog.String("module", module),
				slog.Duration("silent_for", limit))
		}), nil
	}
}

// Check pings the module's pool (a readiness check).
func (db *DB) Check(ctx context.Context) error { return db.Pool.Ping(ctx) }

// Close releases the module's connections.
func (db *DB) Close() {
	_ = db.sql.Close()
	db.Pool.Close()
}

// IsUniqueViolation reports whether err is a unique constraint violation, and
// names the constraint.
func IsUniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := range len(s) {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// quoteValue quotes a value of a key=value connection string.
func quoteValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("PostgreSQL at %s:%d (database %q, user %q)", c.Host, c.Port, c.Database, c.User)
}

// Connect opens a dedicated connection with the owner's credentials, outside
// any pool (for LISTEN, which holds its connection).
func (o *Owner) Connect(ctx context.Context) (*pgx.Conn, error) {
	return Connect(ctx, o.url, o.cfg)
}

// Connect opens a dedicated connection with url's credentials, outside any
// pool.
func Connect(ctx context.Context, url string, cfg config.DB) (*pgx.Conn, error) {
	c, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	c.ConnectTimeout = cfg.ConnectTimeout
	return pgx.ConnectConfig(ctx, c)
}
