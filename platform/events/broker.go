package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/health"
)

// The nats transport: a publisher's relay publishes its committed events,
// in outbox order, to the publisher's JetStream stream; every subscriber id
// has a durable consumer on it, and a loop in the subscriber's process writes
// what it receives into the subscriber module's inbox, where dispatch takes
// over unchanged. The durable consumers are the fan-out record: the relay
// publishes every event, whoever subscribes.

// Headers of an event message; the type is the subject's tail and the
// payload the message's data.
const (
	subjectPrefix    = "shop.events."
	headerKey        = "Shop-Event-Key"
	headerSeq        = "Shop-Outbox-Seq" // the publisher's outbox seq: the inbox's source_seq
	headerOccurredAt = "Shop-Occurred-At"
	headerMetadata   = "Shop-Metadata"
)

// errBrokerDown ends a relay or consumer round while the client is not
// connected; the connection's own handlers log the outage once.
var errBrokerDown = errors.New("not connected to the NATS server")

// broker is the bus's JetStream client.
type broker struct {
	cfg       config.Events
	log       *slog.Logger
	connected prometheus.Gauge

	nc *nats.Conn
	js jetstream.JetStream

	setupMu sync.Mutex
	ready   atomic.Bool // every stream and consumer of this process exists on the server

	// since is when this process took up its subscriptions (the bus's
	// start, less a margin for the clocks of the process and the server): a
	// durable consumer created later, once the broker is reachable, starts
	// there, so nothing published in between is missed.
	since time.Time

	seqMu    sync.Mutex
	lastSeqs map[string]uint64 // by stream: its last sequence as this process's relay left it (see publishBatch)

	turnMu sync.Mutex
	turns  map[string]chan struct{} // by stream: closed when its publishes in flight may be lost (see turn)
}

// clockMargin is how much earlier than the bus's start a new durable
// consumer begins, for the clocks of the process and the server. A new
// subscriber may thus also get a few events from just before it started.
const clockMargin = 5 * time.Second

func newBroker(cfg config.Events, log *slog.Logger, reg prometheus.Registerer) (*broker, error) {
	connected := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_events_broker_connected", Help: "1 while the event transport's NATS connection is up, 0 otherwise.",
	})
	if err := reg.Register(connected); err != nil {
		return nil, err
	}
	return &broker{cfg: cfg, log: log, connected: connected, lastSeqs: map[string]uint64{}, turns: map[string]chan struct{}{}}, nil
}

// streamName is the JetStream stream of a publishing module's events.
func streamName(publisher string) string { return "SHOP_" + strings.ToUpper(publisher) }

// durableName is a subscriber id's consumer name. Ids hold [a-z0-9_.] and
// consumer names may not hold dots; '-' occurs in no id, so the mapping is
// one to one.
func durableName(subscriber string) string { return strings.ReplaceAll(subscriber, ".", "-") }

// connect dials the servers. It does not wait for them: with the broker
// down the shop starts, publishing commits into the outbox, and the client
// keeps reconnecting; wake runs on every (re)connection so that the relays
// and consumers catch up at once.
func (k *broker) connect(wake func()) error {
	nc, err := nats.Connect(k.cfg.NATSURL,
		nats.Name("shop"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(*nats.Conn) {
			k.connected.Set(1)
			wake()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			k.connected.Set(1)
			k.log.Info("event broker reconnected", slog.String("server", nc.ConnectedUrlRedacted()))
			wake()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			k.connected.Set(0)
			k.ready.Store(false) // a restarted server may have lost its streams: set them up again
			k.endTurns("")
			msg := "connection closed"
			if err != nil {
				msg = err.Error()
			}
			k.log.Warn("event broker disconnected; events wait in the outbox and relaying resumes on reconnection", slog.String("error", msg))
		}),
		nats.ClosedHandler(func(*nats.Conn) { k.connected.Set(0) }),
	)
	if err != nil {
		return fmt.Errorf("events: nats: %w", err)
	}
	if nc.IsConnected() {
		k.connected.Set(1)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithPublishAsyncMaxPending(2*relayBatch))
	if err != nil {
		nc.Close()
		return fmt.Errorf("events: jetstream: %w", err)
	}
	// A stream that elects a leader (its leader's node was lost, or it
	// stepped down) has dropped the publishes its old leader had not
	// answered: the relay publishes them again at once instead of waiting
	// for their acks' timeout. The subscription outlives reconnections.
	if _, err := nc.Subscribe(leaderElectedSubject+"*", func(m *nats.Msg) {
		k.endTurns(strings.TrimPrefix(m.Subject, leaderElectedSubject))
		wake()
	}); err != nil {
		nc.Close()
		return fmt.Errorf("events: nats: %w", err)
	}
	k.nc, k.js = nc, js
	return nil
}

