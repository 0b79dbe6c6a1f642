package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/tracing"
)

var (
	typePattern       = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[0-9]+$`)
	subscriberPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$`)
)

// Bus is the in-process event pipeline: it knows every publishing module's
// outbox and every subscription, and runs the relays, dispatchers and
// janitors. Several replicas may each run one on the same database.
type Bus struct {
	id   string // tells this process's own notifications apart
	cfg  config.Events
	log  *slog.Logger
	m    *instruments
	conn Connector
	now  func() time.Time
	tr   trace.Tracer

	mu         sync.Mutex
	started    bool
	publishers map[string]*database.DB // module → its database
	modules    map[string]*database.DB // every module with event tables in use
	subs       []*subscription
	relayWake  map[string]chan bool // true: woken by this process's own commit

	hosted      map[string]*database.DB // the modules as of Start, read by relays without the lock
	broker      *broker                 // the nats transport's client; nil with the postgres transport
	unreachable sync.Map                // "publisher/module" pairs a relay could not forward to, logged once

	cancel context.CancelFunc
	wg     sync.WaitGroup
	leases *heldLeases // the call handlers' leases in progress, given back when a stop runs out of time
}

// subscription is one subscriber id's interest in one or more event types.
// Events of one key reach it in publication order whatever their type, which
// is what a process manager (a saga) stepping through one aggregate needs.
type subscription struct {
	id         string
	handlers   map[string]handler // by event type
	calls      bool               // handlers run outside any transaction (SubscribeCalls)
	dispatched bool               // never run by the relay as they arrive (Dispatched)
	batch      int                // events handled per transaction
	db         *database.DB
	wake       chan struct{} // shared by the subscription's workers

	// Until when (unix ns) this subscription's events are left to its
	// workers rather than handled on arrival (by the relay or the NATS
	// consumer), after one of its handlers there outlasted
	// SHOP_EVENTS_RELAY_HANDLING or a transaction broke (see forwardHandling).
	arrivalPausedUntil atomic.Int64

	// Call handlers in flight (calls only): at most callSlots at once, each
	// on an event of its own key, whichever worker leased it.
	callSlots int
	inflight  atomic.Int32
	starved   atomic.Bool // a worker found every slot taken and waits for one
}

// handler is one of the two kinds a subscription runs: in the dispatch
// transaction (tx) or outside any (call).
type handler struct {
	tx   Handler
	call CallHandler
}

// wakeOne wakes one worker: one that waits for work, if any, since the
// channel hands a wake-up straight to a waiting receiver; when all are busy
// it is kept for the first to finish. (A wake-up sent to the workers in
// turn waited, every other time, for a busy worker's batch to commit while
// the other worker idled; the pipeline benchmark's median commit→handled at
// 250 events/s went from 2.8–4.0 ms to 2.0 ms.)
// Waking all of them for one batch would have all but one claim nothing. A
// worker that finds a full batch wakes another itself, so parallelism
// follows the load.
func (s *subscription) wakeOne() {
	if s.wake == nil {
		return
	}
	poke(s.wake)
}

// SubscribeOption tunes a subscription.
type SubscribeOption func(*subscription)

// OneAtATime handles each event in a transaction of its own instead of
// batching several (of different keys) in one. Batches save commits for
// handlers that only write their own tables quickly; a slow one would hold
// the batch's transaction, and the events behind it, for its whole run. (A
// handler that calls another module holds no transaction at all: it
// subscribes with SubscribeCalls, where OneAtATime leases one event per
// claim.)
func OneAtATime() SubscribeOption { return func(s *subscription) { s.batch = 1 } }

// Dispatched keeps the subscription's handlers from running as their events
// reach the inbox (SHOP_EVENTS_RELAY_HANDLING; the relay's or the NATS
// consumer's write): they are always claimed by its dispatchers, with the
// whole handler timeout. For handlers that talk to something other than
// their database (an SMTP server): run on arrival, they would hold back
// their publisher's relay, or their consumer, for a whole conversation.
func Dispatched() SubscribeOption { return func(s *subscription) { s.dispatched = true } }

