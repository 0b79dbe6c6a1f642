// Package natstest runs an embedded NATS server with JetStream for tests: on
// a random loopback port, storing its streams in the test's temporary
// folder. It can be stopped and started again on the same port with the same
// store, as a broker outage and its recovery.
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
	s := &Server{t: t, opts: server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, ServerName: "natstest",
	}}
	t.Cleanup(s.Stop)
	s.Restart()
	// Restarts keep the port the first start picked, so clients reconnect.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	return s
}

// URL is the client URL (nats://127.0.0.1:<port>), the same across restarts.
func (s *Server) URL() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// JetStream is a client of the server for the rest of the test, to set up or
// look at streams and consumers as an operator would.
func (s *Server) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.URL())
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

// Restart starts the stopped server again, on the same port with the same
// store, and waits until it accepts connections.
func (s *Server) Restart() {
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

// Messages returns how many messages the running server has received from
// its clients and sent to them since it (last) started: every publish,
// request, ack and pull it was sent, and every delivery, reply, status and
// heartbeat it sent — the work its clients give it, message by message.
func (s *Server) Messages() (in, out int64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.t.Fatal("natstest: the server is stopped")
	}
	v, err := s.srv.Varz(nil)
	if err != nil {
		s.t.Fatalf("natstest: varz: %v", err)
	}
	return v.InMsgs, v.OutMsgs
}