// leaderElectedSubject, followed by a stream's name, is where JetStream
// announces that the stream elected a leader.
const leaderElectedSubject = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."

// errTurnEnded ends a relay round whose publishes may have been lost on the
// way: the stream elected a leader, or the connection dropped, before every
// one was acknowledged. The relay publishes them again (the stream drops
// those it stored by their ids).
var errTurnEnded = errors.New("the stream elected a leader or the connection dropped while publishing")

// turn returns a channel closed when the publishes in flight to a stream
// may be lost: it elects a leader, or the connection drops.
func (k *broker) turn(stream string) <-chan struct{} {
	k.turnMu.Lock()
	defer k.turnMu.Unlock()
	ch, ok := k.turns[stream]
	if !ok {
		ch = make(chan struct{})
		k.turns[stream] = ch
	}
	return ch
}

// endTurns ends the turn of a stream, or, for "", of every stream.
func (k *broker) endTurns(stream string) {
	k.turnMu.Lock()
	defer k.turnMu.Unlock()
	for name, ch := range k.turns {
		if stream == "" || name == stream {
			close(ch)
			delete(k.turns, name)
		}
	}
}

func (k *broker) close() {
	if k.nc != nil {
		k.nc.Close()
	}
}

// check is the broker's readiness check.
func (k *broker) check(context.Context) error {
	if k.nc == nil || !k.nc.IsConnected() {
		return errBrokerDown
	}
	return nil
}

// streamConfig is a publisher's stream: its events' subjects, kept for the
// retention period, with the duplicate window that drops a re-publish after
// a relay crashed before marking its outbox rows.
func (k *broker) streamConfig(publisher string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        streamName(publisher),
		Description: "events published by the " + publisher + " module",
		Subjects:    []string{subjectPrefix + publisher + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      k.cfg.Retention,
		Storage:     jetstream.FileStorage,
		Replicas:    k.cfg.NATSReplicas,
		Duplicates:  k.cfg.NATSDuplicateWindow,
	}
}

// consumerConfig is a subscriber id's durable consumer on one publisher's
// stream. A new one starts with the events published since this process
// took the subscription up (a new subscriber is not back-filled, as in the
// postgres transport), however late the broker became reachable; an
// existing one resumes where it stopped (see ensureConsumer). Up to a batch
// may be unacknowledged. Its priority group pins it to one replica at a
// time (see consume), which another takes over once the pinned one stopped
// pulling for the pinned TTL.
func (k *broker) consumerConfig(s *subscription, publisher string) jetstream.ConsumerConfig {
	var subjects []string
	for typ := range s.handlers {
		if publisherOf(typ) == publisher {
			subjects = append(subjects, subjectPrefix+typ)
		}
	}
	slices.Sort(subjects)
	return jetstream.ConsumerConfig{
		Durable:        durableName(s.id),
		Description:    "inbox of " + s.id,
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &k.since,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        k.cfg.NATSAckWait,
		MaxAckPending:  consumeBatch,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{priorityGroup},
		PinnedTTL:      k.cfg.NATSPinnedTTL,
	}
}

// subscribedPublishers lists the publishers of a subscription's types.
func subscribedPublishers(s *subscription) []string {
	var pubs []string
	for typ := range s.handlers {
		if p := publisherOf(typ); !slices.Contains(pubs, p) {
			pubs = append(pubs, p)
		}
	}
	slices.Sort(pubs)
	return pubs
}

// startBroker connects and sets up the streams and consumers. With the
// broker down it starts all the same: the relays and consumers set them up
// once it is reachable, before anything is published.
func (b *Bus) startBroker(ctx context.Context) error {
	b.broker.since = b.now().Add(-clockMargin)
	if err := b.broker.connect(b.wakeAll); err != nil {
		return err
	}
	if err := b.setupBroker(ctx); err != nil && !errors.Is(err, errBrokerDown) {
		b.log.Warn("event broker not set up yet; relays and consumers retry", slog.String("error", err.Error()))
	}
	return nil
}

// ReportHealth adds the broker's connection to readiness, with the nats
// transport. An outage delays events but loses none (they wait in the
// outbox), and every replica shares the broker, so it degrades readiness
// instead of failing it: failing it would take every replica out of the load
// balancer at once.
func (b *Bus) ReportHealth(h *health.State) {
	if b.broker != nil {
		h.AddDegradable("events:broker", b.broker.check)
	}
}