// outside makes a subscription's handlers run outside any transaction, each
// in a goroutine of its own as soon as its event is leased; one claim leases
// up to callLeaseBatch events (a lease covers one handler's run, which starts
// at once).
func outside(s *subscription) { s.calls, s.batch = true, callLeaseBatch }

// handlerOf returns the handler of the envelope's type. An event of a type
// the subscriber no longer handles fails (and so is retried, then
// dead-lettered) rather than being dropped silently.
func (s *subscription) handlerOf(env Envelope) (handler, error) {
	h, ok := s.handlers[env.Type]
	if !ok {
		return handler{}, fmt.Errorf("subscriber %s has no handler for %s", s.id, env.Type)
	}
	return h, nil
}

// handles reports whether the subscription has a handler for an event type.
func (s *subscription) handles(eventType string) bool {
	_, ok := s.handlers[eventType]
	return ok
}

// handle runs the transactional handler of the envelope's type in tx.
func (s *subscription) handle(ctx context.Context, tx *gorm.DB, env Envelope) error {
	h, err := s.handlerOf(env)
	if err != nil {
		return err
	}
	return h.tx(ctx, tx, env)
}

// call runs the call handler of the envelope's type.
func (s *subscription) call(ctx context.Context, env Envelope) error {
	h, err := s.handlerOf(env)
	if err != nil {
		return err
	}
	return h.call(ctx, env)
}

// Connector opens the bus's LISTEN connection, which needs no privilege:
// the owner's (database.Owner), or one of a hosted module's own credentials
// (kernel.Databases), so that a process needs no other.
type Connector interface {
	Connect(ctx context.Context) (*pgx.Conn, error)
}

// NewBus returns a bus; nothing runs before Start. conn opens its LISTEN
// connection. tp traces publishing and handling (nil: not traced).
func NewBus(cfg config.Config, log *slog.Logger, reg *metrics.Metrics, conn Connector, tp trace.TracerProvider) (*Bus, error) {
	m, err := newInstruments(reg.Registry)
	if err != nil {
		return nil, fmt.Errorf("event metrics: %w", err)
	}
	b := &Bus{
		id:  uuid.NewString(),
		cfg: cfg.Events, log: log.With(slog.String("component", "events")), m: m, conn: conn, now: time.Now, tr: tracing.Tracer(tp),
		publishers: map[string]*database.DB{}, modules: map[string]*database.DB{}, relayWake: map[string]chan bool{},
		leases: newHeldLeases(),
	}
	if cfg.Events.Transport == config.EventsNATS {
		if b.broker, err = newBroker(cfg.Events, b.log, reg.Registry); err != nil {
			return nil, fmt.Errorf("event metrics: %w", err)
		}
	}
	return b, nil
}

// Outbox returns the publishing side for a module, on its own database.
func (b *Bus) Outbox(db *database.DB) *Outbox {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.publishers[db.Module] = db
	b.modules[db.Module] = db
	wake := make(chan bool, 1)
	b.relayWake[db.Module] = wake
	return &Outbox{module: db.Module, now: b.now, tr: b.tr, wake: func() { pokeLocal(wake) }}
}

// Subscribe registers a handler for one event type. The subscriber id names
// the handler for good ("notifications.welcome_email"): it keys the inbox, so
// renaming it orphans undelivered events (they are reported, not lost). The
// handler runs in transactions on db, the subscribing module's database,
// which also record the event handled: its effects happen once. Registering
// more types under one subscriber id makes one ordered stream of them: per
// key, an event is handled only after every earlier one of any of its types.
// A handler that calls another module subscribes with SubscribeCalls instead.
func (b *Bus) Subscribe(db *database.DB, subscriber, eventType string, h Handler, opts ...SubscribeOption) error {
	return b.subscribe(db, subscriber, eventType, handler{tx: h}, opts)
}

