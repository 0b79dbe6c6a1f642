package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/natstest"
)

// An event its handler cannot process is dead-lettered, listed by
// `shop events dead` and the admin endpoint, and, once the cause is fixed,
// delivered by `shop events replay` to the running shop.
func TestDeadLettersAreListedAndReplayedOnARunningShop(t *testing.T) {
	t.Parallel()
	s := startShopForCommands(t, "SHOP_EVENTS_POLL_INTERVAL=100ms", "SHOP_EVENTS_MAX_ATTEMPTS=2", "SHOP_EVENTS_BACKOFF_BASE=10ms", "SHOP_EVENTS_BACKOFF_MAX=20ms")
	const eventID = "0190a7a2-1c7e-7a51-b3a2-1d5c0a8e7f01"
	const userID = "0190a7a2-1c7e-7a51-b3a2-1d5c0a8e7f02"
	// A delivery whose payload the welcome handler rejects (no email).
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), `INSERT INTO notifications.event_inbox
			(subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at)
			VALUES ('notifications.welcome_email', $1, 'identity', 999999, 'identity.user_registered.v1', $2,
			        jsonb_build_object('user_id', $2::text, 'name', 'Dee'), now())`, eventID, userID)
		if err == nil {
			_, err = conn.Exec(context.Background(), `SELECT pg_notify('shop_events', 'inbox:notifications')`)
		}
		return err
	})
	eventstest.Eventually(t, 20*time.Second, "the condition", func() bool {
		var dead bool
		queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
			return conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM notifications.event_inbox WHERE event_id = $1 AND status = 'dead')`, eventID).Scan(&dead)
		})
		return dead
	})

	out := shopCommand(t, s.dbURL, "events", "dead")
	if !strings.Contains(out, eventID) || !strings.Contains(out, "notifications.welcome_email") {
		t.Fatalf("shop events dead:\n%s", out)
	}
	admin := s.login(adminEmail, adminPassword)
	body := string(s.must(http.StatusOK, s.call("GET", "/api/admin/events/dead", admin, nil)).Body)
	if !strings.Contains(body, eventID) {
		t.Fatalf("GET /api/admin/events/dead = %s", body)
	}
	assertProblem(t, s.call("GET", "/api/admin/events/dead", "", nil), http.StatusUnauthorized)

	// Fix the cause, then replay from the command line: the running shop delivers it.
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), `UPDATE notifications.event_inbox
			SET payload = payload || jsonb_build_object('email', 'dee@example.com', 'registered_at', now()) WHERE event_id = $1`, eventID)
		return err
	})
	if out := shopCommand(t, s.dbURL, "events", "replay", eventID); !strings.Contains(out, "replayed 1") {
		t.Fatalf("shop events replay: %s", out)
	}
	eventstest.Eventually(t, 20*time.Second, "the condition", func() bool { return welcomeCount(t, s.dbURL, userID) == 1 })
	if out := shopCommand(t, s.dbURL, "events", "dead"); strings.Contains(out, eventID) {
		t.Fatalf("still dead after replay:\n%s", out)
	}
}

// A subscriber id no process runs any more is listed with its last run by
// `shop events dead`, and `shop events forget` retires it: its registrations
// and undelivered events go, and with the nats transport its durable
// consumer on the broker too; an id this version registers is refused.
// Events go on reaching the other subscribers, and forgetting the id again
// deletes nothing.
func TestEventsForgetRetiresASubscriberNoProcessRuns(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{config.EventsPostgres, config.EventsNATS} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			forgetRetiredSubscriber(t, transport)
		})
	}
}

func forgetRetiredSubscriber(t *testing.T, transport string) {
	t.Helper()
	const retired = "notifications.retired_welcome"
	var env []string
	var js jetstream.JetStream
	if transport == config.EventsNATS {
		broker := natstest.Start(t)
		env = []string{"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL=" + broker.URL()}
		js = broker.JetStream(t)
	}
	s := startShopForCommands(t, env...)
	// What an earlier version, which ran notifications.retired_welcome,
	// left behind: its registration, last refreshed a day ago, an event it
	// never handled, and (nats) its durable consumer.
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), `INSERT INTO identity.event_subscriptions (subscriber, event_type, module, registered_at, seen_at)
			VALUES ($1, 'identity.user_registered.v1', 'notifications', now() - interval '30 days', now() - interval '1 day')`, retired)
		if err == nil {
			_, err = conn.Exec(context.Background(), `INSERT INTO notifications.event_inbox
				(subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at)
				VALUES ($1, gen_random_uuid(), 'identity', 999999, 'identity.user_registered.v1', gen_random_uuid()::text, '{}', now())`, retired)
		}
		return err
	})
	// The command's count of deleted consumers, printed with the nats transport.
	consumers := func(n int) string {
		if js == nil {
			return ""
		}
		return fmt.Sprintf(", %d broker consumers", n)
	}
	if js != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.CreateConsumer(ctx, "SHOP_IDENTITY", jetstream.ConsumerConfig{Durable: "notifications-retired_welcome",
			FilterSubject: "shop.events.identity.user_registered.v1", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
	}

	if out := shopCommand(t, s.dbURL, "events", "dead"); !strings.Contains(out, retired) || !strings.Contains(out, "no process has run this subscriber since") {
		t.Fatalf("shop events dead:\n%s", out)
	}
	if out := shopCommandFails(t, s.dbURL, "events", "forget", "notifications.welcome_email"); !strings.Contains(out, "registered by this version") {
		t.Errorf("shop events forget of a registered id:\n%s", out)
	}
	// Still registered, it also received the events published since
	// (postgres: the relays follow the registry).
	var undelivered int
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT count(*) FROM notifications.event_inbox WHERE subscriber = $1`, retired).Scan(&undelivered)
	})
	want := fmt.Sprintf("1 registrations%s and %d undelivered events deleted", consumers(1), undelivered)
	if out := shopCommand(t, s.dbURL, "events", "forget", retired); undelivered == 0 || !strings.Contains(out, want) {
		t.Fatalf("shop events forget:\n%s\nwant %q", out, want)
	}
	var left int
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM identity.event_subscriptions WHERE subscriber = $1)
			+ (SELECT count(*) FROM notifications.event_inbox WHERE subscriber = $1)`, retired).Scan(&left)
	})
	if left != 0 {
		t.Errorf("%d rows of the forgotten id left", left)
	}
	if js != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.Consumer(ctx, "SHOP_IDENTITY", "notifications-retired_welcome"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("the forgotten id's consumer: %v, want not found", err)
		}
	}
	if out := shopCommand(t, s.dbURL, "events", "dead"); strings.Contains(out, retired) {
		t.Errorf("shop events dead after forget:\n%s", out)
	}

	// Publishing and delivery go on; forgetting again deletes nothing.
	admin := s.login(adminEmail, adminPassword)
	s.awaitMail(admin, s.userID(s.register("after-forget@example.com")), "welcome")
	want = fmt.Sprintf("0 registrations%s and 0 undelivered events deleted", consumers(0))
	if out := shopCommand(t, s.dbURL, "events", "forget", retired); !strings.Contains(out, want) {
		t.Errorf("shop events forget again:\n%s\nwant %q", out, want)
	}
}

// commandTests are the tests whose shop reserved a command's connections,
// each with what its commands share with the shop.
var commandTests sync.Map // *testing.T → commandEnv

// commandEnv is what the commands of a test run against its shop.
type commandEnv struct {
	env []string // the settings they share with the shop (the event transport, where modules are)
	// Where the shop's front hosts no module (the split), a command hosts
	// only the module it is about (its first argument) and reaches the
	// others at these addresses (module → URL), as the front does.
	urls config.ModuleURLs
}

// commandConns is the budget of a CLI command run against a test shop: the
// smallest that opens every module.
func commandConns() int32 {
	return database.OwnerConns + database.ListenConns + int32(len(dbtest.Modules()))*database.MinModuleConns
}

// e2eCommandConns is the budget of a command run against the shop of
// startShopForCommands: commandConns, but in a topology whose front hosts
// no module (the split, which holds most of what tests may use), the
// smallest that opens one module (see commandEnv).
func e2eCommandConns() int32 {
	if e2eTopology.Distributed() && e2eTopology.Front().Edge() {
		return database.OwnerConns + database.ListenConns + database.MinModuleConns
	}
	return commandConns()
}

// startShopForCommands starts a shop and reserves, at once with the
// shop's, the connections of the CLI commands the test runs against it (one
// at a time): two tests each holding a shop's connections while waiting for
// a command's could otherwise wait on each other for good.
func startShopForCommands(t *testing.T, extraEnv ...string) *shop {
	t.Helper()
	url := dbtest.NewURL(t)
	dbtest.Reserve(t, e2eConns()+e2eCommandConns())
	var shared []string
	for _, kv := range extraEnv {
		if strings.HasPrefix(kv, "SHOP_EVENTS_TRANSPORT=") || strings.HasPrefix(kv, "SHOP_NATS_") {
			shared = append(shared, kv)
		}
	}
	s := &shop{t: t, dbURL: url, topo: e2eTopology, reserved: true}
	s.start(extraEnv...)
	if s.catalogLogin != "" {
		// Catalog's data is no longer in the database: the commands run as
		// the front process, which reaches catalog in its own.
		for _, kv := range s.env() {
			if strings.HasPrefix(kv, "SHOP_MODULES=") || strings.HasPrefix(kv, "SHOP_MODULE_URLS=") {
				shared = append(shared, kv)
			}
		}
	}
	ce := commandEnv{env: shared}
	if front := s.cluster.Front(); s.topology().Distributed() && len(front.Modules()) == 0 {
		for _, kv := range front.Env() {
			if list, ok := strings.CutPrefix(kv, "SHOP_MODULE_URLS="); ok {
				if err := ce.urls.UnmarshalText([]byte(list)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	commandTests.Store(t, ce)
	t.Cleanup(func() { commandTests.Delete(t) })
	return s
}

// shopCommand runs one CLI command of the binary against a database, within
// the connections reserveCommands took, and fails the test if it fails.
func shopCommand(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	out, err := runShopCommand(t, dbURL, args...)
	if err != nil {
		t.Fatalf("shop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// shopCommandFails runs a CLI command that must fail, and returns its output.
func shopCommandFails(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	out, err := runShopCommand(t, dbURL, args...)
	if err == nil {
		t.Fatalf("shop %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func runShopCommand(t *testing.T, dbURL string, args ...string) (string, error) {
	t.Helper()
	v, ok := commandTests.Load(t)
	if !ok {
		t.Fatal("shop commands need a shop started by startShopForCommands")
	}
	ce := v.(commandEnv)
	env := slices.Clone(ce.env)
	if ce.urls != nil {
		if _, ok := ce.urls[args[0]]; !ok {
			t.Fatalf("shop %s: in a topology whose front hosts no module, a test's command hosts the module it is about: %q is none", strings.Join(args, " "), args[0])
		}
		var others []string
		for m, u := range ce.urls {
			if m != args[0] {
				others = append(others, m+"="+u)
			}
		}
		env = append(env, "SHOP_MODULES="+args[0], "SHOP_MODULE_URLS="+strings.Join(others, ","))
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"DATABASE_URL=" + dbURL, "SHOP_LOG_LEVEL=warn", "HOME=/tmp",
		fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", e2eCommandConns())}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
