package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// The event pipeline survives kill -9 anywhere: the real binary is stopped
// dead at each named point of the pipeline while a user registers, killed,
// restarted, and the welcome message then exists exactly once.
func TestCrashAtEveryPointLosesNothingAndDoublesNothing(t *testing.T) {
	t.Parallel()
	points := []string{
		"relay.before-forward",  // the publishing transaction committed; nothing dispatched yet
		"relay.after-forward",   // delivered to the inbox; the outbox does not know yet
		"handler.before-commit", // the handler ran inside its transaction, which never commits
		"handler.after-commit",  // the handler committed (with its inbox record)
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			// No bootstrap admin: the registration below is the only event.
			env := []string{"SHOP_EVENTS_POLL_INTERVAL=100ms", "SHOP_BOOTSTRAP_ADMIN_EMAIL=", "SHOP_BOOTSTRAP_ADMIN_PASSWORD="}
			s := startShop(t, append(env, "SHOP_EVENTS_CRASHPOINT="+point)...)
			reached := s.lines.await(func(line string) bool {
				return strings.Contains(line, "crashpoint reached") && strings.Contains(line, point)
			})
			s.must(http.StatusAccepted, s.call("POST", "/api/identity/register", "", map[string]any{
				"email": "crash@example.com", "password": "a long enough password", "name": "Crash Test"}))
			var userID string
			queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
				return conn.QueryRow(context.Background(), `SELECT id::text FROM identity.users WHERE email = 'crash@example.com'`).Scan(&userID)
			})
			var crashed string
			select {
			case crashed = <-reached:
			case <-time.After(30 * time.Second):
				t.Fatalf("crashpoint %s not reached; logs:\n%s", point, s.logs.String())
			}
			s.killProcess(s.processOf(crashed))

			s.start(env...)
			eventstest.Eventually(t, 30*time.Second, "the condition", func() bool { return welcomeCount(t, s.dbURL, userID) >= 1 })
			// Delivery is finished: the inbox holds the event as handled and
			// the outbox as forwarded, so nothing can apply it again.
			eventstest.Eventually(t, 30*time.Second, "the condition", func() bool { return pipelineIdle(t, s.dbURL) })
			if n := welcomeCount(t, s.dbURL, userID); n != 1 {
				t.Fatalf("%d welcome messages after a crash at %s, want exactly 1", n, point)
			}
			// The mailbox's unique event id would hide a second run of the
			// handler; the inbox shows it: one delivery, one committed attempt.
			var deliveries, attempts int
			queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
				return conn.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(attempts), 0) FROM notifications.event_inbox
					WHERE subscriber = 'notifications.welcome_email' AND payload->>'user_id' = $1 AND status = 'done'`, userID).
					Scan(&deliveries, &attempts)
			})
			if deliveries != 1 || attempts != 1 {
				t.Fatalf("inbox after a crash at %s: %d deliveries with %d committed attempts, want 1 and 1", point, deliveries, attempts)
			}
		})
	}
}

func welcomeCount(t *testing.T, url, userID string) int {
	t.Helper()
	var n int
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(),
			`SELECT count(*) FROM notifications.mailbox WHERE recipient_user_id = $1 AND kind = 'welcome'`, userID).Scan(&n)
	})
	return n
}

// pipelineIdle reports whether every committed event has been forwarded and
// handled.
func pipelineIdle(t *testing.T, url string) bool {
	t.Helper()
	var pending int
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM identity.event_outbox WHERE forwarded_at IS NULL) +
			(SELECT count(*) FROM notifications.event_inbox WHERE status <> 'done')`).Scan(&pending)
	})
	return pending == 0
}

// queryOwner runs fn on a connection as the database owner (the test reads
// across module schemas, which the modules themselves cannot).
func queryOwner(t testing.TB, url string, fn func(*pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := fn(conn); err != nil {
		t.Fatal(err)
	}
}
