package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// txConn is a transaction run by hand on one dedicated connection. gorm sees
// it as a transaction (it implements gorm.TxCommitter, so nested
// Transaction calls become savepoints). Unlike database/sql's Tx it sends
// its BEGIN with its first statement, not on its own, and can send
// statements deferred to commit (DeferToCommit) in the same round trip as
// the COMMIT itself, so a write that also records an outbox row costs no
// extra round trip: BEGIN, INSERT, outbox row and COMMIT take two.
type txConn struct {
	db   *DB // the module database the transaction belongs to
	conn *sql.Conn

	mu         sync.Mutex
	opening    string // the BEGIN, until it travels with the first statement
	pending    []deferred
	savepoints map[string]mark // savepoint name → what was registered when it was set
	unsent     []string        // SAVEPOINT statements not sent yet: they travel with the next statement
	hooks      []func()
	trips      int // round trips to the server, for tests
}

// mark is how many deferred statements and after-commit functions a
// transaction had when a savepoint was set.
type mark struct{ pending, hooks int }

type deferred struct {
	sql  string
	args []any
}

var _ gorm.TxCommitter = (*txConn)(nil)

func (t *txConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.conn.PrepareContext(ctx, query)
}

// ExecContext runs a statement in the transaction. A savepoint (gorm's
// PostgreSQL dialect sets one for each nested transaction) is not sent on
// its own: it travels with the next statement, in the same round trip, and
// a rollback to it before anything else was sent costs nothing.
func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.trackSavepoint(query, args) {
		return driver.RowsAffected(0), nil
	}
	if unsent := t.takeUnsent(); len(unsent) > 0 {
		return t.execAfter(ctx, unsent, query, args)
	}
	t.trips++
	return t.conn.ExecContext(ctx, query, args...)
}

func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	t.trips++
	return t.conn.QueryContext(ctx, query, args...)
}

func (t *txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	// A savepoint that failed to be set leaves the transaction aborted (or
	// the connection broken), so the query fails too, and its row says so.
	_ = t.flush(ctx)
	t.trips++
	return t.conn.QueryRowContext(ctx, query, args...)
}

// trackSavepoint keeps deferred statements and after-commit functions in
// step with savepoints: a rollback to a savepoint also drops what was
// deferred or registered after it. gorm's
// PostgreSQL dialect issues exactly these statements for nested
// transactions. It reports whether it took care of the statement itself: a
// SAVEPOINT is kept to be sent with the next statement, and a rollback to a
// savepoint still unsent only forgets it.
func (t *txConn) trackSavepoint(query string, args []any) bool {
	if len(args) > 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if name, ok := strings.CutPrefix(query, "SAVEPOINT "); ok {
		if t.savepoints == nil {
			t.savepoints = map[string]mark{}
		}
		t.savepoints[name] = mark{pending: len(t.pending), hooks: len(t.hooks)}
		t.unsent = append(t.unsent, query)
		return true
	}
	name, ok := strings.CutPrefix(query, "ROLLBACK TO SAVEPOINT ")
	if !ok {
		return false
	}
	if m, ok := t.savepoints[name]; ok {
		if m.pending <= len(t.pending) {
			t.pending = t.pending[:m.pending]
		}
		if m.hooks <= len(t.hooks) {
			t.hooks = t.hooks[:m.hooks]
		}
	}
	// The savepoints still unsent are the latest ones: a rollback to one of
	// them drops it and those after it; a rollback to one sent before them
	// drops them all, and is sent.
	if i := slices.Index(t.unsent, "SAVEPOINT "+name); i >= 0 {
		t.unsent = t.unsent[:i]
		return true
	}
	t.unsent = nil
	return false
}

// takeUnsent returns what must precede the next statement: the BEGIN, if it
// has not been sent yet, and the savepoints not sent yet.
func (t *txConn) takeUnsent() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	unsent := t.unsent
	if t.opening != "" {
		unsent = append([]string{t.opening}, unsent...)
		t.opening = ""
	}
	t.unsent = nil
	return unsent
}

