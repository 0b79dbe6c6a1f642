package database_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// serveQuery answers GET / with query, failing as a module's store does
// (errs.Internal), behind the shop's error handler.
func serveQuery(t *testing.T, deadline time.Duration, query func(context.Context) error) *httptest.ResponseRecorder {
	t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = httpapi.ErrorHandler(slog.New(slog.DiscardHandler))
	e.GET("/", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), deadline)
		defer cancel()
		if err := query(ctx); err != nil {
			return errs.Internal(err, "load thing")
		}
		return c.NoContent(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

func wantBusy(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q, want 503 and 2; body %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
}

// holdAll takes n connections of the module's pool until the test ends.
func holdAll(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	for range n {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Release)
	}
}

// holdAllInTransactions opens as many transactions as the module's share,
// through gorm, until the test ends.
func holdAllInTransactions(t *testing.T, db *database.DB, share int32) {
	t.Helper()
	for range share {
		tx := db.Gorm.Begin()
		if tx.Error != nil {
			t.Fatal(tx.Error)
		}
		t.Cleanup(func() { tx.Rollback() })
	}
}

func TestConnectionRefusedForCapacityIs503(t *testing.T) {
	t.Parallel()
	dbURL, cfg := newDatabase(t)
	cfg.MaxConns = 9 // alpha's pool may open 3
	o := openOwner(t, dbURL, cfg)
	if err := o.Provision(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	db := openModule(t, o, "alpha")
	// Take the pool's idle connections, then let the role hold no more than
	// it has: the pool has room for another, which the server refuses (53300).
	for db.Pool.Stat().IdleConns() > 0 {
		holdAll(t, db.Pool, 1)
	}
	ctx := context.Background()
	var open int
	if err := o.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, o.RoleName("alpha")).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Pool().Exec(ctx, fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT %d", pgx.Identifier{o.RoleName("alpha")}.Sanitize(), open)); err != nil {
		t.Fatal(err)
	}
	var cause error
	wantBusy(t, serveQuery(t, 5*time.Second, func(ctx context.Context) error {
		_, cause = db.Pool.Exec(ctx, "SELECT 1")
		return cause
	}))
	if !errs.Overloaded(cause) || errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("query failed with %v, want the server's refusal (53300)", cause)
	}
}

func TestPoolWaitPastTheDeadlineIs503(t *testing.T) {
	t.Parallel()
	dbURL, cfg := newDatabase(t)
	o := openOwner(t, dbURL, cfg)
	if err := o.Provision(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	db := openModule(t, o, "alpha")
	share, _ := o.Budget().Of("alpha")
	holdAllInTransactions(t, db, share)
	// Through gorm (database/sql waits) and through pgx (the pool waits).
	wantBusy(t, serveQuery(t, 100*time.Millisecond, func(ctx context.Context) error {
		return db.Gorm.WithContext(ctx).Exec("SELECT 1").Error
	}))
	wantBusy(t, serveQuery(t, 100*time.Millisecond, func(ctx context.Context) error {
		_, err := db.Pool.Exec(ctx, "SELECT 1")
		return err
	}))
}

func TestModulePoolStaysWithinItsShare(t *testing.T) {
	t.Parallel()
	dbURL, cfg := newDatabase(t)
	cfg.MaxConns = 9 // owner 2, LISTEN 1, alpha 3, beta 3
	o := openOwner(t, dbURL, cfg)
	for _, m := range modules {
		if err := o.Provision(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	db := openModule(t, o, "alpha")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := db.Gorm.Exec("SELECT pg_sleep(0.05)").Error; err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := db.Pool.Stat().MaxConns(); got != 3 {
		t.Errorf("alpha's pool may hold %d connections, want its share 3", got)
	}
	if got := db.Pool.Stat().TotalConns(); got > 3 || got < 1 {
		t.Errorf("alpha's pool holds %d connections after 8 concurrent queries, want 1..3", got)
	}
}

func TestIdleConnectionsAreReleased(t *testing.T) {
	t.Parallel()
	dbURL, cfg := newDatabase(t)
	cfg.MaxConnIdleTime = 200 * time.Millisecond
	o := openOwner(t, dbURL, cfg)
	if err := o.Provision(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	db := openModule(t, o, "alpha")
	role := o.RoleName("alpha")
	open := func() int {
		var n int
		if err := o.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()`, role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := db.Gorm.Exec("SELECT pg_sleep(0.05)").Error; err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := open(); n < 2 {
		t.Fatalf("%d connections open after 3 concurrent queries, want at least 2", n)
	}
	eventstest.Eventually(t, 10*time.Second, "alpha's idle connections closed", func() bool { return open() == 0 })
}
