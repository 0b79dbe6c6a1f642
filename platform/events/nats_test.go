package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/health"
)

// The nats transport's own failure modes: a broker outage, a subscriber
// that dies between its inbox commit and its ack, a relay that publishes
// again after a crash, and a subscriber that was not running while its
// events were published.

const (
	pubStream     = "SHOP_EVTPUB"
	durable       = "evtsub-effects"
	priorityGroup = "inbox" // of every subscriber's consumer, pinned to one client at a time
	eventsSubject = "shop.events."
)

// jetStream is a client of the world's broker, for looking at streams and
// consumers as an operator would.
func (w *world) jetStream() jetstream.JetStream {
	w.t.Helper()
	return w.nats.JetStream(w.t)
}

// streamSeqs lists the outbox seqs of the messages in evtpub's stream, in
// stream order.
func streamSeqs(t *testing.T, js jetstream.JetStream) []int64 {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, pubStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.Stream(ctx, pubStream)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.CachedInfo().State.Msgs)
	var seqs []int64
	for len(seqs) < n {
		batch, err := cons.Fetch(n-len(seqs), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			seq, err := strconv.ParseInt(m.Headers().Get("Shop-Outbox-Seq"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, seq)
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	return seqs
}

// readiness serves /readyz once and returns its status code and status.
func readiness(t *testing.T, h *health.State) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.Ready(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var rep struct{ Status string }
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return rec.Code, rep.Status
}

// While the broker is down, publishing commits and events wait in the
// outbox; readiness stays 200 but says degraded, and the connection gauge
// drops. Once the broker is back (same port, same store), every event is
// delivered exactly once, in per-key order.
func TestEventsPublishedWhileTheBrokerIsDownAreDeliveredWhenItReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, fastConfig(config.EventsNATS))
	r := w.replica(&sink{}).start(t)
	h := health.NewState(time.Second)
	r.bus.ReportHealth(h)
	connected := func() float64 { return metric(t, r.reg, "shop_events_broker_connected", nil) }

	r.publish(t, ctx, thing("a", 0))
	eventstest.Eventually(t, 10*time.Second, "first event handled", func() bool { return w.effects() == 1 })
	if code, status := readiness(t, h); code != http.StatusOK || status != "ok" || connected() != 1 {
		t.Errorf("with the broker up: readiness %d %s, connected %v", code, status, connected())
	}

	w.nats.Stop()
	eventstest.Eventually(t, 10*time.Second, "disconnection noticed", func() bool { return connected() == 0 })
	if code, status := readiness(t, h); code != http.StatusOK || status != "degraded" {
		t.Errorf("with the broker down: readiness %d %s, want 200 degraded", code, status)
	}
	const perKey = 10
	for n := 1; n <= perKey; n++ {
		r.publish(t, ctx, thing("a", n), thing("b", n), thing("c", n)) // commits all the same
	}
	if n := w.count(`SELECT count(*) FROM evtpub.event_outbox WHERE forwarded_at IS NULL`); n != 3*perKey {
		t.Errorf("%d events wait in the outbox, want %d", n, 3*perKey)
	}

	w.nats.Restart()
	total := 1 + 3*perKey
	eventstest.Eventually(t, 20*time.Second, "every event handled after the broker returned", func() bool { return w.effects() == total })
	eventstest.Eventually(t, 10*time.Second, "reconnection noticed", func() bool { return connected() == 1 })
	if code, status := readiness(t, h); code != http.StatusOK || status != "ok" {
		t.Errorf("with the broker back: readiness %d %s, want 200 ok", code, status)
	}
	w.checkKeyOrder()
	if n := r.sink.calls.Load(); n != int64(total) {
		t.Errorf("handler called %d times for %d events", n, total)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != total {
		t.Errorf("inbox holds %d rows, want %d", n, total)
	}
	if seqs := streamSeqs(t, w.jetStream()); len(seqs) != total {
		t.Errorf("the stream holds %d messages, want %d", len(seqs), total)
	}
}

// A subscriber that committed an event into its inbox and died before
// acknowledging it gets it again; the inbox drops the duplicate and the
// handler runs once.
func TestAnEventRedeliveredAfterACrashBetweenInboxCommitAndAckHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	cons, _ := w.dieBeforeAck(ctx)

	fresh := w.replica(&sink{}).start(t)
	eventstest.Eventually(t, 10*time.Second, "event handled", func() bool { return w.effects() == 1 })
	// After the ack wait the message comes again, to the new process, which
	// acknowledges it once its inbox insert found the row.
	waitAcked(t, cons, 1)
	if n := fresh.sink.calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != 1 {
		t.Errorf("inbox holds %d rows, want 1", n)
	}
	if n := w.effects(); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
}

