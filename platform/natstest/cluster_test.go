package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/natstest"
)

// A stream of three replicas on the cluster keeps what it stored, and takes
// new messages, while the node that led it is down; the node comes back
// with every message.
func TestClusterSurvivesLosingTheStreamLeader(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t)
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func(n int) {
		for range n {
			// A publish during the leader's election finds no leader: the
			// client tries again, as a relay does.
			for {
				_, err := js.Publish(ctx, "r3.msg", []byte("x"))
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("no stream leader within 30s: %v", err)
				}
			}
		}
	}
	publish(10)
	leader := c.StreamLeader(js, "R3")
	for _, n := range c.Nodes() {
		if n != leader {
			// An operator moves the leader to another node.
			c.LeadStream(js, "R3", n)
			leader = n
			break
		}
	}
	if now := c.StreamLeader(js, "R3"); now != leader {
		t.Fatalf("stream led by %s, want %s", now.Name(), leader.Name())
	}
	leader.Stop()
	publish(10)
	if now := c.StreamLeader(js, "R3"); now == leader {
		t.Fatalf("stream still led by the stopped %s", leader.Name())
	}
	leader.Restart()
	publish(10)
	info, err := js.Stream(ctx, "R3")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().State.Msgs; got != 30 {
		t.Errorf("stream holds %d messages, want 30", got)
	}
	if replicas := info.CachedInfo().Cluster.Replicas; len(replicas) != 2 {
		t.Errorf("stream's other replicas: %+v, want 2", replicas)
	}
}
