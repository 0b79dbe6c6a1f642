package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/testreport"
	"github.com/shopmonolith/shop/platform/topology"
)

// The broker survives the loss of a node: the shop, catalog in a process
// of its own and the rest in another, sends its events over a three-node
// JetStream cluster with every stream replicated three times. Customers
// check out in three rushes. Right after the first rush is placed, while
// its sagas run, the node that serves the most of the shop's connections,
// made the orders stream's leader, is stopped: its clients reconnect to
// another node and the stream elects another leader. The second
// rush is placed while the node is down, and both settle before it
// returns; the third is placed once it is back. Every order settles once
// as its card says (each step, payment and capture once), every event is
// stored once in its stream and handled once by each subscriber, and the
// consumers have nothing left in flight.
func TestCheckoutsSurviveLosingABrokerNode(t *testing.T) {
	t.Parallel()
	broker := natstest.StartCluster(t)
	tp, err := topology.Named(topology.Catalog, binaryModules, true)
	if err != nil {
		t.Fatal(err)
	}
	reserveShops(t, topologyConns(tp))
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: tp, nats: broker.URL()}
	// A message whose ack went to the lost node comes again after 3 s.
	s.start(append(fastLogins, "SHOP_NATS_REPLICAS=3", "SHOP_NATS_ACK_WAIT=3s", "SHOP_NATS_PINNED_TTL=2s")...)
	js := broker.JetStream(t)

	rushes := []*checkoutRush{newCheckoutRush(s, "NODE-BEFORE"), newCheckoutRush(s, "NODE-DOWN"), newCheckoutRush(s, "NODE-AFTER")}
	rushes[0].placeAll()
	lost := broker.Nodes()[0]
	for _, n := range broker.Nodes() {
		if n.Clients("shop") > lost.Clients("shop") {
			lost = n
		}
	}
	broker.LeadStream(js, "SHOP_ORDERS", lost)
	clients := lost.Clients("shop")
	lost.Stop()
	down := time.Now()
	t.Logf("stopped %s, the orders stream's leader with %d of the shop's connections, with %d of %d orders unsettled",
		lost.Name(), clients, rushes[0].unsettled(), rushBuyers)

	rushes[1].placeAll()
	rushes[0].checkSettled()
	rushes[1].checkSettled()
	testreport.Print(t, "%d orders placed before the stop and while the node was down settled %s after the stop",
		2*rushBuyers, time.Since(down).Round(time.Millisecond))

	lost.Restart()
	rushes[2].placeAll()
	rushes[2].checkSettled()

	streams, events := checkStreamsHoldTheOutboxes(t, js, s.dbURL)
	deliveries := checkHandledOnce(t, s.dbURL)
	logs := s.logs.String()
	if reconnected := strings.Count(logs, `"event broker reconnected"`); reconnected < clients {
		t.Errorf("%d reconnections logged, want one for each of the %d connections to the lost node", reconnected, clients)
	}
	testreport.Print(t, "%d checkouts; %d events in %d streams of 3 replicas, each stored once; %d deliveries, each handled once; "+
		"%d failed relay rounds, %d failed consumer rounds, %d reconnections",
		len(rushes)*rushBuyers, events, streams, deliveries, strings.Count(logs, `"relay failed"`),
		strings.Count(logs, `"event consumer failed"`), strings.Count(logs, `"event broker reconnected"`))
}

// unsettled counts the rush's orders whose saga has more to do.
func (r *checkoutRush) unsettled() int {
	r.s.t.Helper()
	n := 0
	for _, b := range r.buyers {
		var o order
		r.s.must(http.StatusOK, r.s.call("GET", "/api/orders/"+b.order, b.token, nil)).json(r.s.t, &o)
		if !o.settled() {
			n++
		}
	}
	return n
}

// checkStreamsHoldTheOutboxes checks that each module's stream holds every
// event of its outbox exactly once, in three replicas, and that every
// durable consumer on it has had each message delivered and acknowledged;
// it returns how many streams and events there are.
func checkStreamsHoldTheOutboxes(t *testing.T, js jetstream.JetStream, dbURL string) (streams int, events uint64) {
	t.Helper()
	names, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range names {
		var published uint64
		queryOwner(t, dbURL, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{m, "event_outbox"}.Sanitize()).Scan(&published)
		})
		stream, err := js.Stream(ctx, "SHOP_"+strings.ToUpper(m))
		if errors.Is(err, jetstream.ErrStreamNotFound) && published == 0 {
			continue
		}
		if err != nil {
			t.Fatalf("stream of %s: %v", m, err)
		}
		info := stream.CachedInfo()
		if info.State.Msgs != published {
			t.Errorf("%s's stream holds %d events, its outbox %d", m, info.State.Msgs, published)
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Errorf("%s's stream: %d replicas configured, cluster %+v; want 3", m, info.Config.Replicas, info.Cluster)
		}
		for c := range stream.ListConsumers(ctx).Info() {
			if c.NumPending != 0 || c.NumAckPending != 0 {
				t.Errorf("consumer %s on %s: %d pending, %d unacknowledged; want none", c.Name, info.Config.Name, c.NumPending, c.NumAckPending)
			}
		}
		streams++
		events += published
	}
	return streams, events
}

// checkHandledOnce checks that every delivery in every module's inbox was
// handled by one committed attempt, and returns how many there are.
func checkHandledOnce(t *testing.T, dbURL string) int {
	t.Helper()
	var deliveries, done, attempts int
	queryOwner(t, dbURL, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE status = 'done'), coalesce(sum(attempts), 0)
			FROM (`+everyInbox(t, "status, attempts")+`) AS inbox`).Scan(&deliveries, &done, &attempts)
	})
	if done != deliveries || attempts != deliveries {
		t.Errorf("inboxes: %d deliveries, %d done, %d committed attempts; want every one done by one attempt", deliveries, done, attempts)
	}
	return deliveries
}