// SubscribeCalls registers a handler that runs with no transaction open, as
// one that calls another module must (see CallHandler, and "Handlers that
// call other modules" in README.md). The dispatcher leases the event in a
// short transaction of its own (other workers and replicas skip it, and the
// later events of its key wait), runs the handler, then marks the event
// handled or records the failure in another. A process that dies meanwhile
// leaves the lease to expire (after one and a half handler timeouts), and
// one whose stop runs out of time gives it back (see Stop); either way the
// event is handled again: delivery is at least once, so the handler must be
// idempotent. Subscriber ids and ordered streams work as for Subscribe;
// one subscriber id cannot mix the two kinds of handlers.
func (b *Bus) SubscribeCalls(db *database.DB, subscriber, eventType string, h CallHandler, opts ...SubscribeOption) error {
	return b.subscribe(db, subscriber, eventType, handler{call: h}, append([]SubscribeOption{outside}, opts...))
}

func (b *Bus) subscribe(db *database.DB, subscriber, eventType string, h handler, opts []SubscribeOption) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.started:
		return errors.New("events: subscribe before the bus starts")
	case !subscriberPattern.MatchString(subscriber) || !strings.HasPrefix(subscriber, db.Module+"."):
		return fmt.Errorf("events: subscriber id %q must look like %s.<name>", subscriber, db.Module)
	case !typePattern.MatchString(eventType):
		return fmt.Errorf("events: event type %q must look like <module>.<name>.v<N>", eventType)
	}
	probe := &subscription{id: subscriber, handlers: map[string]handler{eventType: h}, batch: dispatchBatch, db: db}
	for _, o := range opts {
		o(probe)
	}
	for _, s := range b.subs {
		if s.id != subscriber {
			continue
		}
		if _, dup := s.handlers[eventType]; dup {
			return fmt.Errorf("events: subscriber id %q registered twice for %s", subscriber, eventType)
		}
		if s.db != db {
			return fmt.Errorf("events: subscriber id %q registered on the databases of two modules", subscriber)
		}
		// Every type of one subscriber shares its stream, so they must agree
		// on how it is dispatched.
		if probe.batch != s.batch || probe.calls != s.calls || probe.dispatched != s.dispatched {
			return fmt.Errorf("events: subscriber id %q registered with different options for %s", subscriber, eventType)
		}
		s.handlers[eventType] = h
		return nil
	}
	b.subs = append(b.subs, probe)
	b.modules[db.Module] = db
	return nil
}

// Start registers every subscription with its publisher's registry, then
// launches the listener, one relay per publisher, the dispatchers of every
// subscription, and the janitors. It fails, and starts nothing, when a
// registry cannot be written.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("events: bus started twice")
	}
	if err := b.registerAll(ctx); err != nil {
		return err
	}
	// The dispatchers' wake-up channels exist before anything can poke
	// them: the broker's connect callback wakes every loop.
	for _, s := range b.subs {
		s.wake = make(chan struct{}, 1)
		s.callSlots = b.cfg.CallWorkers
		if s.callSlots < 1 { // a configuration not loaded from the environment
			s.callSlots = b.cfg.Workers
		}
	}
	if b.broker != nil {
		if err := b.startBroker(ctx); err != nil {
			return err
		}
	}
	b.started = true
	b.hosted = maps.Clone(b.modules)
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if b.broker != nil {
		for _, s := range b.subs {
			for _, p := range subscribedPublishers(s) {
				b.wg.Go(func() { b.runConsumer(ctx, s, p) })
			}
		}
	}
	for module, db := range b.publishers {
		wake := b.relayWake[module]
		b.wg.Go(func() { b.runRelay(ctx, db, wake) })
	}
	for _, s := range b.subs {
		for range b.cfg.Workers {
			b.wg.Go(func() { b.runWorker(ctx, s) })
		}
	}
	for module, db := range b.modules {
		_, publishes := b.publishers[module]
		b.wg.Go(func() { b.runJanitor(ctx, db, publishes) })
	}
	b.wg.Go(func() { b.listen(ctx) })
	b.wg.Go(func() { b.sample(ctx) })
	b.wg.Go(func() { b.reportOrphans(ctx) })
	return nil
}

