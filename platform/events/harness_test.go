package events_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/natstest"
)

// Two synthetic modules: evtpub publishes thingHappened, evtsub records
// every handled event in effects (a unique event_id catches double handling;
// handled_order shows the handling order).
const (
	pubModule  = "evtpub"
	subModule  = "evtsub"
	subscriber = "evtsub.effects"
	thingType  = "evtpub.thing_happened.v1"
)

var synthetic = fstest.MapFS{
	pubModule + "/0001_init.up.sql":   {Data: []byte(`CREATE TABLE things (id text PRIMARY KEY, n int NOT NULL);`)},
	pubModule + "/0001_init.down.sql": {Data: []byte(`DROP TABLE things;`)},
	subModule + "/0001_init.up.sql": {Data: []byte(`CREATE TABLE effects (
		event_id uuid PRIMARY KEY, key text NOT NULL, seq bigint NOT NULL, n int NOT NULL, handled_order bigserial);`)},
	subModule + "/0001_init.down.sql": {Data: []byte(`DROP TABLE effects;`)},
}

type thingHappened struct {
	ID  string `json:"id"`
	Key string `json:"key"`
	N   int    `json:"n"`
}

func (thingHappened) EventType() string  { return thingType }
func (e thingHappened) EventKey() string { return e.Key }

// stranger is an event type of another module, which evtpub may not publish.
type stranger struct{}

func (stranger) EventType() string { return "evtother.stranger.v1" }
func (stranger) EventKey() string  { return "x" }

// fastConfig makes retries and polls quick enough for tests, on a
// transport. A world of the nats transport starts a NATS server of its own.
func fastConfig(transport string) config.Config {
	return config.Config{Events: config.Events{
		PollInterval: 50 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		MaxAttempts: 3, Workers: 2, CallWorkers: 8, HandlerTimeout: 30 * time.Second, RelayHandling: 250 * time.Millisecond, Retention: time.Hour,
		Transport: transport, NATSReplicas: 1, NATSDuplicateWindow: time.Minute, NATSAckWait: 2 * time.Second, NATSPinnedTTL: 2 * time.Second,
	}}
}

// onEachTransport runs a delivery test on both transports: the guarantees
// are the same whichever carries the events.
func onEachTransport(t *testing.T, test func(t *testing.T, transport string)) {
	for _, transport := range []string{config.EventsPostgres, config.EventsNATS} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			test(t, transport)
		})
	}
}

// onEachTransportAndKind runs a delivery test on both transports, each with
// both kinds of handler.
func onEachTransportAndKind(t *testing.T, test func(t *testing.T, transport string, calls bool)) {
	onEachTransport(t, func(t *testing.T, transport string) {
		eachKind(t, func(t *testing.T, calls bool) { test(t, transport, calls) })
	})
}

// world is one test database with role names of its own, on which replicas
// (each with its own owner connection, module pools and bus) can be opened.
type world struct {
	t        *testing.T
	cfg      config.Config
	url      string
	owner    *pgxpool.Pool    // superuser view across schemas, for setup and checks
	replicas int              // how many replicas the world's reservation has room for
	nats     *natstest.Server // the world's broker with the nats transport
	calls    bool             // replicas subscribe their sink as a call handler (SubscribeCalls)
	opts     []events.SubscribeOption
}

// eachKind runs test, in parallel, once for each way a subscriber's handler
// runs: in the dispatch transaction (Subscribe) and outside any
// (SubscribeCalls), for what both must do.
func eachKind(t *testing.T, test func(t *testing.T, calls bool)) {
	for _, calls := range []bool{false, true} {
		name := map[bool]string{false: "in the dispatch transaction", true: "outside any transaction"}[calls]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, calls)
		})
	}
}

// newWorld is a world with room for one replica.
func newWorld(t *testing.T, cfg config.Config) *world { return newWorldOf(t, cfg, 1) }

