package natstest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/topology"
)

// Cluster is three embedded servers forming one JetStream cluster, as in
// production: each node with its own store, routed to the other two on
// loopback. Streams of three replicas survive the loss of any one node.
type Cluster struct {
	t     testing.TB
	nodes []*Server
}

// clusterSize is the cluster's number of nodes: the least that keeps a
// quorum (two) with one node lost.
const clusterSize = 3

// StartCluster runs a three-node cluster for the test and waits until
// every node is current with the cluster's JetStream metadata; it is shut
// down when the test ends. The nodes' route ports are chosen below the
// kernel's ephemeral range, once per test binary (see topology.FreePortRuns),
// because each node must know the others' before any starts, and keep its
// own across restarts.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	ports, err := topology.FreePortRuns(1, clusterSize)
	if err != nil {
		t.Fatalf("natstest: route ports: %v", err)
	}
	c := &Cluster{t: t}
	for i := range clusterSize {
		var routes []*url.URL
		for j := range clusterSize {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[0]+j)})
			}
		}
		c.nodes = append(c.nodes, start(t, server.Options{
			ServerName: fmt.Sprintf("natstest-%d", i+1),
			Cluster:    server.ClusterOpts{Name: "natstest", Host: "127.0.0.1", Port: ports[0] + i},
			Routes:     routes,
		}))
	}
	for _, n := range c.nodes {
		n.awaitCurrent()
	}
	return c
}

// URL lists every node's client URL, comma separated: a client given it
// reconnects to another node when its own is lost.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Nodes are the cluster's servers; Stop and Restart one to lose it and
// bring it back.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// JetStream is a client of the cluster (any node) for the rest of the
// test, to look at streams and consumers as an operator would.
func (c *Cluster) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return connect(t, c.URL())
}

// StreamLeader returns the node that leads a stream's replicas now, as
// the stream's info names it.
func (c *Cluster) StreamLeader(js jetstream.JetStream, stream string) *Server {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := js.Stream(ctx, stream)
	if err != nil {
		c.t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	ci := info.CachedInfo().Cluster
	if ci == nil {
		c.t.Fatalf("natstest: stream %s has no cluster info", stream)
	}
	for _, n := range c.nodes {
		if n.Name() == ci.Leader {
			return n
		}
	}
	c.t.Fatalf("natstest: stream %s is led by %q, no node of the cluster", stream, ci.Leader)
	return nil
}
