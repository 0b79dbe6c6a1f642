package events

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/natstest"
)

// A publish whose acks are pending when its stream elects a leader (the
// old leader's node was lost with them) ends at once, for the relay to
// publish again, instead of waiting for the acks' timeout; the election
// wakes the relays.
func TestPublishEndsWhenTheStreamElectsALeader(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	k, err := newBroker(config.Events{NATSURL: srv.URL()}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	woken := make(chan struct{}, 8)
	if err := k.connect(func() { woken <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.close)
	if err := k.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	<-woken // connected

	// A lost leader: it takes the messages and never answers.
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	taken := make(chan struct{}, 8)
	if _, err := nc.Subscribe(subjectPrefix+"evtturn.>", func(*nats.Msg) { taken <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	batch := []outboxRow{{seq: 1, id: uuid.NewString(), typ: "evtturn.thing_happened.v1", key: "k", payload: "{}",
		metadata: "{}", occurredAt: time.Now()}}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := k.publish(context.Background(), "SHOP_EVTTURN", batch, 0)
		done <- err
	}()
	<-taken
	if err := nc.Publish(leaderElectedSubject+"SHOP_EVTTURN", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, errTurnEnded) {
			t.Fatalf("publish ended with %v, want %v", err, errTurnEnded)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("publish still waits for its acks 5 s after the stream elected a leader")
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the election woke no relay")
	}
	t.Logf("publish ended %s after it began, its ack timeout 10 s", time.Since(start).Round(time.Millisecond))
}