// flush sends the savepoints still unsent, before a statement that cannot
// travel with them (a query, whose rows database/sql reads).
func (t *txConn) flush(ctx context.Context) error {
	unsent := t.takeUnsent()
	if len(unsent) == 0 {
		return nil
	}
	t.trips++
	_, err := t.conn.ExecContext(ctx, strings.Join(unsent, "; "))
	return err
}

// execAfter sends the unsent savepoints and then the statement, in one
// round trip (a pipeline).
func (t *txConn) execAfter(ctx context.Context, unsent []string, query string, args []any) (sql.Result, error) {
	stmts := make([]deferred, 0, len(unsent)+1)
	for _, sp := range unsent {
		stmts = append(stmts, deferred{sql: sp})
	}
	tag, err := t.send(ctx, append(stmts, deferred{sql: query, args: args}))
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// send runs statements in one round trip (a pipeline), up to the first that
// fails, and returns the last one's command tag.
func (t *txConn) send(ctx context.Context, stmts []deferred) (tag pgconn.CommandTag, err error) {
	t.trips++
	err = t.conn.Raw(func(dc any) error {
		b := &pgx.Batch{}
		for _, d := range stmts {
			b.Queue(d.sql, d.args...)
		}
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		var err error
		for range stmts {
			if tag, err = br.Exec(); err != nil {
				break
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return tag, err
}

// Commit and Rollback exist for gorm's TxCommitter; InTx ends the
// transaction itself, so a caller inside fn cannot.
func (t *txConn) Commit() error { return errors.New("database: commit by returning from InTx") }
func (t *txConn) Rollback() error {
	return errors.New("database: roll back by returning an error from InTx")
}

// commit sends the deferred statements and COMMIT in one round trip (one
// pipelined batch), and reports a transaction PostgreSQL rolled back. A
// transaction that never sent its BEGIN sends it with them, or, with
// nothing deferred, sends nothing at all.
func (t *txConn) commit(ctx context.Context) error {
	t.mu.Lock()
	opening := t.opening
	t.opening, t.unsent = "", nil // savepoints nothing used
	t.mu.Unlock()
	stmts := append(t.pending, deferred{sql: "COMMIT"})
	if opening != "" {
		if len(t.pending) == 0 {
			return nil
		}
		stmts = append([]deferred{{sql: opening}}, stmts...)
	}
	tag, err := t.send(ctx, stmts)
	if err == nil && tag.String() == "ROLLBACK" {
		err = errors.New("the transaction was rolled back: a statement in it failed")
	}
	return err
}

// rollback ends the transaction, whatever state it is in; one whose BEGIN
// was never sent has nothing to end.
func (t *txConn) rollback(ctx context.Context) error {
	t.mu.Lock()
	unopened := t.opening != ""
	t.mu.Unlock()
	if unopened {
		return nil
	}
	_, err := t.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}

type txKey struct{}

// InTx runs fn in one transaction on a connection of its own: committed when
// fn returns nil, rolled back otherwise (also when fn panics). The BEGIN
// travels with the first statement fn sends (a write in the same round trip;
// a query just before it). Statements
// deferred with DeferToCommit travel with the COMMIT; functions registered
// with AfterCommit run after it. An InTx inside fn (same ctx) joins the
// transaction as a savepoint.
func (db *DB) InTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	// Only a transaction of this same database is joined: a context can carry
	// another module's transaction (an event handler calling its own store).
	if outer, ok := ctx.Value(txKey{}).(*txConn); ok && outer.db == db {
		return db.session(ctx, outer).Transaction(fn)
	}
	return db.run(ctx, begin("BEGIN"), fn)
}

// InTxFrom is InTx for a transaction that opens with a query: query is sent
// with the BEGIN, in one round trip, and scan reads its rows before fn
// runs. An error from scan rolls the transaction back and is returned; fn
// does not run. (Inside a transaction of this database, the query runs in
// it and fn in a savepoint, as with InTx.)
func (db *DB) InTxFrom(ctx context.Context, query string, args []any, scan func(pgx.Rows) error, fn func(tx *gorm.DB) error) error {
	if outer, ok := ctx.Value(txKey{}).(*txConn); ok && outer.db == db {
		if err := outer.flush(ctx); err != nil {
			return err
		}
		outer.trips++
		err := outer.conn.Raw(func(dc any) error {
			rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			return scan(rows)
		})
		if err != nil {
			return err
		}
		return db.session(ctx, outer).Transaction(fn)
	}
	return db.run(ctx, func(ctx context.Context, t *txConn) error {
		t.trips++
		return t.conn.Raw(func(dc any) error {
			b := &pgx.Batch{}
			b.Queue("BEGIN")
			b.Queue(query, args...)
			br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			err = scan(rows)
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			return err
		})
	}, fn)
}

// begin opens a transaction with stmt, which is not sent on its own: it
// travels with the transaction's first statement, in the same round trip
// (a pipeline), or, for a query, just before it.
func begin(stmt string) func(context.Context, *txConn) error {
	return func(_ context.Context, t *txConn) error {
		t.opening = stmt
		return nil
	}
}

// ReadSnapshot runs fn, a read of several statements that returns one
// resource, in a read-only REPEATABLE READ transaction: every statement
// sees the database as it was at the first one, so a change committed
// meanwhile is seen whole or not at all (under READ COMMITTED each
// statement would see the latest commits, and an order's status could come
// from before a change and its timeline from after it). It costs two round
// trips more than the statements alone (BEGIN and COMMIT): where one
// statement can read the resource, that statement is the cheaper snapshot.
// Inside a transaction of this database (ctx of InTx) fn runs in that
// transaction and sees what it sees.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if outer, ok := ctx.Value(txKey{}).(*txConn); ok && outer.db == db {
		return fn(db.session(ctx, outer))
	}
	return db.run(ctx, begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"), fn)
}

// run runs fn in a transaction that start opens, on a connection of its
// own.
func (db *DB) run(ctx context.Context, start func(context.Context, *txConn) error, fn func(tx *gorm.DB) error) (err error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	t := &txConn{db: db, conn: conn}
	ctx = context.WithValue(ctx, txKey{}, t)
	committed := false
	defer func() {
		if !committed {
			if rerr := t.rollback(ctx); rerr != nil && err != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
			}
		}
	}()
	if err := start(ctx, t); err != nil {
		return err
	}
	if err := fn(db.session(ctx, t)); err != nil {
		return err
	}
	if err := t.commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	for _, h := range t.hooks {
		h()
	}
	return nil
}

// session is a gorm handle whose statements run in transaction t.
func (db *DB) session(ctx context.Context, t *txConn) *gorm.DB {
	g := db.Gorm.Session(&gorm.Session{NewDB: true, Context: ctx})
	g.Statement.ConnPool = t
	return g
}

func txOf(tx *gorm.DB) (*txConn, bool) {
	if tx == nil || tx.Statement == nil {
		return nil, false
	}
	t, ok := tx.Statement.ConnPool.(*txConn)
	return t, ok
}

// Holds reports whether tx is a transaction of db opened by InTx.
func (db *DB) Holds(tx *gorm.DB) bool {
	t, ok := txOf(tx)
	return ok && t.db == db
}

// AfterCommit registers fn to run once tx, a transaction opened by InTx, has
// committed (not if the savepoint it was registered under was rolled back);
// it reports false (and registers nothing) for any other tx.
func AfterCommit(tx *gorm.DB, fn func()) bool {
	t, ok := txOf(tx)
	if !ok {
		return false
	}
	t.mu.Lock()
	t.hooks = append(t.hooks, fn)
	t.mu.Unlock()
	return true
}

// DeferToCommit queues a statement to be sent with the COMMIT of tx, a
// transaction opened by InTx, in the same round trip; it reports false (and
// queues nothing) for any other tx. A failing deferred statement fails the
// commit. Use it for writes nothing in the transaction reads back, such as
// outbox rows.
func DeferToCommit(tx *gorm.DB, sql string, args ...any) bool {
	t, ok := txOf(tx)
	if !ok {
		return false
	}
	t.mu.Lock()
	t.pending = append(t.pending, deferred{sql: sql, args: args})
	t.mu.Unlock()
	return true
}