// dieBeforeAck publishes one event for the subscriber, whose durable
// consumer exists but which no process runs, then plays a subscriber process
// that dies after its inbox commit: it takes the message, commits it into
// the inbox as the consumer does, and never acknowledges it. It uses two of
// the world's replicas and returns the consumer and the unacknowledged
// message.
func (w *world) dieBeforeAck(ctx context.Context) (jetstream.Consumer, jetstream.Msg) {
	cons, msg, _ := w.holdUnacked(ctx)
	hd := msg.Headers()
	w.exec(`INSERT INTO evtsub.event_inbox (subscriber, event_id, publisher, source_seq, type, key, payload, metadata, occurred_at)
		VALUES ($1, $2, 'evtpub', $3, $4, $5, $6, $7, $8)`,
		subscriber, hd.Get(jetstream.MsgIDHeader), hd.Get("Shop-Outbox-Seq"), msg.Subject()[len(eventsSubject):],
		hd.Get("Shop-Event-Key"), string(msg.Data()), hd.Get("Shop-Metadata"), hd.Get("Shop-Occurred-At"))
	return cons, msg
}

// holdUnacked publishes thing("k", 1) for the subscriber, whose durable
// consumer exists but which no process runs, and takes its message from the
// consumer as a subscriber process would, without acknowledging it: that
// client holds the consumer's pin until it expires. It uses
// two of the world's replicas and returns the consumer, the message and the
// running replica that publishes (it hosts evtpub only).
func (w *world) holdUnacked(ctx context.Context) (jetstream.Consumer, jetstream.Msg, *replica) {
	t := w.t
	t.Helper()
	registrar := w.replica(&sink{}).start(t)
	if err := registrar.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	relay := w.replica(nil).start(t)
	relay.publish(t, ctx, thing("k", 1))
	waitRelayed(t, w)
	js := w.jetStream()
	cons, err := js.Consumer(ctx, pubStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(priorityGroup))
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := <-batch.Messages()
	if !ok {
		t.Fatalf("no message to take: %v", batch.Error())
	}
	return cons, msg, relay
}

// A subscriber's process writes nothing into its inbox while an earlier
// event of the subscriber is held by another process (one that died
// holding it, or a competing replica): the later events of its key would be
// handled first. Once the held event is redelivered, both are written and
// handled in order.
func TestLaterEventsWaitForAnEarlierOneHeldByAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	cons, _, relay := w.holdUnacked(ctx)
	relay.publish(t, ctx, thing("k", 2), thing("k", 3))
	waitRelayed(t, w)

	fresh := w.replica(&sink{}).start(t)
	// The held message comes again after the ack wait (2 s), to the new
	// process, which then writes the three events together.
	eventstest.Eventually(t, 20*time.Second, "every event handled", func() bool { return w.effects() == 3 })
	w.checkKeyOrder()
	waitAcked(t, cons, 3)
	if n := fresh.sink.calls.Load(); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
}

// waitAcked waits until the consumer's messages, the first n of the stream,
// are acknowledged.
func waitAcked(t *testing.T, cons jetstream.Consumer, n uint64) {
	t.Helper()
	eventstest.Eventually(t, 20*time.Second, "the redelivery acknowledged", func() bool {
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.NumAckPending == 0 && info.AckFloor.Stream == n
	})
}

