// Package dbmove moves a module's schema to another PostgreSQL database:
// its tables, their rows (the outbox and inbox too), its sequences and its
// migration state, under the module's own role there.
//
// The schema is defined once, by the module's migrations: the target is
// provisioned and migrated to the source's version (a source at another
// version than this binary's is refused), then the rows are copied with
// COPY (binary) from one REPEATABLE READ snapshot of the source, under SHARE
// locks that make writers wait until the copy is done. Each table's row
// count and checksum (md5 over the md5 of every row, in order) is compared
// on both sides before the target commits; nothing is committed on a
// mismatch.
//
// Writes: the module's processes must be stopped. Move refuses while a
// session of the module's role is connected to the source (waiting a
// moment for those of a process that has just stopped), and once the target
// has committed it fences the source schema, in the snapshot's transaction,
// before any writer could run: the module's role gives up its privileges on
// it (its owner may do that, and nothing else needs more than ownership), so
// a process left on the old settings fails instead of writing where nobody
// reads. The schema and its rows stay, for a way back: the database owner's
// GRANT ALL ON SCHEMA <module> TO <role> undoes the fence.
package dbmove

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/migrate"
)

// Plan says what to move where.
type Plan struct {
	Module string
	// Source logs in as the module's role in the database the module is in.
	Source string
	// Target is the owner of the target database: it provisions the
	// module's role (the source's login) and schema there.
	Target string
	// Migrations are the module's own (migrations/<module>).
	Migrations fs.FS
	// Replace drops what the target holds in the module's schema; without
	// it a target whose schema holds rows is refused.
	Replace bool
	// Wait is how long the sessions of a process that has just stopped may
	// take to end.
	Wait   time.Duration
	Config config.DB
	Log    *slog.Logger
}

// Report is what a move did.
type Report struct {
	// TargetURL is the module's login in the target database: the setting
	// its processes switch to.
	TargetURL string
	Versions  []Version
	Tables    []TableSum
	Rows      int64
	// Role is the module's role, fenced off its source schema.
	Role string
	Took time.Duration
}

// Version is one migration version table's state, the same on both sides.
type Version struct {
	Table   string
	Version int64
}

// TableSum is a table's rows and checksum, the same on both sides.
type TableSum struct {
	Table string
	Sum
}

// Sum is a table's row count and the md5 of its rows' md5s, in order.
type Sum struct {
	Rows int64
	MD5  string
}

// versionTables are the migration state tables of a module's schema: the
// target's are written by migrating it, never copied.
var versionTables = []string{migrate.Table, events.SchemaTable}

// Move copies the module's schema as Plan says; see the package comment.
func Move(ctx context.Context, p Plan) (Report, error) {
	begin := time.Now()
	srcCfg, err := pgx.ParseConfig(p.Source)
	if err != nil {
		return Report{}, fmt.Errorf("the module's database URL: %w", err)
	}
	dstCfg, err := pgx.ParseConfig(p.Target)
	if err != nil {
		return Report{}, fmt.Errorf("--to: %w", err)
	}
	if srcCfg.Host == dstCfg.Host && srcCfg.Port == dstCfg.Port && srcCfg.Database == dstCfg.Database {
		return Report{}, fmt.Errorf("--to names database %q at %s:%d, where %s already is", dstCfg.Database, dstCfg.Host, dstCfg.Port, p.Module)
	}
	targetURL, err := database.WithLogin(p.Target, srcCfg.User, srcCfg.Password)
	if err != nil {
		return Report{}, err
	}
	src, err := connect(ctx, srcCfg, p.Config)
	if err != nil {
		return Report{}, fmt.Errorf("source database: %w", err)
	}
	defer src.Close(context.WithoutCancel(ctx))
	versions, err := sourceVersions(ctx, src, p)
	if err != nil {
		return Report{}, err
	}
	if err := awaitNoSessions(ctx, src, p); err != nil {
		return Report{}, err
	}
	dst, err := prepareTarget(ctx, p, targetURL)
	if err != nil {
		return Report{}, err
	}
	defer dst.Close()
	r := Report{TargetURL: targetURL, Versions: versions}
	if err := copySchema(ctx, src, dst, p, &r); err != nil {
		return Report{}, err
	}
	if err := checkVersions(ctx, dst.Pool, p.Module, versions); err != nil {
		return Report{}, err
	}
	r.Took = time.Since(begin)
	return r, nil
}

// connect opens one connection of the move's own, outside any pool, with
// the settings that make rows print the same on both sides.
func connect(ctx context.Context, c *pgx.ConnConfig, cfg config.DB) (*pgx.Conn, error) {
	c = c.Copy()
	if c.ConnectTimeout == 0 || c.ConnectTimeout > cfg.ConnectTimeout {
		c.ConnectTimeout = cfg.ConnectTimeout
	}
	c.RuntimeParams["application_name"] = "shop db move"
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("connect to %q at %s:%d as %s: %w", c.Database, c.Host, c.Port, c.User, err)
	}
	return conn, nil
}

