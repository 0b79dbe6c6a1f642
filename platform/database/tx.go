package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// txConn is a transaction run by hand on one dedicated connection. gorm sees
// it as a transaction (it implements gorm.TxCommitter, so nested
// Transaction calls become savepoints). Unlike database/sql's Tx it can send
// statements deferred to commit (DeferToCommit) in the same round trip as
// the COMMIT itself, so a write that also records an outbox row costs no
// extra round trip.
type txConn struct {
	db   *DB // the module database the transaction belongs to
	conn *sql.Conn

	mu         sync.Mutex
	pending    []deferred
	savepoints map[string]mark // savepoint name → what was registered when it was set
	hooks      []func()
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
	return t.conn.PrepareContext(ctx, query)
}

func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.conn.ExecContext(ctx, query, args...)
	if err == nil {
		t.trackSavepoint(query)
	}
	return res, err
}

func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.conn.QueryContext(ctx, query, args...)
}

func (t *txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(ctx, query, args...)
}

// trackSavepoint keeps deferred statements and after-commit functions in
// step with savepoints: a rollback to a savepoint also drops what was
// deferred or registered after it. gorm's PostgreSQL dialect issues exactly
// these statements for nested transactions.
func (t *txConn) trackSavepoint(query string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case strings.HasPrefix(query, "SAVEPOINT "):
		if t.savepoints == nil {
			t.savepoints = map[string]mark{}
		}
		t.savepoints[strings.TrimPrefix(query, "SAVEPOINT ")] = mark{pending: len(t.pending), hooks: len(t.hooks)}
	case strings.HasPrefix(query, "ROLLBACK TO SAVEPOINT "):
		m, ok := t.savepoints[strings.TrimPrefix(query, "ROLLBACK TO SAVEPOINT ")]
		if ok && m.pending <= len(t.pending) {
			t.pending = t.pending[:m.pending]
		}
		if ok && m.hooks <= len(t.hooks) {
			t.hooks = t.hooks[:m.hooks]
		}
	}
}

// Commit and Rollback exist for gorm's TxCommitter; InTx ends the
// transaction itself, so a caller inside fn cannot.
func (t *txConn) Commit() error { return errors.New("database: commit by returning from InTx") }
func (t *txConn) Rollback() error {
	return errors.New("database: roll back by returning an error from InTx")
}

// commit sends the deferred statements and COMMIT in one round trip (one
// pipelined batch), and reports a transaction PostgreSQL rolled back.
func (t *txConn) commit(ctx context.Context) error {
	return t.conn.Raw(func(dc any) error {
		conn := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		for _, d := range t.pending {
			b.Queue(d.sql, d.args...)
		}
		b.Queue("COMMIT")
		br := conn.SendBatch(ctx, b)
		var err error
		for range t.pending {
			if _, err = br.Exec(); err != nil {
				break
			}
		}
		if err == nil {
			var tag interface{ String() string }
			tag, err = br.Exec()
			if err == nil && tag.String() == "ROLLBACK" {
				err = errors.New("the transaction was rolled back: a statement in it failed")
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// rollback ends the transaction, whatever state it is in.
func (t *txConn) rollback(ctx context.Context) error {
	_, err := t.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}

type txKey struct{}

// InTx runs fn in one transaction on a connection of its own: committed when
// fn returns nil, rolled back otherwise (also when fn panics). Statements
// deferred with DeferToCommit travel with the COMMIT; functions registered
// with AfterCommit run after it. An InTx inside fn (same ctx) joins the
// transaction as a savepoint.
func (db *DB) InTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	// Only a transaction of this same database is joined: a context can carry
	// another module's transaction (an event handler calling its own store).
	if outer, ok := ctx.Value(txKey{}).(*txConn); ok && outer.db == db {
		return db.session(ctx, outer).Transaction(fn)
	}
	return db.run(ctx, "BEGIN", fn)
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
	return db.run(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", fn)
}

// run runs fn in a transaction that begin opens, on a connection of its own.
func (db *DB) run(ctx context.Context, begin string, fn func(tx *gorm.DB) error) (err error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
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