// setupBroker creates or updates, idempotently, the stream of every
// publisher this process hosts or subscribes to and the durable consumer of
// every subscription, once per connection. No relay of this process
// publishes before it succeeded, so a subscription new in this process gets
// every event relayed from then on.
func (b *Bus) setupBroker(ctx context.Context) error {
	k := b.broker
	if k.ready.Load() {
		return nil
	}
	k.setupMu.Lock()
	defer k.setupMu.Unlock()
	if k.ready.Load() {
		return nil
	}
	if !k.nc.IsConnected() {
		return errBrokerDown
	}
	pubs := make([]string, 0, len(b.publishers))
	for p := range b.publishers {
		pubs = append(pubs, p)
	}
	for _, s := range b.subs {
		pubs = append(pubs, subscribedPublishers(s)...)
	}
	slices.Sort(pubs)
	for _, p := range slices.Compact(pubs) {
		if err := withAPITimeout(ctx, func(ctx context.Context) error {
			return k.ensureStream(ctx, k.streamConfig(p))
		}); err != nil {
			return fmt.Errorf("stream %s: %w", streamName(p), err)
		}
	}
	for _, s := range b.subs {
		for _, p := range subscribedPublishers(s) {
			if err := withAPITimeout(ctx, func(ctx context.Context) error {
				return k.ensureConsumer(ctx, streamName(p), k.consumerConfig(s, p))
			}); err != nil {
				return fmt.Errorf("consumer %s on %s: %w", durableName(s.id), streamName(p), err)
			}
		}
	}
	k.ready.Store(true)
	return nil
}

// apiTimeout bounds the JetStream API requests of one step (setting up a
// stream or a consumer, asking a stream's last sequence). The server
// answers in milliseconds, but a request sent while the stream or the
// cluster's metadata has no leader (its node was lost, an election is
// under way) gets no answer at all: the loop that asked tries again on its
// next round rather than wait longer.
const apiTimeout = 2 * time.Second

// withAPITimeout runs a step of JetStream API requests within apiTimeout.
func withAPITimeout(ctx context.Context, step func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return step(ctx)
}

// ensureConsumer creates a durable consumer, or updates an existing one
// while keeping where it starts (a consumer's start cannot change, and it
// must not: it resumes where it stopped). Its filters, ack wait, limits and
// priority settings are updated in place, so one made by an earlier version
// becomes pinned without losing its position.
// ensureStream creates the stream, or updates it only when its settings
// differ from cfg: every process sets up the streams it uses as it starts,
// and an update for nothing would have the server rewrite the stream's
// configuration while other processes create their consumers on it.
func (k *broker) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	for range 2 {
		s, err := k.js.Stream(ctx, cfg.Name)
		switch {
		case err == nil:
			if sameStream(s.CachedInfo().Config, cfg) {
				return nil
			}
			_, err = k.js.UpdateStream(ctx, cfg)
			return err
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return err
		}
		_, err = k.js.CreateStream(ctx, cfg)
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		// Another process created it meanwhile, set otherwise: update it.
	}
	return fmt.Errorf("stream %s: created and removed concurrently", cfg.Name)
}

// sameStream reports whether the stream's settings (have, as the server
// reports them) are those of want; a zero field of want is the server's
// default.
func sameStream(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention && have.MaxAge == want.MaxAge && have.Storage == want.Storage &&
		have.Replicas == max(want.Replicas, 1) && (want.Duplicates == 0 || have.Duplicates == want.Duplicates)
}

func (k *broker) ensureConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) error {
	for range 2 {
		c, err := k.js.Consumer(ctx, stream, cfg.Durable)
		switch {
		case err == nil:
			have := c.CachedInfo().Config
			cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
			_, err = k.js.UpdateConsumer(ctx, stream, cfg)
			return err
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return err
		}
		_, err = k.js.CreateConsumer(ctx, stream, cfg)
		if !errors.Is(err, jetstream.ErrConsumerExists) {
			return err
		}
		// Another replica created it meanwhile: update that one.
	}
	return fmt.Errorf("consumer %s: created and removed concurrently", cfg.Durable)
}