// sourceVersions checks that the module's schema is in the source, at the
// latest version of each of its migration sets, applied completely, and
// returns those versions.
func sourceVersions(ctx context.Context, src *pgx.Conn, p Plan) ([]Version, error) {
	var exists bool
	if err := src.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, p.Module).Scan(&exists); err != nil {
		return nil, fmt.Errorf("source database: %w", err)
	}
	if !exists {
		return nil, fmt.Errorf("the source database has no schema %s", p.Module)
	}
	var usable bool
	if err := src.QueryRow(ctx, `SELECT has_schema_privilege($1, 'USAGE')`, p.Module).Scan(&usable); err != nil {
		return nil, fmt.Errorf("source database: %w", err)
	}
	if !usable {
		return nil, fmt.Errorf("the source's schema %s is fenced off its role: moved already", p.Module)
	}
	sets := map[string]fs.FS{migrate.Table: p.Migrations, events.SchemaTable: events.Schema()}
	var out []Version
	for _, table := range versionTables {
		want, err := migrate.Latest(sets[table])
		if err != nil {
			return nil, err
		}
		v, dirty, err := version(ctx, src, p.Module, table)
		if err != nil {
			return nil, fmt.Errorf("source database: %w", err)
		}
		if dirty || v != int64(want) {
			return nil, fmt.Errorf("%s's %s is at version %d (dirty %t) in the source, this binary's latest is %d: "+
				"move with the binary of the release that migrated it, or migrate it first (shop migrate up %s)", p.Module, table, v, dirty, want, p.Module)
		}
		out = append(out, Version{Table: table, Version: v})
	}
	return out, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// version reads a golang-migrate version table.
