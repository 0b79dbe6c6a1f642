package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

const insertOutbox = `INSERT INTO event_outbox (id, type, key, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)`

func outboxRow(typ string) []any {
	return []any{uuid.NewString(), typ, "k", []byte(`{}`), time.Now()}
}

func countOutbox(t *testing.T, db *database.DB, typ string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM event_outbox WHERE type = $1`, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Statements deferred to commit are written with it, after-commit hooks run
// only after it, and nothing of a failed transaction remains.
func TestInTxDeferredStatementsAndHooks(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	ctx := context.Background()

	hooked := false
	err := db.InTx(ctx, func(tx *gorm.DB) error {
		if !database.DeferToCommit(tx, insertOutbox, outboxRow("t.committed.v1")...) {
			t.Fatal("DeferToCommit refused an InTx transaction")
		}
		database.AfterCommit(tx, func() { hooked = true })
		if n := countOutbox(t, db, "t.committed.v1"); n != 0 {
			t.Errorf("deferred row visible before commit (%d)", n)
		}
		return nil
	})
	if err != nil || !hooked || countOutbox(t, db, "t.committed.v1") != 1 {
		t.Fatalf("commit: err=%v hooked=%v rows=%d", err, hooked, countOutbox(t, db, "t.committed.v1"))
	}

	hooked = false
	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx *gorm.DB) error {
		database.DeferToCommit(tx, insertOutbox, outboxRow("t.failed.v1")...)
		database.AfterCommit(tx, func() { hooked = true })
		return boom
	})
	if !errors.Is(err, boom) || hooked || countOutbox(t, db, "t.failed.v1") != 0 {
		t.Fatalf("failed tx: err=%v hooked=%v rows=%d", err, hooked, countOutbox(t, db, "t.failed.v1"))
	}
}

// A rollback to a savepoint also drops what was deferred after it: a failed
// nested step (an event handler's) must not publish.
func TestInTxSavepointRollbackDropsDeferred(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	err := db.InTx(context.Background(), func(tx *gorm.DB) error {
		database.DeferToCommit(tx, insertOutbox, outboxRow("t.outer.v1")...)
		inner := tx.Transaction(func(htx *gorm.DB) error {
			database.DeferToCommit(htx, insertOutbox, outboxRow("t.inner.v1")...)
			return errors.New("handler failed")
		})
		if inner == nil {
			t.Fatal("inner transaction did not fail")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if countOutbox(t, db, "t.outer.v1") != 1 || countOutbox(t, db, "t.inner.v1") != 0 {
		t.Fatalf("outer=%d inner=%d, want 1 and 0", countOutbox(t, db, "t.outer.v1"), countOutbox(t, db, "t.inner.v1"))
	}
}

// A deferred statement that fails fails the commit, and takes the rest of the
// transaction with it.
func TestInTxFailingDeferredStatementRollsBackEverything(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	err := db.InTx(context.Background(), func(tx *gorm.DB) error {
		if err := tx.Exec(insertOutbox, outboxRow("t.direct.v1")...).Error; err != nil {
			return err
		}
		database.DeferToCommit(tx, `INSERT INTO event_outbox (id) VALUES (NULL)`) // violates NOT NULL
		return nil
	})
	if err == nil {
		t.Fatal("commit succeeded with a failing deferred statement")
	}
	if n := countOutbox(t, db, "t.direct.v1"); n != 0 {
		t.Fatalf("%d rows of the failed transaction remain", n)
	}
}

// A panic inside fn rolls back and leaves no connection inside a transaction.
func TestInTxPanicRollsBack(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	func() {
		defer func() { _ = recover() }()
		_ = db.InTx(context.Background(), func(tx *gorm.DB) error {
			tx.Exec(insertOutbox, outboxRow("t.panic.v1")...)
			panic("handler bug")
		})
	}()
	if n := countOutbox(t, db, "t.panic.v1"); n != 0 {
		t.Fatalf("%d rows of the panicking transaction remain", n)
	}
	for range 20 { // every pooled connection is usable again
		if err := db.InTx(context.Background(), func(tx *gorm.DB) error { return tx.Exec(`SELECT 1`).Error }); err != nil {
			t.Fatal(err)
		}
	}
}

// A transaction of one module's database is never joined by another's: the
// context may carry it across a call into other code.
func TestInTxJoinsOnlyItsOwnDatabase(t *testing.T) {
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog", "identity")
	ctx := context.Background()
	cat, err := dbs.Open(ctx, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := dbs.Open(ctx, "identity")
	if err != nil {
		t.Fatal(err)
	}
	err = cat.InTx(ctx, func(tx *gorm.DB) error {
		inner := tx.Statement.Context
		return ids.InTx(inner, func(itx *gorm.DB) error {
			var schema string
			if err := itx.Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil {
				return err
			}
			if schema != "identity" {
				t.Errorf("identity's InTx ran on %s's connection", schema)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A ReadSnapshot's statements all see the database as it was at its first
// one, whatever commits meanwhile; it writes nothing; inside InTx it reads
// in that transaction, its uncommitted writes included.
func TestReadSnapshot(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	ctx := context.Background()
	count := func(tx *gorm.DB, typ string) int {
		t.Helper()
		var n int
		if err := tx.Raw(`SELECT count(*) FROM event_outbox WHERE type = ?`, typ).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		before := count(tx, "t.meanwhile.v1")
		if _, err := db.Pool.Exec(ctx, insertOutbox, outboxRow("t.meanwhile.v1")...); err != nil {
			t.Fatal(err)
		}
		if n := countOutbox(t, db, "t.meanwhile.v1"); n != before+1 {
			t.Fatalf("the commit is not visible outside the snapshot: %d rows, want %d", n, before+1)
		}
		if after := count(tx, "t.meanwhile.v1"); after != before {
			t.Errorf("the snapshot saw a commit made after its first statement: %d rows, then %d", before, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO event_outbox (id, type, key, payload, occurred_at) VALUES (?, ?, ?, ?, ?)`,
			outboxRow("t.written.v1")...).Error
	})
	if err == nil || countOutbox(t, db, "t.written.v1") != 0 {
		t.Errorf("a write in ReadSnapshot: %v, %d rows; want an error and none", err, countOutbox(t, db, "t.written.v1"))
	}

	err = db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO event_outbox (id, type, key, payload, occurred_at) VALUES (?, ?, ?, ?, ?)`,
			outboxRow("t.own.v1")...).Error; err != nil {
			return err
		}
		return db.ReadSnapshot(tx.Statement.Context, func(r *gorm.DB) error {
			if n := count(r, "t.own.v1"); n != 1 {
				t.Errorf("ReadSnapshot inside InTx sees %d of the transaction's rows, want 1", n)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A savepoint (a nested transaction's) travels with the statement after it:
// setting one costs no round trip of its own, nor does rolling back to one
// before anything else was sent. A statement that fails in the round trip
// that set its savepoint is undone alone by the rollback to it.
func TestInTxSavepointsTravelWithTheNextStatement(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	err := db.InTx(context.Background(), func(tx *gorm.DB) error {
		if err := tx.Exec(insertOutbox, outboxRow("t.before.v1")...).Error; err != nil {
			return err
		}
		before := database.Trips(tx)
		if err := tx.Transaction(func(htx *gorm.DB) error {
			return htx.Exec(insertOutbox, outboxRow("t.nested.v1")...).Error
		}); err != nil {
			return err
		}
		if got := database.Trips(tx) - before; got != 1 {
			t.Errorf("a savepoint and an insert took %d round trips, want 1", got)
		}
		before = database.Trips(tx)
		failed := tx.Transaction(func(htx *gorm.DB) error {
			return htx.Exec(`INSERT INTO event_outbox (id) VALUES (NULL)`).Error // violates NOT NULL
		})
		if failed == nil {
			t.Error("the failing nested insert succeeded")
		}
		// The savepoint and the insert, then the rollback to it.
		if got := database.Trips(tx) - before; got != 2 {
			t.Errorf("a failing nested insert took %d round trips, want 2", got)
		}
		before = database.Trips(tx)
		if err := tx.Transaction(func(htx *gorm.DB) error { return errors.New("nothing sent") }); err == nil {
			t.Error("the nested transaction did not fail")
		}
		if got := database.Trips(tx) - before; got != 0 {
			t.Errorf("a nested transaction that sent nothing took %d round trips, want 0", got)
		}
		return tx.Exec(insertOutbox, outboxRow("t.after.v1")...).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]int{"t.before.v1": 1, "t.nested.v1": 1, "t.after.v1": 1} {
		if n := countOutbox(t, db, typ); n != want {
			t.Errorf("%s: %d rows, want %d", typ, n, want)
		}
	}
}

// InTxFrom sends its first query with the BEGIN: fn starts after one round
// trip, with the query's rows read; an error from reading them rolls back
// without running fn.
func TestInTxFromOpensWithItsQuery(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	ctx := context.Background()
	var got []int
	scan := func(rows pgx.Rows) (err error) {
		got, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	}
	err := db.InTxFrom(ctx, `SELECT generate_series(1, $1)`, []any{3}, scan, func(tx *gorm.DB) error {
		if n := database.Trips(tx); n != 1 {
			t.Errorf("fn started after %d round trips, want 1", n)
		}
		if len(got) != 3 || got[2] != 3 {
			t.Errorf("rows %v, want 1, 2, 3", got)
		}
		return tx.Exec(insertOutbox, outboxRow("t.from.v1")...).Error
	})
	if err != nil || countOutbox(t, db, "t.from.v1") != 1 {
		t.Fatalf("err=%v rows=%d", err, countOutbox(t, db, "t.from.v1"))
	}

	stop := errors.New("nothing to do")
	ran := false
	err = db.InTxFrom(ctx, `INSERT INTO event_outbox (id, type, key, payload, occurred_at) VALUES ($1, 't.scanned.v1', 'k', '{}', now()) RETURNING 1`,
		[]any{uuid.NewString()}, func(pgx.Rows) error { return stop }, func(*gorm.DB) error { ran = true; return nil })
	if !errors.Is(err, stop) || ran || countOutbox(t, db, "t.scanned.v1") != 0 {
		t.Fatalf("err=%v ran=%v rows=%d, want the scan's error, fn not run and the insert rolled back", err, ran, countOutbox(t, db, "t.scanned.v1"))
	}
}

// The BEGIN travels with the transaction's first statement: a transaction
// whose first statement is a write has sent one round trip after it, not
// two. One that sends nothing until its COMMIT sends the BEGIN with its
// deferred statements; one that sends nothing at all, or fails before
// sending anything, costs no round trip and leaves the connection fit for
// the next.
func TestInTxSendsItsBeginWithTheFirstStatement(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "catalog")
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(insertOutbox, outboxRow("t.first.v1")...).Error; err != nil {
			return err
		}
		if n := database.Trips(tx); n != 1 {
			t.Errorf("the BEGIN and a first insert took %d round trips, want 1", n)
		}
		// Still one transaction: a failure now undoes the first insert.
		return errors.New("undo")
	})
	if err == nil || countOutbox(t, db, "t.first.v1") != 0 {
		t.Fatalf("err=%v rows=%d, want the failure and the first insert undone", err, countOutbox(t, db, "t.first.v1"))
	}

	if err := db.InTx(ctx, func(tx *gorm.DB) error {
		if !database.DeferToCommit(tx, insertOutbox, outboxRow("t.deferred.v1")...) {
			t.Error("DeferToCommit refused a transaction of InTx")
		}
		return nil
	}); err != nil || countOutbox(t, db, "t.deferred.v1") != 1 {
		t.Fatalf("err=%v rows=%d, want the deferred insert committed", err, countOutbox(t, db, "t.deferred.v1"))
	}

	stop := errors.New("nothing sent")
	for range 3 { // the connections go back to the pool outside any transaction
		if err := db.InTx(ctx, func(*gorm.DB) error { return nil }); err != nil {
			t.Fatalf("an empty transaction: %v", err)
		}
		if err := db.InTx(ctx, func(*gorm.DB) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("a transaction failing before sending anything: %v, want its own error", err)
		}
	}
	var level string
	err = db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT current_setting('transaction_isolation')`).Scan(&level).Error
	})
	if err != nil || level != "repeatable read" {
		t.Fatalf("ReadSnapshot after them: %v, isolation %q", err, level)
	}
}