// publishBatch publishes a relay batch to the publisher's stream, in order,
// and returns how many events from its start the stream holds (stored now,
// or earlier: a duplicate). Each message is published asynchronously but
// expects the stream's last sequence to be its predecessor's, so no event is
// ever stored before an earlier one that failed: after a failure the rest
// of the batch is refused too. again reports a batch cut short only because
// a duplicate (a re-publish after a crash) did not advance the stream: the
// relay goes on at once.
//
// The first message expects the stream's last sequence as this process's
// previous batch left it (its last ack's), without asking the server; only
// when that is unknown (at start, after a failure or a duplicate), or when
// the stream refuses it because another replica's relay published since,
// does it ask the stream (one info request) and publish the batch again.
// A remembered sequence can only be behind the stream's (another relay
// published since), and then the first message is refused but a later one's
// expected sequence could match: so every message after the first also
// expects its predecessor to be the stream's last message (by its
// Nats-Msg-Id), which holds only if that one was just stored. Nothing after
// a refused message is stored, so the guarantees are the same as with a
// fresh sequence: a stale expectation costs a round trip, never an event
// out of order.
func (b *Bus) publishBatch(ctx context.Context, publisher string, batch []outboxRow) (stored int, again bool, err error) {
	if err := b.setupBroker(ctx); err != nil {
		return 0, false, err
	}
	k := b.broker
	if !k.nc.IsConnected() {
		return 0, false, errBrokerDown
	}
	name := streamName(publisher)
	last, known := k.lastSeq(name)
	if !known {
		if last, err = k.streamLastSeq(ctx, name); err != nil {
			return 0, false, err
		}
	}
	stored, again, err = k.publish(ctx, name, batch, last)
	if known && stored == 0 && wrongLastSequence(err) {
		if last, err = k.streamLastSeq(ctx, name); err != nil {
			return 0, false, err
		}
		stored, again, err = k.publish(ctx, name, batch, last)
	}
	return stored, again, err
}

// streamLastSeq asks the server for a stream's last sequence.
func (k *broker) streamLastSeq(ctx context.Context, name string) (uint64, error) {
	var stream jetstream.Stream
	err := withAPITimeout(ctx, func(ctx context.Context) (err error) {
		stream, err = k.js.Stream(ctx, name)
		return err
	})
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			k.ready.Store(false)
		}
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return stream.CachedInfo().State.LastSeq, nil
}

// lastSeq is a stream's last sequence as this process's relay last stored
// it, if known.
func (k *broker) lastSeq(name string) (uint64, bool) {
	k.seqMu.Lock()
	defer k.seqMu.Unlock()
	seq, ok := k.lastSeqs[name]
	return seq, ok
}

// publish publishes a batch after the stream's last sequence last (see
// publishBatch) and remembers where it left the stream: the sequence of its
// last message when the stream stored every one anew, unknown otherwise (a
// duplicate's ack carries the sequence of its original, not the stream's
// last).
func (k *broker) publish(ctx context.Context, name string, batch []outboxRow, last uint64) (stored int, again bool, err error) {
	turn := k.turn(name)
	acks := make([]jetstream.PubAckFuture, 0, len(batch))
	var sendErr error
	for i, o := range batch {
		opts := []jetstream.PublishOpt{
			jetstream.WithMsgID(o.id), jetstream.WithExpectStream(name), jetstream.WithExpectLastSequence(last + uint64(i)),
		}
		if i > 0 {
			opts = append(opts, jetstream.WithExpectLastMsgID(batch[i-1].id))
		}
		ack, err := k.js.PublishMsgAsync(message(o), opts...)
		if err != nil {
			sendErr = err
			break
		}
		acks = append(acks, ack)
	}
	k.seqMu.Lock()
	delete(k.lastSeqs, name)
	k.seqMu.Unlock()
	duplicate, end := false, uint64(0)
	for _, ack := range acks {
		select {
		case a := <-ack.Ok():
			stored++
			duplicate = duplicate || a.Duplicate
			end = a.Sequence
		case err := <-ack.Err():
			if duplicate && wrongLastSequence(err) {
				return stored, true, nil
			}
			return stored, false, fmt.Errorf("publish to %s: %w", name, err)
		case <-turn:
			return stored, false, fmt.Errorf("publish to %s: %w", name, errTurnEnded)
		case <-ctx.Done():
			return stored, false, ctx.Err()
		}
	}
	if sendErr != nil {
		return stored, false, fmt.Errorf("publish to %s: %w", name, sendErr)
	}
	if !duplicate && stored > 0 {
		k.seqMu.Lock()
		k.lastSeqs[name] = end
		k.seqMu.Unlock()
	}
	return stored, false, nil
}