// newWorldOf reserves, at once, the connections of n replicas and of the
// superuser pool: a test that took a part and waited for the rest could wait
// on another doing the same.
func newWorldOf(t *testing.T, cfg config.Config, n int) *world {
	t.Helper()
	cfg.DB = dbtest.Config()
	cfg.DB.RolePrefix = dbtest.RolePrefix(t, pubModule, subModule)
	cfg.DB.MaxConns = dbtest.BudgetFor(2)
	w := &world{t: t, cfg: cfg, url: dbtest.NewURL(t), replicas: n}
	if cfg.Events.Transport == config.EventsNATS && cfg.Events.NATSURL == "" {
		w.nats = natstest.Start(t)
		w.cfg.Events.NATSURL = w.nats.URL()
	}
	pc, err := pgxpool.ParseConfig(w.url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 2
	dbtest.Reserve(t, pc.MaxConns+int32(n)*cfg.DB.MaxConns)
	owner, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	w.owner = owner
	return w
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// replica is one process: its own connections and bus.
type replica struct {
	pub, sub *database.DB
	bus      *events.Bus
	reg      *metrics.Metrics
	outbox   *events.Outbox
	sink     *sink
}

// replica opens the two modules and a bus with evtpub's outbox and, when s
// is not nil, s subscribed as evtsub.effects (as a call handler writing in
// a transaction of its own when the world says so). The bus is not started.
func (w *world) replica(s *sink) *replica {
	t := w.t
	t.Helper()
	ctx := context.Background()
	if w.replicas == 0 {
		t.Fatal("the world has no room for another replica: make it with newWorldOf")
	}
	w.replicas--
	owner, err := database.OpenOwner(ctx, w.url, w.cfg.DB, []string{pubModule, subModule}) // within the world's reservation
	if err != nil {
		t.Fatalf("open owner: %v", err)
	}
	dbs := kernel.NewDatabases(owner, synthetic, true, slog.New(slog.DiscardHandler))
	t.Cleanup(dbs.Close)
	r := &replica{reg: metrics.New(), sink: s}
	if r.pub, err = dbs.Open(ctx, pubModule); err != nil {
		t.Fatalf("open %s: %v", pubModule, err)
	}
	if r.sub, err = dbs.Open(ctx, subModule); err != nil {
		t.Fatalf("open %s: %v", subModule, err)
	}
	if r.bus, err = events.NewBus(w.cfg, slog.New(slog.DiscardHandler), r.reg, owner, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.bus.Stop(context.Background()); err != nil {
			t.Errorf("stop bus: %v", err)
		}
	})
	r.outbox = r.bus.Outbox(r.pub)
	switch {
	case s != nil && w.calls:
		typ, h := events.OnCall(s.handleOutside(r.sub))
		if err := r.bus.SubscribeCalls(r.sub, subscriber, typ, h); err != nil {
			t.Fatal(err)
		}
	case s != nil:
		typ, h := events.On(s.handle)
		if err := r.bus.Subscribe(r.sub, subscriber, typ, h, w.opts...); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *replica) start(t *testing.T) *replica {
	t.Helper()
	if err := r.bus.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// publish commits events in one transaction of evtpub, with a row in things
// for each, as a module would.
func (r *replica) publish(t *testing.T, ctx context.Context, evs ...thingHappened) {
	t.Helper()
	rows := make([]map[string]any, len(evs))
	batch := make([]events.Event, len(evs))
	for i, e := range evs {
		rows[i], batch[i] = map[string]any{"id": e.ID, "n": e.N}, e
	}
	err := r.pub.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Table("things").Create(rows).Error; err != nil {
			return err
		}
		return r.outbox.Publish(ctx, tx, batch...)
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func thing(key string, n int) thingHappened {
	return thingHappened{ID: fmt.Sprintf("%s-%d-%s", key, n, randomHex(4)), Key: key, N: n}
}

// sink is the subscriber's handler: it records each event in effects (a
// plain INSERT, so handling an event twice fails) and counts calls. before,
// if set, runs first and may fail the attempt or block; after runs once the
// effect is written and may fail the attempt, which must undo the effect.
type sink struct {
	calls     atomic.Int64
	failures  atomic.Int64
	mu        sync.Mutex
	before    func(ctx context.Context, e thingHappened, env events.Envelope) error
	after     func(ctx context.Context, e thingHappened, env events.Envelope) error
	lastCtx   context.Context
	lastEnvID string
}

func (s *sink) handle(ctx context.Context, tx *gorm.DB, e thingHappened, env events.Envelope) error {
	return s.run(ctx, e, env, func(write func(*gorm.DB) error) error { return write(tx) })
}

// handleOutside is the sink as a call handler: before runs with no
// transaction open, the effect is written in a transaction of its own, which
// also records the event handled (events.Handled).
func (s *sink) handleOutside(db *database.DB) func(context.Context, thingHappened, events.Envelope) error {
	return func(ctx context.Context, e thingHappened, env events.Envelope) error {
		return s.run(ctx, e, env, func(write func(*gorm.DB) error) error {
			return db.InTx(ctx, func(tx *gorm.DB) error {
				if !events.Handled(ctx, tx) {
					return errors.New("events.Handled refused the call handler's own transaction")
				}
				return write(tx)
			})
		})
	}
}

// run is the sink's handling; inTx runs write in the handler's transaction.
func (s *sink) run(ctx context.Context, e thingHappened, env events.Envelope, inTx func(write func(*gorm.DB) error) error) error {
	s.calls.Add(1)
	s.mu.Lock()
	s.lastCtx, s.lastEnvID = ctx, env.ID
	before := s.before
	s.mu.Unlock()
	if before != nil {
		if err := before(ctx, e, env); err != nil {
			s.failures.Add(1)
			return err
		}
	}
	err := inTx(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO effects (event_id, key, seq, n) VALUES (?, ?, ?, ?)`, env.ID, env.Key, env.Seq, e.N).Error; err != nil {
			return err
		}
		if s.after != nil {
			return s.after(ctx, e, env)
		}
		return nil
	})
	if err != nil {
		s.failures.Add(1)
	}
	return err
}

// count runs a count query as the owner.
func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.owner.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (w *world) effects() int { return w.count(`SELECT count(*) FROM evtsub.effects`) }

func (w *world) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.owner.Exec(context.Background(), query, args...); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// waitRelayed waits until evtpub's outbox has nothing left to publish.
func waitRelayed(t *testing.T, w *world) {
	t.Helper()
	eventstest.Eventually(t, 10*time.Second, "every event relayed", func() bool {
		return w.count(`SELECT count(*) FROM evtpub.event_outbox WHERE forwarded_at IS NULL`) == 0
	})
}

// checkKeyOrder fails unless, for every key, effects were handled in the
// publisher's order.
func (w *world) checkKeyOrder() {
	w.t.Helper()
	rows, err := w.owner.Query(context.Background(), `SELECT key, seq FROM evtsub.effects ORDER BY handled_order`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	last := map[string]int64{}
	bad := 0
	for rows.Next() {
		var key string
		var seq int64
		if err := rows.Scan(&key, &seq); err != nil {
			w.t.Fatal(err)
		}
		if seq <= last[key] {
			if bad++; bad <= 5 {
				w.t.Errorf("key %s: seq %d handled after seq %d", key, seq, last[key])
			}
		}
		last[key] = seq
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
}

// metric sums a counter's or gauge's value, or a histogram's sample count,
// over the series whose labels include the given ones.
func metric(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			matched := 0
			for _, l := range s.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
					matched++
				}
			}
			if matched != len(labels) {
				continue
			}
			sum += s.GetCounter().GetValue() + s.GetGauge().GetValue() + float64(s.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// syncSet remembers strings; add reports whether s was new.
type syncSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *syncSet) add(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[v] {
		return false
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
	return true
}

// tracedContext carries a remote W3C span context with a fixed trace id and
// a request id, as an HTTP request would.
func tracedContext(ctx context.Context) (context.Context, trace.TraceID) {
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	return logging.WithRequestID(ctx, "req-42"), traceID
}

func spanTraceID(ctx context.Context) trace.TraceID {
	return trace.SpanContextFromContext(ctx).TraceID()
}

func requestID(ctx context.Context) string { return logging.RequestID(ctx) }
