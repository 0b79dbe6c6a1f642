package events

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/natstest"
)

// A pinned consumer loop skips the consumer-info check only for deliveries
// that run on from the last batch it wrote, under the same pin, each a first
// delivery; a gap, a redelivery, another pin or a failed write takes the
// check.
func TestTheOrderCheckIsSkippedOnlyForUnbrokenFirstDeliveries(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := natstest.Start(t).JetStream(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateConsumer(ctx, "T", jetstream.ConsumerConfig{
		Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10,
		PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{priorityGroup}, PinnedTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := js.Publish(ctx, "t.x", nil); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func(n int) []jetstream.Msg {
		t.Helper()
		batch, err := cons.Fetch(n, jetstream.FetchPriorityGroup(priorityGroup), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) != n {
			t.Fatalf("fetched %d messages, want %d: %v", len(msgs), n, batch.Error())
		}
		return msgs
	}
	holds := func(h *holding, msgs ...jetstream.Msg) *holding {
		h.clear()
		for _, m := range msgs {
			h.add(m)
		}
		return h
	}

	h := &holding{msgs: map[uint64]jetstream.Msg{}}
	first := fetch(1) // consumer sequence 1
	if holds(h, first...).follows() {
		t.Error("the first batch of a loop skips the check")
	}
	h.written(first, true)
	m := fetch(3) // consumer sequences 2, 3, 4
	if !holds(h, m[0], m[1]).follows() {
		t.Error("the deliveries right after the last batch written take the check")
	}
	if holds(h, m[1], m[2]).follows() {
		t.Error("a batch after a gap in the consumer sequence skips the check")
	}
	h.sessionPin = "another"
	if holds(h, m[0]).follows() {
		t.Error("a batch under another pin skips the check")
	}
	h.written(first, true)
	h.written(m[:1], false)
	if holds(h, m[1]).follows() {
		t.Error("a batch after a failed write skips the check")
	}
	h.written(m, true) // up to consumer sequence 4
	if err := m[0].Nak(); err != nil {
		t.Fatal(err)
	}
	again := fetch(1) // consumer sequence 5, delivered a second time
	if holds(h, again...).follows() {
		t.Error("a redelivery skips the check")
	}
}