// jsErrCodeStreamWrongLastMsgID refuses a message whose expected last
// message id is not the stream's (the client library names no constant).
const jsErrCodeStreamWrongLastMsgID jetstream.ErrorCode = 10070

// wrongLastSequence reports a message refused because the stream's last
// message was not the one it expected.
func wrongLastSequence(err error) bool {
	var jerr jetstream.JetStreamError
	if !errors.As(err, &jerr) || jerr.APIError() == nil {
		return false
	}
	code := jerr.APIError().ErrorCode
	return code == jetstream.JSErrCodeStreamWrongLastSequence || code == jetstream.JSErrCodeStreamWrongLastSequenceConstant ||
		code == jsErrCodeStreamWrongLastMsgID
}

// message is an outbox row as a JetStream message; the event id is its
// Nats-Msg-Id, by which the stream drops a re-publish.
func message(o outboxRow) *nats.Msg {
	m := nats.NewMsg(subjectPrefix + o.typ)
	m.Data = []byte(o.payload)
	m.Header.Set(headerKey, o.key)
	m.Header.Set(headerSeq, strconv.FormatInt(o.seq, 10))
	m.Header.Set(headerOccurredAt, o.occurredAt.UTC().Format(time.RFC3339Nano))
	m.Header.Set(headerMetadata, o.metadata)
	return m
}

// received reads an event message back into the row the relay read.
func received(msg jetstream.Msg) (outboxRow, error) {
	h := msg.Headers()
	o := outboxRow{
		id: h.Get(jetstream.MsgIDHeader), typ: strings.TrimPrefix(msg.Subject(), subjectPrefix), key: h.Get(headerKey),
		payload: string(msg.Data()), metadata: h.Get(headerMetadata),
	}
	var err error
	if _, perr := uuid.Parse(o.id); perr != nil {
		err = errors.Join(err, fmt.Errorf("event id %q: %w", o.id, perr))
	}
	seq, serr := strconv.ParseInt(h.Get(headerSeq), 10, 64)
	if serr != nil {
		err = errors.Join(err, fmt.Errorf("%s: %w", headerSeq, serr))
	}
	o.seq = seq
	if at, terr := time.Parse(time.RFC3339Nano, h.Get(headerOccurredAt)); terr != nil {
		err = errors.Join(err, fmt.Errorf("%s: %w", headerOccurredAt, terr))
	} else {
		o.occurredAt = at
	}
	if !typePattern.MatchString(o.typ) || o.key == "" || !json.Valid([]byte(o.payload)) || !json.Valid([]byte(o.metadata)) {
		err = errors.Join(err, errors.New("type, key, payload or metadata missing or malformed"))
	}
	return o, err
}

// deleteConsumers deletes a subscriber id's durable consumers from every
// stream of the shop's events (whichever process hosts the publisher) and
// returns how many there were: a retired id's consumers would otherwise
// keep every event for it until the stream's retention drops them. Deleting
// what is already gone is no error.
func (k *broker) deleteConsumers(ctx context.Context, subscriber string) (int, error) {
	js, done, err := k.session(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	names := js.StreamNames(ctx, jetstream.WithStreamListSubject(subjectPrefix+">"))
	var streams []string
	for name := range names.Name() {
		streams = append(streams, name)
	}
	if err := names.Err(); err != nil {
		return 0, fmt.Errorf("list the event streams: %w", err)
	}
	n := 0
	for _, stream := range streams {
		err := js.DeleteConsumer(ctx, stream, durableName(subscriber))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return n, fmt.Errorf("delete consumer %s on %s: %w", durableName(subscriber), stream, err)
		}
	}
	return n, nil
}

// session is a JetStream client for an operator's request: the running
// bus's, or, in a process whose bus does not run (a command), one
// connected for this request alone, closed by done. It returns
// KindUnavailable when the server cannot be reached.
func (k *broker) session(ctx context.Context) (js jetstream.JetStream, done func(), err error) {
	if k.nc != nil {
		if !k.nc.IsConnected() {
			return nil, nil, errs.Wrap(errs.KindUnavailable, errBrokerDown, "the event broker cannot be reached")
		}
		return k.js, func() {}, nil
	}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	nc, err := nats.Connect(k.cfg.NATSURL, nats.Name("shop"), nats.Timeout(timeout))
	if err != nil {
		return nil, nil, errs.Wrap(errs.KindUnavailable, err, "the event broker at %s cannot be reached", k.cfg.NATSURL)
	}
	if js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("events: jetstream: %w", err)
	}
	return js, nc.Close, nil
}