// Stop ends the pipeline: nothing new is claimed or leased, and handlers in
// progress finish while ctx lasts. A call handler still running when little
// of ctx's time is left (giveBackMargin, at most half of it) loses its lease:
// the lease is given back, so that another replica takes the event at once
// rather than after the lease's expiry, and the handler's context is
// cancelled; Stop then reports the handlers it gave up on. Without a
// deadline, the leases are given back only when ctx is cancelled.
func (b *Bus) Stop(ctx context.Context) error {
	b.mu.Lock()
	cancel := b.cancel
	b.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	giveBack, stopTimer := giveBackTimer(ctx)
	defer stopTimer()
	given := 0
	for {
		select {
		case <-done:
			if b.broker != nil {
				b.broker.close()
			}
			if given > 0 {
				return fmt.Errorf("events: stop: %d call handlers had not finished; their leases were given back", given)
			}
			return nil
		case <-giveBack:
			giveBack = nil
			given = b.giveBackLeases(ctx)
		case <-ctx.Done():
			if giveBack != nil {
				b.giveBackLeases(ctx)
			}
			return fmt.Errorf("events: stop: %w", ctx.Err())
		}
	}
}

// wake routes a notification ("outbox:<module>" or "inbox:<module>[:<sender>]").
func (b *Bus) wake(payload string) {
	kind, rest, _ := strings.Cut(payload, ":")
	module, sender, _ := strings.Cut(rest, ":")
	if sender == b.id {
		return // this process woke its own dispatchers directly
	}
	switch kind {
	case "outbox":
		if w, ok := b.relayWake[module]; ok {
			pokeRemote(w)
		}
	case "inbox":
		b.wakeSubscribers(module)
	}
}

// wakeSubscribers pokes the dispatchers of one subscribing module.
func (b *Bus) wakeSubscribers(module string) {
	for _, s := range b.subs {
		if s.db.Module == module {
			s.wakeOne()
		}
	}
}

// wakeAll pokes every loop (after the listener missed notifications).
func (b *Bus) wakeAll() {
	for _, w := range b.relayWake {
		pokeRemote(w)
	}
	for _, s := range b.subs {
		poke(s.wake)
	}
}

func poke(w chan struct{}) {
	select {
	case w <- struct{}{}:
	default:
	}
}

// pokeLocal wakes a relay for a commit of this process; it replaces a pending
// remote wake-up, since a local one also asks the relay to tell the others.
func pokeLocal(w chan bool) {
	for {
		select {
		case w <- true:
			return
		default:
		}
		select {
		case <-w:
		default:
		}
	}
}

func pokeRemote(w chan bool) {
	select {
	case w <- false:
	default:
	}
}

// listen holds a LISTEN connection and turns notifications into wake-ups;
// when the connection drops it reconnects and wakes everything, since
// notifications sent meanwhile are lost (the poll would find the work too).
func (b *Bus) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("event listener lost its connection; reconnecting", slog.String("error", err.Error()))
		if !sleep(ctx, time.Second) {
			return
		}
	}
}

func (b *Bus) listenOnce(ctx context.Context) error {
	conn, err := b.conn.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	b.wakeAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		b.wake(n.Payload)
	}
}

// hook is where the pipeline can be stopped dead for crash tests
// (SHOP_EVENTS_CRASHPOINT): it announces the point and blocks until the
// process is killed.
func (b *Bus) hook(point string) {
	if b.cfg.Crashpoint != point {
		return
	}
	b.log.Error("crashpoint reached", slog.String("point", point))
	select {}
}

// lockKey maps a name to an advisory lock key.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("shop.events." + name))
	return int64(h.Sum64())
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