// A message redelivered while a call handler holds its event on a lease
// leaves the lease alone (the consumer only inserts, and the row exists): no
// second worker takes the event, and the handler's outcome is recorded once.
func TestARedeliveryWhileACallHandlerHoldsTheLeaseLeavesItAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsNATS) // two workers
	cfg.Events.NATSAckWait = time.Minute // the message comes again when the test naks it
	w := newWorldOf(t, cfg, 3)
	w.calls = true
	cons, msg := w.dieBeforeAck(ctx)

	s, entered, release := blockingSink()
	fresh := w.replica(s).start(t)
	free := closer(t, release)
	waitEntered(t, entered)
	leased := w.inboxRow()
	if leased.status != "pending" || leased.token == "" {
		t.Fatalf("inbox row while the handler runs = %+v, want pending with a lease", leased)
	}
	if err := msg.Nak(); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, cons, 1)
	if got := w.inboxRow(); got != leased {
		t.Errorf("inbox row after the redelivery = %+v, want it unchanged: %+v", got, leased)
	}

	free()
	eventstest.Eventually(t, 10*time.Second, "event done", func() bool { return inboxStatus(t, w) == "done" })
	if n := s.calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	if n := w.count(`SELECT attempts FROM evtsub.event_inbox`); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
	if n := w.effects(); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
	if got := metric(t, fresh.reg, "shop_events_delivered_total", map[string]string{"subscriber": subscriber}); got != 1 {
		t.Errorf("delivered = %v, want 1", got)
	}
}

// leaseState is the inbox row of the world's one event, as dispatch sees it.
type leaseState struct {
	status   string
	attempts int
	token    string // "" when not leased
	next     string // next_attempt_at
}

func (w *world) inboxRow() leaseState {
	w.t.Helper()
	var r leaseState
	if err := w.owner.QueryRow(context.Background(),
		`SELECT status, attempts, coalesce(lease_token::text, ''), next_attempt_at::text FROM evtsub.event_inbox`).Scan(&r.status, &r.attempts, &r.token, &r.next); err != nil {
		w.t.Fatal(err)
	}
	return r
}

