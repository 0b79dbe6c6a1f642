// Package natstest runs embedded NATS servers with JetStream for tests: one
// server, or a cluster of three, on random loopback ports, each storing its
// streams in the test's temporary folder. A server can be stopped and
// started again on the same ports with the same store, as a broker outage
// (or, in a cluster, the loss of a node) and its recovery.
package natstest

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is one embedded NATS server.
type Server struct {
	t    testing.TB
	opts server.Options

	mu  sync.Mutex
	srv *server.Server // nil while stopped
}

// Start runs a server for the test; it is shut down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, server.Options{ServerName: "natstest"})
}

// start runs a server with opts and the options every test server has.
func start(t testing.TB, opts server.Options) *Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir = "127.0.0.1", server.RANDOM_PORT, true, t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	s := &Server{t: t, opts: opts}
	t.Cleanup(s.Stop)
	s.boot() // a node of a cluster is current only once enough of the others run
	// Restarts keep the port the first start picked, so clients reconnect.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	return s
}

// URL is the client URL (nats://127.0.0.1:<port>), the same across restarts.
func (s *Server) URL() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// Name is the server's name, by which JetStream names a stream's leader
// and replicas.
func (s *Server) Name() string { return s.opts.ServerName }

// JetStream is a client of the server for the rest of the test, to set up or
// look at streams and consumers as an operator would.
func (s *Server) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return connect(t, s.URL())
}

// connect is a JetStream client of the servers at url for the rest of the
// test.
func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Stop shuts the server down and waits until it is gone; its store stays.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart starts the stopped server again, on the same ports with the same
// store, and waits until it accepts connections and, in a cluster, until
// it is current with the cluster's JetStream metadata (it knows every
// stream and consumer again, and whom to follow).
func (s *Server) Restart() {
	s.t.Helper()
	s.boot()
	s.awaitCurrent()
}

// boot starts the stopped server and waits until it accepts connections.
func (s *Server) boot() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.t.Fatal("natstest: the server is running")
	}
	opts := s.opts // NewServer keeps and changes its options
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		s.t.Fatal("natstest: the server did not accept connections within 10s")
	}
	s.srv = srv
}

// awaitCurrent waits until the running server is current with its
// JetStream cluster's metadata: at once for a server alone.
func (s *Server) awaitCurrent() {
	s.t.Helper()
	srv := s.running()
	if srv == nil {
		s.t.Fatal("natstest: the server is stopped")
	}
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for !srv.JetStreamIsCurrent() {
		if time.Now().After(deadline) {
			s.t.Fatalf("natstest: %s is not current with its JetStream cluster within 30s", s.Name())
		}
		<-poll.C
	}
}

// running returns the running server, or nil while it is stopped.
func (s *Server) running() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Messages returns how many messages the running server has received from
// its clients and sent to them since it (last) started: every publish,
// request, ack and pull it was sent, and every delivery, reply, status and
// heartbeat it sent — the work its clients give it, message by message.
func (s *Server) Messages() (in, out int64) {
	s.t.Helper()
	srv := s.running()
	if srv == nil {
		s.t.Fatal("natstest: the server is stopped")
	}
	v, err := srv.Varz(nil)
	if err != nil {
		s.t.Fatalf("natstest: varz: %v", err)
	}
	return v.InMsgs, v.OutMsgs
}

// Clients counts the running server's client connections named name (a
// client's nats.Name): 0 while it is stopped.
func (s *Server) Clients(name string) int {
	s.t.Helper()
	srv := s.running()
	if srv == nil {
		return 0
	}
	conns, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		s.t.Fatalf("natstest: connz: %v", err)
	}
	n := 0
	for _, c := range conns.Conns {
		if c.Name == name {
			n++
		}
	}
	return n
}