func version(ctx context.Context, q querier, schema, table string) (int64, bool, error) {
	var v int64
	var dirty bool
	err := q.QueryRow(ctx, `SELECT version, dirty FROM `+pgx.Identifier{schema, table}.Sanitize()+` LIMIT 1`).Scan(&v, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return v, dirty, err
}

// checkVersions holds the target's migration state to the source's.
func checkVersions(ctx context.Context, q querier, module string, want []Version) error {
	for _, w := range want {
		v, dirty, err := version(ctx, q, module, w.Table)
		if err != nil {
			return fmt.Errorf("target database: %w", err)
		}
		if dirty || v != w.Version {
			return fmt.Errorf("target database: %s's %s is at version %d (dirty %t), the source's at %d", module, w.Table, v, dirty, w.Version)
		}
	}
	return nil
}

// awaitNoSessions waits up to p.Wait until no other session of the
// module's role is connected to the source, and names them if some still
// are.
func awaitNoSessions(ctx context.Context, src *pgx.Conn, p Plan) error {
	deadline := time.Now().Add(p.Wait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		sessions, err := otherSessions(ctx, src)
		if err != nil {
			return fmt.Errorf("source database: %w", err)
		}
		if len(sessions) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d sessions of %s's role are connected to the source database (%s): stop every process hosting %s first; "+
				"its data must not change while it moves", len(sessions), p.Module, strings.Join(sessions, "; "), p.Module)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// otherSessions describes the sessions of the connection's role in its
// database, other than its own.
func otherSessions(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT format('pid %s, %s from %s', pid, coalesce(nullif(application_name, ''), 'no application name'),
		              coalesce(host(client_addr), 'a local socket'))
		FROM pg_stat_activity
		WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()
		ORDER BY pid`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// prepareTarget refuses a target whose module schema holds rows (or drops
// it, with Replace), provisions the module's role and schema there with
// the owner, and migrates it as the module.
func prepareTarget(ctx context.Context, p Plan, targetURL string) (*database.DB, error) {
	owner, err := database.OpenOwner(ctx, p.Target, p.Config, []string{p.Module})
	if err != nil {
		return nil, fmt.Errorf("target database: %w", err)
	}
	defer owner.Close()
	rows, err := schemaRows(ctx, owner.Pool(), p.Module)
	if err != nil {
		return nil, fmt.Errorf("target database: %w", err)
	}
	if rows > 0 && !p.Replace {
		return nil, fmt.Errorf("the target database's schema %s holds %d rows already: it is refused, unless --replace (which drops them) says otherwise", p.Module, rows)
	}
	if rows > 0 || p.Replace {
		if _, err := owner.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{p.Module}.Sanitize()+` CASCADE`); err != nil {
			return nil, fmt.Errorf("target database: drop schema %s: %w", p.Module, err)
		}
	}
	if err := owner.ProvisionLogin(ctx, p.Module, targetURL); err != nil {
		return nil, fmt.Errorf("target database: %w", err)
	}
	db, err := database.OpenURL(ctx, targetURL, p.Module, database.MinModuleConns, p.Config, p.Log, nil)
	if err != nil {
		return nil, fmt.Errorf("target database: %w", err)
	}
	if err := migrate.Up(ctx, db, p.Migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("target database: %w", err)
	}
	if err := events.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("target database: %w", err)
	}
	return db, nil
}

// schemaRows counts the rows of the schema's tables, its version tables
// aside (0 when there is no such schema).
func schemaRows(ctx context.Context, q querier, schema string) (int64, error) {
	tables, err := listTables(ctx, q, schema)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range tables {
		var c int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+t.ident(schema)).Scan(&c); err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// copySchema copies every table's rows and every sequence's state from one
// snapshot of the source, checks each table's count and checksum on both
// sides, commits the target, and then fences the source schema.
func copySchema(ctx context.Context, src *pgx.Conn, dst *database.DB, p Plan, r *Report) error {
	// Listed before the source's transaction begins: its first query takes
	// the snapshot, which must come after its locks.
	tables, err := listTables(ctx, src, p.Module)
	if err != nil {
		return fmt.Errorf("source database: %w", err)
	}
	conn, err := dst.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	defer conn.Release()
	stx, err := src.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("source database: %w", err)
	}
	defer func() { _ = stx.Rollback(context.WithoutCancel(ctx)) }()
	dtx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	defer func() { _ = dtx.Rollback(context.WithoutCancel(ctx)) }()
	if err := lockTables(ctx, stx, dtx, p.Module, tables); err != nil {
		return err
	}
	for _, t := range tables {
		began := time.Now()
		n, err := copyTable(ctx, stx.Conn().PgConn(), dtx.Conn().PgConn(), p.Module, t)
		if err != nil {
			return fmt.Errorf("copy %s.%s: %w", p.Module, t.Name, err)
		}
		p.Log.Info("copied", slog.String("table", t.Name), slog.Int64("rows", n), slog.Duration("took", time.Since(began)))
		r.Rows += n
	}
	if err := copySequences(ctx, stx, dtx, p.Module); err != nil {
		return err
	}
	began := time.Now()
	if r.Tables, err = compare(ctx, stx, dtx, p.Module, tables); err != nil {
		return err
	}
	p.Log.Info("compared", slog.Int("tables", len(tables)), slog.Duration("took", time.Since(began)))
	if err := dtx.Commit(ctx); err != nil {
		return fmt.Errorf("target database: commit: %w", err)
	}
	r.Role = src.Config().User
	if _, err := stx.Exec(ctx, `REVOKE ALL ON SCHEMA `+pgx.Identifier{p.Module}.Sanitize()+` FROM `+pgx.Identifier{r.Role}.Sanitize()); err != nil {
		return fmt.Errorf("the target holds the copy, but the source schema could not be fenced (stop anything writing there before starting %s on the target): %w", p.Module, err)
	}
	if err := stx.Commit(ctx); err != nil {
		return fmt.Errorf("the target holds the copy, but fencing the source schema failed (stop anything writing there before starting %s on the target): %w", p.Module, err)
	}
	return nil
}

// lockTables sets both transactions up: the settings rows print with,
// and the source's locks, taken before its snapshot (LOCK and SET take
// none). Both sides must have the tables alike; the target's are emptied of
// what migrations may have inserted, which the source holds too.
func lockTables(ctx context.Context, stx, dtx pgx.Tx, schema string, tables []table) error {
	for _, tx := range []pgx.Tx{stx, dtx} {
		if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';
			SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
	}
	if len(tables) == 0 {
		return nil
	}
	idents := make([]string, len(tables))
	for i, t := range tables {
		idents[i] = t.ident(schema)
	}
	// Writers still in a transaction finish first; none starts until the
	// move ends.
	if _, err := stx.Exec(ctx, `LOCK TABLE `+strings.Join(idents, ", ")+` IN SHARE MODE`); err != nil {
		return fmt.Errorf("source database: lock %s's tables: %w", schema, err)
	}
	if again, err := listTables(ctx, stx, schema); err != nil || !slices.EqualFunc(tables, again, table.same) {
		return fmt.Errorf("source database: the tables of schema %s changed while it was locked (%v)", schema, err)
	}
	theirs, err := listTables(ctx, dtx, schema)
	if err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	if !slices.EqualFunc(tables, theirs, table.same) {
		return fmt.Errorf("the tables of schema %s differ after migrating the target: source %v, target %v (a table or column the migrations do not make?)", schema, tables, theirs)
	}
	if _, err := dtx.Exec(ctx, `TRUNCATE `+strings.Join(idents, ", ")); err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	return nil
}

// copyTable streams one table's rows from the source's snapshot into the
// target with COPY, in PostgreSQL's binary format.
func copyTable(ctx context.Context, src, dst *pgconn.PgConn, schema string, t table) (int64, error) {
	cols := t.columnList()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := src.CopyTo(ctx, pw, `COPY (SELECT `+cols+` FROM `+t.ident(schema)+`) TO STDOUT (FORMAT binary)`)
		pw.CloseWithError(err)
		done <- err
	}()
	tag, err := dst.CopyFrom(ctx, pr, `COPY `+t.ident(schema)+` (`+cols+`) FROM STDIN (FORMAT binary)`)
	pr.CloseWithError(errors.New("the target stopped reading"))
	if srcErr := <-done; srcErr != nil && err == nil {
		err = srcErr
	}
	return tag.RowsAffected(), err
}

// copySequences sets each sequence of the target's schema where the
// source's is.
func copySequences(ctx context.Context, stx, dtx pgx.Tx, schema string) error {
	rows, err := stx.Query(ctx, `SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = $1 ORDER BY sequencename`, schema)
	if err != nil {
		return fmt.Errorf("source database: sequences: %w", err)
	}
	type seq struct {
		Name string
		Last *int64
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[seq])
	if err != nil {
		return fmt.Errorf("source database: sequences: %w", err)
	}
	for _, s := range seqs {
		name := pgx.Identifier{schema, s.Name}.Sanitize()
		if s.Last == nil {
			continue // never used: the target's fresh one is the same
		}
		if _, err := dtx.Exec(ctx, `SELECT setval($1::regclass, $2, true)`, name, *s.Last); err != nil {
			return fmt.Errorf("target database: sequence %s: %w", name, err)
		}
	}
	return nil
}

// compare sums every table on both sides and fails on the first that
// differs.
func compare(ctx context.Context, stx, dtx pgx.Tx, schema string, tables []table) ([]TableSum, error) {
	var out []TableSum
	for _, t := range tables {
		want, err := checksum(ctx, stx, schema, t)
		if err != nil {
			return nil, fmt.Errorf("source database: %w", err)
		}
		got, err := checksum(ctx, dtx, schema, t)
		if err != nil {
			return nil, fmt.Errorf("target database: %w", err)
		}
		if got != want {
			return nil, fmt.Errorf("%s.%s differs after the copy: source %d rows (md5 %s), target %d rows (md5 %s); nothing was committed",
				schema, t.Name, want.Rows, want.MD5, got.Rows, got.MD5)
		}
		out = append(out, TableSum{Table: t.Name, Sum: want})
	}
	return out, nil
}

// checksum counts a table's rows and hashes them: the md5 of every row's
// text, sorted, hashed again. Sorting by the hashes needs no key and
// depends on no collation.
func checksum(ctx context.Context, q querier, schema string, t table) (Sum, error) {
	var s Sum
	err := q.QueryRow(ctx, `SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE "C"), ''))
		FROM (SELECT md5(r::text) AS h FROM `+t.ident(schema)+` r) rows`).Scan(&s.Rows, &s.MD5)
	return s, err
}

// table is a table of a module's schema and the columns a copy writes
// (generated ones are computed again on the target).
type table struct {
	Name    string
	Columns []string
}

func (t table) ident(schema string) string { return pgx.Identifier{schema, t.Name}.Sanitize() }

func (t table) columnList() string {
	quoted := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(quoted, ", ")
}

func (t table) same(o table) bool { return t.Name == o.Name && slices.Equal(t.Columns, o.Columns) }

func (t table) String() string { return t.Name + "(" + strings.Join(t.Columns, ",") + ")" }

// listTables lists the schema's tables but its version tables, each
// after the tables its foreign keys refer to, so that the target's
// constraints hold as rows arrive.
func listTables(ctx context.Context, q querier, schema string) ([]table, error) {
	rows, err := q.Query(ctx, `
		SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = ''),
		       coalesce((SELECT array_agg(DISTINCT p.relname::text) FROM pg_constraint f JOIN pg_class p ON p.oid = f.confrelid
		                 WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> ALL ($2)
		GROUP BY c.oid, c.relname
		ORDER BY c.relname`, schema, versionTables)
	if err != nil {
		return nil, err
	}
	type row struct {
		Name    string
		Columns []string
		Refers  []string
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, err
	}
	// Parents first: repeatedly take the tables whose parents are placed.
	var out []table
	placed := map[string]bool{}
	for len(all) > 0 {
		before := len(all)
		all = slices.DeleteFunc(all, func(r row) bool {
			for _, p := range r.Refers {
				if !placed[p] {
					return false
				}
			}
			out = append(out, table{Name: r.Name, Columns: r.Columns})
			placed[r.Name] = true
			return true
		})
		if len(all) == before {
			return nil, fmt.Errorf("the foreign keys of schema %s's tables form a cycle (%v)", schema, all)
		}
	}
	return out, nil
}
