package database

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A server that falls silent while the client waits for its answer has
// the connection closed after the limit; one that keeps answering within
// it keeps the connection however long the exchange goes on.
func TestSilentServerConnectionIsClosed(t *testing.T) {
	t.Parallel()
	const limit = 100 * time.Millisecond
	client, server := net.Pipe()
	defer server.Close()
	var closed atomic.Int32
	c := watchSilence(client, limit, func() { closed.Add(1) })
	defer c.Close()

	// Answered in time, round after round, for longer than the limit.
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := server.Read(buf); err != nil {
				return
			}
			time.AfterFunc(limit/4, func() { _, _ = server.Write([]byte("a")) })
		}
	}()
	start := time.Now()
	buf := make([]byte, 1)
	for time.Since(start) < 3*limit {
		if _, err := c.Write([]byte("q")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("a connection answered within the limit was closed: %v", err)
		}
	}

	// No answer: the waiting Read fails once the limit has passed.
	silent, peer := net.Pipe()
	defer peer.Close()
	s := watchSilence(silent, limit, func() { closed.Add(1) })
	start = time.Now()
	go func() { _, _ = peer.Read(make([]byte, 1)) }()
	if _, err := s.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(buf); err == nil {
		t.Fatal("a read the server never answered returned")
	}
	if waited := time.Since(start); waited < limit {
		t.Errorf("closed after %s, before the %s limit", waited, limit)
	}
	if n := closed.Load(); n != 1 {
		t.Errorf("closed reported %d times, want once", n)
	}
}
