package events_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// blockingSink's handler signals that it runs, then waits for release (or
// for its context to end, as it would at the handler timeout).
func blockingSink() (s *sink, entered chan string, release chan struct{}) {
	entered, release = make(chan string, 1), make(chan struct{})
	s = &sink{before: func(ctx context.Context, _ thingHappened, env events.Envelope) error {
		entered <- env.ID
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	return s, entered, release
}

func TestStopWaitsForTheHandlerInProgress(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		w.calls = calls
		s, entered, release := blockingSink()
		r := w.replica(s).start(t)

		r.publish(t, ctx, thing("slow", 1))
		waitEntered(t, entered)
		// While the handler is blocked, Stop must not return but at its deadline.
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := r.bus.Stop(short); err == nil {
			t.Fatal("Stop = nil while a handler was still running")
		}
		if calls {
			// A call handler still running when the stop's time runs out
			// gives its lease back (TestACallHandlerUnfinishedAtStopGivesItsLeaseBack)
			// and is cancelled: the event is ready for the next process, and
			// no attempt is counted.
			if err := r.bus.Stop(ctx); err != nil {
				t.Fatalf("Stop = %v", err)
			}
			if n := w.count(`SELECT count(*) FROM evtsub.event_inbox
				WHERE status = 'pending' AND lease_token IS NULL AND attempts = 0 AND next_attempt_at <= now()`); n != 1 {
				t.Errorf("%d inbox rows given back and ready, want 1", n)
			}
			if n := s.failures.Load(); n != 1 {
				t.Errorf("the handler failed %d times, want once (its context cancelled)", n)
			}
			if n := w.effects(); n != 0 {
				t.Errorf("%d effects, want none", n)
			}
			return
		}
		close(release)
		if err := r.bus.Stop(ctx); err != nil {
			t.Fatalf("Stop = %v", err)
		}
		// Stop returned only after the handler's transaction committed.
		if n := w.effects(); n != 1 {
			t.Errorf("%d effects right after Stop, want 1", n)
		}
		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done'`); n != 1 {
			t.Errorf("%d inbox rows done right after Stop, want 1", n)
		}
		if n := s.calls.Load(); n != 1 {
			t.Errorf("handler called %d times, want 1", n)
		}
	})
}

// A call handler can run for its whole timeout (30 s: a slow card gateway
// behind a payment), longer than a stopping process waits (15 s). When it
// has not finished as the stop's time runs out, its process gives the lease
// back rather than leaving it to expire a handler timeout and a half after
// it was taken: another replica, already running, takes the event at once —
// an order's next saga step does not wait most of a minute in a rolling
// deploy. The given-back lease is no failed attempt, and the outcome the
// first handler reaches later is not recorded over the other replica's.
func TestACallHandlerUnfinishedAtStopGivesItsLeaseBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.HandlerTimeout = 30 * time.Second // a lease of 45 s
	cfg.Events.PollInterval = time.Minute        // the other replica hears of the event, it does not poll for it
	w := newWorldOf(t, cfg, 2)

	entered1, release1 := make(chan struct{}), make(chan struct{})
	first := w.idempotentReplica(func(events.Envelope) {
		close(entered1)
		<-release1 // deaf to its context: it answers when the test says so
	})
	free1 := closer(t, release1)
	first.publish(t, ctx, thing("deploy", 1))
	waitClosed(t, entered1)

	var attempt atomic.Int64
	second := w.idempotentReplica(func(env events.Envelope) { attempt.Store(int64(env.Attempt)) })

	stopping := time.Now()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := first.bus.Stop(short); err == nil {
		t.Fatal("Stop = nil while a call handler was still running")
	}
	eventstest.Eventually(t, 5*time.Second, "the event handled by the other replica, long before the lease's 45 s",
		func() bool { return inboxStatus(t, w) == "done" })
	if a := attempt.Load(); a != 1 {
		t.Errorf("the other replica's handler runs attempt %d, want 1 (a lease given back is no failed attempt)", a)
	}
	var handledAt time.Time
	if err := w.owner.QueryRow(ctx, `SELECT handled_at FROM evtsub.event_inbox`).Scan(&handledAt); err != nil {
		t.Fatal(err)
	}
	t.Logf("handled by the other replica %v after the stop began (the stop's time: 1 s)", handledAt.Sub(stopping).Round(time.Millisecond))

	free1() // the first handler answers now, and tries to record its success
	if err := first.bus.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	var later time.Time
	var attempts int
	if err := w.owner.QueryRow(ctx, `SELECT handled_at, attempts FROM evtsub.event_inbox WHERE status = 'done'`).Scan(&later, &attempts); err != nil {
		t.Fatal(err)
	}
	if !later.Equal(handledAt) || attempts != 1 {
		t.Errorf("inbox row handled at %v after %d attempts, want the other replica's record (%v, 1 attempt)", later, attempts, handledAt)
	}
	if n := w.effects(); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
	checkDeliveredOnceBy(t, second, first)
}

