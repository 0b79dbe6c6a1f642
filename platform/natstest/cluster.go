package natstest

import (
	"context"
	"encoding/json"
	"errors"
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
	node, err := c.streamLeader(ctx, js, stream)
	if err == nil && node == nil {
		err = errors.New("no leader")
	}
	if err != nil {
		c.t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	return node
}

// LeadStream makes node the leader of a stream's replicas, as an operator
// does by asking the leader to step down in its favour (again, should
// another node win the election), and waits until the stream's info names
// it.
func (c *Cluster) LeadStream(js jetstream.JetStream, stream string, node *Server) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	var err error
	// The leader last asked to step down is given a second to do so (it
	// may also win the election again).
	var asked *Server
	var askedAt time.Time
	for ; time.Now().Before(deadline); <-poll.C {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var leader *Server
		leader, err = c.streamLeader(ctx, js, stream)
		if err == nil && leader != nil && leader != node && (leader != asked || time.Since(askedAt) > time.Second) {
			if err = c.stepDown(ctx, js, stream, node); err == nil {
				asked, askedAt = leader, time.Now()
			}
		}
		cancel()
		if leader == node {
			return
		}
	}
	c.t.Fatalf("natstest: %s does not lead stream %s within 30s (last: %v)", node.Name(), stream, err)
}

// stepDown asks a stream's leader to step down in favour of node.
func (c *Cluster) stepDown(ctx context.Context, js jetstream.JetStream, stream string, node *Server) error {
	req, err := json.Marshal(map[string]any{"placement": map[string]string{"preferred": node.Name()}})
	if err != nil {
		return err
	}
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, req)
	if err != nil {
		return err
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	return nil
}

// streamLeader is the node the stream's info names as its leader: nil
// while it has none.
func (c *Cluster) streamLeader(ctx context.Context, js jetstream.JetStream, stream string) (*Server, error) {
	info, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	ci := info.CachedInfo().Cluster
	if ci == nil {
		return nil, errors.New("no cluster info")
	}
	if ci.Leader == "" {
		return nil, nil
	}
	for _, n := range c.nodes {
		if n.Name() == ci.Leader {
			return n, nil
		}
	}
	return nil, fmt.Errorf("led by %q, no node of the cluster", ci.Leader)
}