// A relay that crashed after publishing, before marking its outbox rows,
// publishes them again together with newer events: the stream's duplicate
// window drops the re-published ones, and the newer ones are stored after
// them, once each, in outbox order.
func TestARepublishAfterARelayCrashStoresEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 2)
	old := w.replica(&sink{}).start(t)
	old.publish(t, ctx, thing("k", 1), thing("k", 2))
	eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 2 })
	if err := old.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// As if the relay had died before its outbox update committed; newer
	// events are committed meanwhile, so one batch holds both.
	w.exec(`UPDATE evtpub.event_outbox SET forwarded_at = NULL`)
	old.publish(t, ctx, thing("k", 3), thing("k", 4))

	fresh := w.replica(&sink{}).start(t)
	waitRelayed(t, w)
	eventstest.Eventually(t, 10*time.Second, "newer events handled", func() bool { return w.effects() == 4 })
	seqs := streamSeqs(t, w.jetStream())
	want := make([]int64, 0, 4)
	rows, err := w.owner.Query(ctx, `SELECT seq FROM evtpub.event_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	if len(seqs) != len(want) {
		t.Fatalf("the stream holds outbox seqs %v, want %v", seqs, want)
	}
	for i := range want {
		if seqs[i] != want[i] {
			t.Errorf("the stream holds outbox seqs %v, want %v", seqs, want)
			break
		}
	}
	if n := fresh.sink.calls.Load(); n != 2 {
		t.Errorf("the new process handled %d events, want the 2 newer ones", n)
	}
	w.checkKeyOrder()
}

// A subscriber's durable consumer is its fan-out record: events published
// while no process runs the subscriber, by replicas that know nothing of
// it, wait in the stream and reach it when a process runs it again.
func TestEventsPublishedWhileNoProcessRunsTheSubscriberReachItLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	registrar := w.replica(&sink{}).start(t)
	if err := registrar.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	blind := w.replica(nil).start(t) // hosts evtpub only
	const total = 10
	for n := range total {
		blind.publish(t, ctx, thing("k", n))
	}
	waitRelayed(t, w)
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != 0 {
		t.Errorf("%d events in the inbox while no process runs the subscriber", n)
	}
	reaching := w.replica(&sink{}).start(t)
	eventstest.Eventually(t, 10*time.Second, "every event handled", func() bool { return w.effects() == total })
	if n := reaching.sink.calls.Load(); n != total {
		t.Errorf("handler called %d times, want %d", n, total)
	}
	w.checkKeyOrder()
}

// Forgetting a retired subscriber id deletes its durable consumers from the
// stream of every publisher it followed, hosted in the process or not, so
// that the broker stops keeping events for it; the operator's command does
// it from a process whose bus does not run. Publishing and delivery to the
// other subscribers go on, and forgetting again deletes nothing.
func TestForgetDeletesTheRetiredSubscribersConsumers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	const retired, retiredDurable, otherStream = "evtsub.retired", "evtsub-retired", "SHOP_EVTOTHER"
	old := w.replica(&sink{})
	typ, h := events.On(func(context.Context, *gorm.DB, thingHappened, events.Envelope) error { return nil })
	otherTyp, otherH := events.On(func(context.Context, *gorm.DB, stranger, events.Envelope) error { return nil })
	if err := old.bus.Subscribe(old.sub, retired, typ, h); err != nil {
		t.Fatal(err)
	}
	if err := old.bus.Subscribe(old.sub, retired, otherTyp, otherH); err != nil {
		t.Fatal(err)
	}
	old.start(t)
	if err := old.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The next version has no such subscriber; its consumer keeps the
	// events published since, for nobody.
	js := w.jetStream()
	current := w.replica(&sink{}).start(t)
	current.publish(t, ctx, thing("k", 1), thing("k", 2))
	eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 2 })
	eventstest.Eventually(t, 10*time.Second, "events kept for the retired id", func() bool {
		c, err := js.Consumer(ctx, pubStream, retiredDurable)
		return err == nil && c.CachedInfo().NumPending == 2
	})
	w.exec(`UPDATE evtpub.event_subscriptions SET seen_at = now() - interval '1 day' WHERE subscriber = $1`, retired)

	command := w.replica(&sink{}) // an operator's command: its bus does not run
	got, err := command.bus.Forget(ctx, retired)
	if err != nil || got != (events.Forgotten{Registrations: 1, Consumers: 2}) {
		t.Fatalf("Forget = %+v, %v; want 1 registration and 2 consumers", got, err)
	}
	for _, stream := range []string{pubStream, otherStream} {
		if _, err := js.Consumer(ctx, stream, retiredDurable); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("the retired id's consumer on %s after Forget: %v, want not found", stream, err)
		}
	}
	if _, err := js.Consumer(ctx, pubStream, durable); err != nil {
		t.Errorf("the running subscriber's consumer after Forget: %v", err)
	}

	current.publish(t, ctx, thing("k", 3))
	eventstest.Eventually(t, 10*time.Second, "event handled after Forget", func() bool { return w.effects() == 3 })
	if got, err := current.bus.Forget(ctx, retired); err != nil || got != (events.Forgotten{}) {
		t.Errorf("Forget again = %+v, %v; want nothing deleted", got, err)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE subscriber = $1`, retired); n != 0 {
		t.Errorf("the forgotten id has %d inbox rows", n)
	}
}

// Events relayed and received one batch at a time cost no stream-info or
// consumer-info request each once the relay and the pinned consumer are
// under way: the relay knows the stream's last sequence from its previous
// acks, and the consumer knows that nothing but what it holds is in flight
// while its deliveries run on unbroken. (The held-event and competing-
// replica tests show the consumer-info check still runs when they do not.)
func TestInfoRequestsDoNotGrowWithTheEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 1)
	counts := apiRequests(t, w, "$JS.API.STREAM.INFO."+pubStream, "$JS.API.CONSUMER.INFO."+pubStream+"."+durable)
	requests := func() (stream, consumer int) {
		c := counts()
		return c[0], c[1]
	}

	r := w.replica(&sink{}).start(t)
	r.publish(t, ctx, thing("k", 0))
	eventstest.Eventually(t, 10*time.Second, "the first event handled", func() bool { return w.effects() == 1 })
	stream0, consumer0 := requests()
	if stream0 == 0 || consumer0 == 0 {
		t.Fatalf("%d stream-info and %d consumer-info requests for the first event, want some of each", stream0, consumer0)
	}
	const n = 20
	for i := 1; i <= n; i++ {
		r.publish(t, ctx, thing("k", i))
		eventstest.Eventually(t, 10*time.Second, "the event handled", func() bool { return w.effects() == i+1 })
	}
	if stream, consumer := requests(); stream != stream0 || consumer != consumer0 {
		t.Errorf("%d more events took %d stream-info and %d consumer-info requests, want none", n, stream-stream0, consumer-consumer0)
	}
	w.checkKeyOrder()
}