func TestEventOfAHandlerCutShortByStopIsHandledAfterRestart(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		cfg := fastConfig(transport)
		cfg.Events.HandlerTimeout = time.Second
		w := newWorldOf(t, cfg, 2)
		s, entered, _ := blockingSink()
		old := w.replica(s).start(t)

		old.publish(t, ctx, thing("cut", 1))
		waitEntered(t, entered)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := old.bus.Stop(short); err == nil {
			t.Fatal("Stop with a short timeout = nil while a handler is blocked")
		}

		// A new process takes over once the stuck attempt is rolled back.
		fresh := w.replica(&sink{}).start(t)
		eventstest.Eventually(t, 10*time.Second, "event handled by the new bus", func() bool { return w.effects() == 1 })
		if n := fresh.sink.calls.Load(); n != 1 {
			t.Errorf("new bus called its handler %d times, want 1", n)
		}
		// The cut attempt is counted when the old bus records it before the new
		// one claims the event; when the new bus is faster, its own record
		// supersedes it. Either way the event is done once.
		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts BETWEEN 1 AND 2`); n != 1 {
			t.Errorf("want the event done once, after one or two attempts (%d such rows)", n)
		}
		if err := old.bus.Stop(ctx); err != nil {
			t.Errorf("Stop of the old bus, without a deadline = %v", err)
		}
		if n := w.effects(); n != 1 {
			t.Errorf("%d effects, want exactly 1", n)
		}
	})
}

// A call handler's lease is one statement, committed at once. When the bus
// stops while its answer is on the way, the statement has taken the events
// on the server whatever the client makes of it: a client that gave up on
// the answer leaves them with no handler, and neither they nor the later
// events of their keys are handled before the lease expires (a handler
// timeout and a half: 45 s by default, longer than a customer waits for an
// order's next step). Here the answer is held back on the way until the
// bus has been told to stop; the event must then be handled (by the
// stopping bus, or by the next process at once), not left leased.
func TestALeaseAnsweredAfterTheBusStoppedIsNotLeftToExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, proxy, old := callWorldBehindProxy(t)
	release := leaseHeld(t, w, proxy, thing("stop", 1))
	// Stop cancels the bus's work at once, while the lease's answer is held.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_ = old.bus.Stop(short)
	release()
	if err := old.bus.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}

	fresh := w.replica(&sink{}).start(t)
	eventstest.Eventually(t, 10*time.Second, "the event handled (not left leased)", func() bool { return w.effects() == 1 })
	if n := old.sink.calls.Load() + fresh.sink.calls.Load(); n != 1 {
		t.Errorf("handlers called %d times, want 1", n)
	}
}

// A lease statement whose answer never comes (the connection breaks while
// the answer is on its way) has taken its events on the server all the same.
// They must not wait for the lease to expire (45 s here) with nobody
// running their handlers: the bus gives the lease back by its token as soon
// as the database answers again, and the event is handled at once.
func TestALeaseWhoseAnswerNeverCameIsGivenBack(t *testing.T) {
	t.Parallel()
	w, proxy, r := callWorldBehindProxy(t)
	release := leaseHeld(t, w, proxy, thing("lost", 1))
	defer release()
	proxy.cut() // the lease's answer is lost with its connection
	release()   // answers on new connections pass
	eventstest.Eventually(t, 10*time.Second, "the event handled (not left to its lease's expiry)", func() bool { return w.effects() == 1 })
	if n := r.sink.calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts = 1`); n != 1 {
		t.Errorf("want the event done after one attempt (the lost lease not counted as one)")
	}
}

