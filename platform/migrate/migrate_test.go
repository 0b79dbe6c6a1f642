package migrate_test

import (
	"context"
	"log/slog"
	"maps"
	"testing"
	"testing/fstest"
	"time"

	mdatabase "github.com/golang-migrate/migrate/v4/database"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/migrate"
)

var alphaMigrations = fstest.MapFS{
	"0001_init.up.sql":   {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY);`)},
	"0001_init.down.sql": {Data: []byte(`DROP TABLE things;`)},
	"0002_seed.up.sql":   {Data: []byte(`INSERT INTO things VALUES (1);`)},
	"0002_seed.down.sql": {Data: []byte(`DELETE FROM things;`)},
	"0005_more.up.sql":   {Data: []byte(`ALTER TABLE things ADD COLUMN name text;`)},
	"0005_more.down.sql": {Data: []byte(`ALTER TABLE things DROP COLUMN name;`)},
}

// openAlpha provisions module alpha, under a role prefix of its own, in a
// fresh empty database; both are dropped when the test ends.
func openAlpha(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	cfg := dbtest.Config()
	cfg.RolePrefix = dbtest.RolePrefix(t, "alpha")
	cfg.MaxConns = dbtest.BudgetFor(1)
	owner := dbtest.OpenOwner(t, dbtest.NewEmptyURL(t), cfg, []string{"alpha"})
	if err := owner.Provision(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	db, err := owner.Open(ctx, "alpha", slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestUpDownState(t *testing.T) {
	t.Parallel()
	db := openAlpha(t)
	state := func(wantVersion uint) {
		t.Helper()
		st, err := migrate.State(db, alphaMigrations)
		if err != nil {
			t.Fatalf("State: %v", err)
		}
		want := migrate.Status{Module: "alpha", Version: wantVersion, Latest: 5}
		if st != want {
			t.Errorf("State = %+v, want %+v", st, want)
		}
	}
	rows := func() int {
		t.Helper()
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM things`).Scan(&n); err != nil {
			t.Fatalf("count things: %v", err)
		}
		return n
	}

	state(0)
	if err := migrate.Up(context.Background(), db, alphaMigrations); err != nil {
		t.Fatalf("Up: %v", err)
	}
	state(5)
	if n := rows(); n != 1 {
		t.Errorf("%d rows after Up, want 1", n)
	}
	if err := migrate.Up(context.Background(), db, alphaMigrations); err != nil {
		t.Errorf("second Up (no change) = %v, want nil", err)
	}
	state(5)

	if err := migrate.Down(db, alphaMigrations); err != nil {
		t.Fatalf("Down: %v", err)
	}
	state(2)
	if err := migrate.Down(db, alphaMigrations); err != nil {
		t.Fatalf("Down: %v", err)
	}
	state(1)
	if n := rows(); n != 0 {
		t.Errorf("%d rows after reverting the seed, want 0", n)
	}
	if err := migrate.Down(db, alphaMigrations); err != nil {
		t.Fatalf("Down: %v", err)
	}
	state(0)
	if _, err := db.Pool.Exec(context.Background(), `SELECT 1 FROM things`); err == nil {
		t.Error("things still exists after reverting every migration")
	}
	if err := migrate.Up(context.Background(), db, alphaMigrations); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	state(5)
}

func TestUpReportsBrokenMigration(t *testing.T) {
	t.Parallel()
	db := openAlpha(t)
	broken := fstest.MapFS{
		"0001_init.up.sql":   {Data: []byte(`CREATE TABLE things (id int PRIMARY KEY);`)},
		"0001_init.down.sql": {Data: []byte(`DROP TABLE things;`)},
		"0002_bad.up.sql":    {Data: []byte(`CREATE TABLE oops (id no_such_type);`)},
		"0002_bad.down.sql":  {Data: []byte(`DROP TABLE oops;`)},
	}
	if err := migrate.Up(context.Background(), db, broken); err == nil {
		t.Fatal("Up with a broken migration = nil error")
	}
	st, err := migrate.State(db, broken)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 2 || !st.Dirty || st.Latest != 2 {
		t.Errorf("State = %+v, want version 2 dirty, latest 2", st)
	}
}

// A schema at the latest version is migrated with one read of its version
// table: Up does not wait for golang-migrate's lock, which a replica
// applying migrations holds (here, another session).
func TestUpOnACurrentSchemaTakesNoLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openAlpha(t)
	if err := migrate.Up(ctx, db, alphaMigrations); err != nil {
		t.Fatal(err)
	}
	var database string
	if err := db.Pool.QueryRow(ctx, `SELECT current_database()`).Scan(&database); err != nil {
		t.Fatal(err)
	}
	lock, err := mdatabase.GenerateAdvisoryLockId(database, "alpha", migrate.Table)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lock) }()
	// Were the lock taken, Up would wait for as long as the other session
	// holds it: the bound below only turns that into a failure.
	done := make(chan error, 1)
	go func() { done <- migrate.Up(ctx, db, alphaMigrations) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Up on a current schema while the migration lock is held = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		_, _ = holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lock)
		<-done
		t.Fatal("Up on a current schema waited for the migration lock")
	}

	// A pending migration still goes through golang-migrate, and its lock.
	more := fstest.MapFS{"0006_more.up.sql": {Data: []byte(`ALTER TABLE things ADD COLUMN note text;`)},
		"0006_more.down.sql": {Data: []byte(`ALTER TABLE things DROP COLUMN note;`)}}
	maps.Copy(more, alphaMigrations)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lock); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Up(ctx, db, more); err != nil {
		t.Fatal(err)
	}
	if st, err := migrate.State(db, more); err != nil || st.Version != 6 || st.Dirty {
		t.Errorf("State after the pending migration = %+v, %v; want version 6, clean", st, err)
	}
}