// Each event relayed and received one at a time costs the server four
// messages in steady state: the relay's publish and the stream's ack of it,
// the delivery to the pinned consumer and the consumer's ack — no pull
// request, no confirmation of the ack, no info request per event. (An idle
// consumer renews its pull once per pull expiry, half the pinned TTL, up to
// 30 s: a long TTL here keeps that out of the count, which is the cost per
// event; should the run take longer than a heartbeat period, 15 s, the
// heartbeat, the pull's end and its renewal are allowed for.)
func TestTheBrokerHandlesFourMessagesPerEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsNATS)
	cfg.Events.PollInterval = 2 * time.Second // the default: the safety poll, not the pipeline
	cfg.Events.NATSPinnedTTL = time.Minute
	w := newWorldOf(t, cfg, 1)
	r := w.replica(&sink{}).start(t)
	r.publish(t, ctx, thing("k", 0))
	eventstest.Eventually(t, 10*time.Second, "the first event handled", func() bool { return w.effects() == 1 })
	in0, out0 := w.nats.Messages()
	start := time.Now()

	const n = 40
	for i := 1; i <= n; i++ {
		r.publish(t, ctx, thing("k", i))
		eventstest.Eventually(t, 10*time.Second, "the event handled", func() bool { return w.effects() == i+1 })
	}
	in, out := w.nats.Messages()
	in, out = in-in0, out-out0
	// Each window's edge may hold one event's ack on either side.
	const perEvent, slack = 4, 2
	idle := 3 * int64(time.Since(start)/(15*time.Second))
	t.Logf("%d events in %s: the server received %d messages and sent %d (%.2f per event)",
		n, time.Since(start).Round(time.Millisecond), in, out, float64(in+out)/n)
	if in+out > perEvent*n+slack+idle {
		t.Errorf("%d events cost the server %d messages (%d in, %d out), want at most %d per event", n, in+out, in, out, perEvent)
	}
	w.checkKeyOrder()
}

// apiRequests counts requests to the JetStream API on each of subjects: a
// plain subscriber gets a copy of every request on them, besides the
// server. The counts it returns are those so far: the server delivers the
// requests to this connection before its answer to the flush's ping.
func apiRequests(t *testing.T, w *world, subjects ...string) func() []int {
	t.Helper()
	nc, err := nats.Connect(w.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	subs := make([]*nats.Subscription, len(subjects))
	for i, subject := range subjects {
		if subs[i], err = nc.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() []int {
		t.Helper()
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		counts := make([]int, len(subs))
		for i, sub := range subs {
			n, _, err := sub.Pending()
			if err != nil {
				t.Fatal(err)
			}
			counts[i] = n
		}
		return counts
	}
}

// A process that starts sets up the streams it uses, but leaves a stream
// whose settings are already its own alone: a needless update has the
// server rewrite the stream's configuration while other processes create
// their consumers on it. A stream whose settings differ is updated.
func TestAStartingProcessUpdatesOnlyAStreamSetOtherwise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	counts := apiRequests(t, w, "$JS.API.STREAM.UPDATE."+pubStream, "$JS.API.CONSUMER.INFO."+pubStream+"."+durable)
	updates := func() int { return counts()[0] }
	consumerInfo := func() int { return counts()[1] }
	// started starts a replica and waits until it has set its consumer up,
	// which it does after its streams.
	started := func() {
		t.Helper()
		before := consumerInfo()
		w.replica(&sink{}).start(t)
		eventstest.Eventually(t, 10*time.Second, "the replica's consumer set up", func() bool { return consumerInfo() > before })
	}

	started() // creates the stream
	started()
	if n := updates(); n != 0 {
		t.Fatalf("%d stream updates by replicas starting on a stream set as they would set it, want none", n)
	}

	js := w.jetStream()
	s, err := js.Stream(ctx, pubStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	want := cfg.MaxAge
	cfg.MaxAge = want + time.Hour
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	before := updates()
	started()
	if n := updates() - before; n != 1 {
		t.Errorf("%d stream updates by a replica starting on a stream set otherwise, want 1", n)
	}
	if s, err = js.Stream(ctx, pubStream); err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != want {
		t.Errorf("stream's MaxAge %v after the replica started, want its setting %v back", got, want)
	}
}