// callWorldBehindProxy starts a replica with one worker for call handlers
// (a lease of 45 s) whose connections go through an answerProxy.
func callWorldBehindProxy(t *testing.T) (*world, *answerProxy, *replica) {
	t.Helper()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.Workers = 1
	cfg.Events.HandlerTimeout = 30 * time.Second // a lease of 45 s
	w := newWorldOf(t, cfg, 2)
	w.calls = true
	direct := w.url
	proxy := startAnswerProxy(t, direct)
	w.url = proxy.url
	r := w.replica(&sink{}).start(t)
	w.url = direct
	return w, proxy, r
}

// leaseHeld puts e in the subscriber's inbox and waits until it is leased,
// the lease's answer held back by the proxy until release is called.
func leaseHeld(t *testing.T, w *world, proxy *answerProxy, e thingHappened) (release func()) {
	t.Helper()
	release = proxy.holdAnswersWith(e.ID)
	w.exec(`INSERT INTO evtsub.event_inbox (subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at)
		VALUES ($1, gen_random_uuid(), $2, 1, $3, $4, $5, now())`, subscriber, pubModule, thingType, e.Key, e)
	eventstest.Eventually(t, 10*time.Second, "the event leased", func() bool {
		return w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE lease_token IS NOT NULL`) == 1
	})
	return release
}

// answerProxy forwards connections to a PostgreSQL server, and can keep
// back the answers that carry some text (the statement ran on the server;
// its client waits for the answer) until released.
type answerProxy struct {
	url string

	mu      sync.Mutex
	marker  []byte
	release chan struct{} // closed when held answers may pass
	conns   []net.Conn
}

// cut closes every connection open through the proxy, both ways.
func (p *answerProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// startAnswerProxy listens on loopback for the server of dbURL and returns
// the proxy, whose url is dbURL through it.
func startAnswerProxy(t *testing.T, dbURL string) *answerProxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	p := &answerProxy{url: u.String()}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, client, server)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(server, client); server.Close() }()
			go p.answer(client, server)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

// holdAnswersWith keeps back, from now on, every answer that contains
// marker (and what follows it on its connection) until the returned
// function is called.
func (p *answerProxy) holdAnswersWith(marker string) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	p.marker, p.release = []byte(marker), ch
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// answer copies what the server sends to the client, keeping back what
// holdAnswersWith names. A marker split between two reads is found too:
// the end of the previous read is kept for the search.
func (p *answerProxy) answer(client, server net.Conn) {
	defer client.Close()
	buf := make([]byte, 32<<10)
	var tail []byte
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			marker, release := p.marker, p.release
			p.mu.Unlock()
			seen := append(tail, buf[:n]...)
			if marker != nil && bytes.Contains(seen, marker) {
				<-release
			}
			tail = append(tail[:0], seen[max(0, len(seen)-len(marker)):]...)
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func waitEntered(t *testing.T, entered <-chan string) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never ran")
	}
}

func TestPruneKeepsDeadLettersAndRecentRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, fastConfig(config.EventsPostgres)) // Retention: 1h
	r := w.replica(&sink{})                             // not started: the rows below are the whole state

	w.exec(`INSERT INTO evtpub.event_outbox (id, type, key, payload, occurred_at, forwarded_at) VALUES
		(gen_random_uuid(), $1, 'old', '{}', now() - interval '3 hours', now() - interval '2 hours'),
		(gen_random_uuid(), $1, 'recent', '{}', now() - interval '3 hours', now() - interval '10 minutes'),
		(gen_random_uuid(), $1, 'unforwarded', '{}', now() - interval '3 hours', NULL)`, thingType)
	w.exec(`INSERT INTO evtsub.event_inbox (subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at, received_at, status, handled_at) VALUES
		($1, gen_random_uuid(), 'evtpub', 1, $2, 'old', '{}', now() - interval '3 hours', now() - interval '3 hours', 'done', now() - interval '2 hours'),
		($1, gen_random_uuid(), 'evtpub', 2, $2, 'recent', '{}', now() - interval '3 hours', now() - interval '3 hours', 'done', now() - interval '10 minutes'),
		($1, gen_random_uuid(), 'evtpub', 3, $2, 'dead', '{}', now() - interval '3 hours', now() - interval '3 hours', 'dead', NULL),
		($1, gen_random_uuid(), 'evtpub', 4, $2, 'pending', '{}', now() - interval '3 hours', now() - interval '3 hours', 'pending', NULL)`,
		subscriber, thingType)

	for _, db := range []string{pubModule, subModule} {
		target := r.pub
		if db == subModule {
			target = r.sub
		}
		if err := r.bus.Prune(ctx, target); err != nil {
			t.Fatalf("Prune(%s) = %v", db, err)
		}
	}
	if got := keys(t, w, `SELECT key FROM evtpub.event_outbox ORDER BY key`); got != "recent,unforwarded" {
		t.Errorf("outbox keeps %s, want recent,unforwarded", got)
	}
	if got := keys(t, w, `SELECT key FROM evtsub.event_inbox ORDER BY key`); got != "dead,pending,recent" {
		t.Errorf("inbox keeps %s, want dead,pending,recent", got)
	}
}

func keys(t *testing.T, w *world, query string) string {
	t.Helper()
	var got string
	if err := w.owner.QueryRow(context.Background(), `SELECT coalesce(string_agg(key, ','), '') FROM (`+query+`) q`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDeadLettersListOrphanedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, fastConfig(config.EventsPostgres))
	r := w.replica(&sink{})
	// evtsub.renamed was the subscriber id of a handler since renamed: its
	// undelivered event waits for nobody. A pending event of the registered
	// subscriber is no dead letter.
	w.exec(`INSERT INTO evtsub.event_inbox (subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at, status, attempts, last_error) VALUES
		('evtsub.renamed', gen_random_uuid(), 'evtpub', 1, $1, 'orphan', '{}', now(), 'pending', 0, NULL),
		($2, gen_random_uuid(), 'evtpub', 2, $1, 'dead', '{}', now(), 'dead', 3, 'gave up'),
		($2, gen_random_uuid(), 'evtpub', 3, $1, 'waiting', '{}', now(), 'pending', 0, NULL)`, thingType, subscriber)

	dead, err := r.bus.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]events.DeadLetter{}
	for _, d := range dead {
		got[d.Key] = d
	}
	if len(dead) != 2 || !got["orphan"].Orphaned || got["orphan"].Subscriber != "evtsub.renamed" || got["orphan"].Module != subModule {
		t.Errorf("DeadLetters = %+v, want the orphan (Orphaned) and the dead letter", dead)
	}
	if d := got["dead"]; d.Orphaned || d.Error != "gave up" || d.Attempts != 3 {
		t.Errorf("dead letter = %+v", d)
	}

	r.start(t)
	eventstest.Eventually(t, 10*time.Second, "orphans reported in the gauge", func() bool {
		return metric(t, r.reg, "shop_events_orphaned", map[string]string{"module": subModule, "subscriber": "evtsub.renamed"}) == 1
	})
}
