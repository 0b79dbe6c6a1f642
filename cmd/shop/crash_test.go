package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/natstest"
)

// The event pipeline survives kill -9 anywhere, on either transport: the
// real binary is stopped dead at each named point of the pipeline while a
// user registers, killed, restarted, and the welcome message then exists
// exactly once. With the nats transport the points are those of its relay
// (publishing to the stream instead of the inbox) and of its consumer,
// against an embedded NATS server that outlives the shop.
func TestCrashAtEveryPointLosesNothingAndDoublesNothing(t *testing.T) {
	t.Parallel()
	points := []string{
		"relay.before-forward",  // the publishing transaction committed; nothing dispatched yet
		"relay.after-forward",   // delivered to the inbox (nats: stored in the stream); the outbox does not know yet
		"handler.before-commit", // the handler ran inside its transaction, which never commits
		"handler.after-commit",  // the handler committed (with its inbox record)
	}
	transports := []struct {
		name   string
		points []string
	}{
		{config.EventsPostgres, points},
		{config.EventsNATS, append(slices.Clone(points),
			"consumer.after-commit", // in the inbox; the broker has no ack and delivers it again
		)},
	}
	if e2eTopology.Distributed() {
		// Between processes events go over NATS only.
		transports = transports[1:]
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			for _, point := range tr.points {
				t.Run(point, func(t *testing.T) {
					t.Parallel()
					crashAndRecover(t, tr.name, point)
				})
			}
		})
	}
}

// crashAndRecover registers a user on a shop that stops dead at point,
// kills it, starts it again and checks that the welcome message was
// delivered exactly once and that the pipeline has nothing left to do.
func crashAndRecover(t *testing.T, transport, point string) {
	t.Helper()
	// No bootstrap admin: the registration below is the only event.
	env := []string{"SHOP_EVENTS_POLL_INTERVAL=100ms", "SHOP_BOOTSTRAP_ADMIN_EMAIL=", "SHOP_BOOTSTRAP_ADMIN_PASSWORD="}
	idle := pipelineIdle
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: e2eTopology}
	if transport == config.EventsNATS {
		// The broker outlives the shop (every process of it); a message
		// whose ack the kill lost is delivered again after 2 s, to the
		// restarted process once the killed one's pin ran out (2 s).
		broker := natstest.Start(t)
		s.nats = broker.URL()
		js := broker.JetStream(t)
		env = append(env, "SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL="+s.nats, "SHOP_NATS_ACK_WAIT=2s", "SHOP_NATS_PINNED_TTL=2s")
		idle = func(t *testing.T, url string) bool { return pipelineIdle(t, url) && brokerIdle(t, js, url) }
	}
	s.start(append(env, "SHOP_EVENTS_CRASHPOINT="+point)...)
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
	// Split, the process that reached the point dies.
	s.killProcess(s.processOf(crashed))

	s.start(env...)
	eventstest.Eventually(t, 30*time.Second, "the welcome message", func() bool { return welcomeCount(t, s.dbURL, userID) >= 1 })
	// Delivery is finished: the inbox holds the event as handled and the
	// outbox as forwarded (and the broker as acknowledged), so nothing can
	// apply it again.
	eventstest.Eventually(t, 30*time.Second, "the pipeline idle", func() bool { return idle(t, s.dbURL) })
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

// brokerIdle reports whether identity's stream holds each event of its
// outbox once (a publish again after a crash was dropped as a duplicate)
// and the welcome message's consumer has had every message delivered and
// acknowledged.
func brokerIdle(t *testing.T, js jetstream.JetStream, dbURL string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "SHOP_IDENTITY")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.Consumer(ctx, "notifications-welcome_email")
	if err != nil {
		t.Fatal(err)
	}
	var published uint64
	queryOwner(t, dbURL, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM identity.event_outbox`).Scan(&published)
	})
	info := cons.CachedInfo()
	return stream.CachedInfo().State.Msgs == published && info.NumPending == 0 && info.NumAckPending == 0
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
