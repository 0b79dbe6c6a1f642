package database

import (
	"net"
	"sync"
	"time"
)

// silentConn is a module's connection to PostgreSQL, closed when the server
// falls silent while the client waits for its answer. Every statement of a
// module's connection is answered within its statement_timeout, with its
// result or its cancellation; silence beyond that and a grace means the
// server is stuck or the network lost the connection without a reset.
// Closing it is then the only way to free whoever waits: a request's
// deadline would, but a background loop (a relay, a dispatcher's record of
// a failure) waits on a context without one, and would hold its connection
// for good. The waiter gets a network error (the HTTP edge answers 503) and
// the pool a fresh connection next time.
type silentConn struct {
	net.Conn
	limit  time.Duration
	closed func() // told when the watchdog closes the connection

	mu      sync.Mutex
	reading bool      // a Read is under way
	heard   time.Time // the last write, or the last bytes read
	timer   *time.Timer
}

// watchSilence wraps conn in a silentConn that closes it after limit of
// silence while a Read waits.
func watchSilence(conn net.Conn, limit time.Duration, closed func()) *silentConn {
	c := &silentConn{Conn: conn, limit: limit, closed: closed, heard: time.Now()}
	c.timer = time.AfterFunc(limit, c.check)
	c.timer.Stop()
	return c
}

func (c *silentConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.heard = time.Now()
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *silentConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	c.reading = true
	c.timer.Reset(time.Until(c.heard.Add(c.limit)))
	c.mu.Unlock()
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.reading = false
	c.timer.Stop()
	if n > 0 {
		c.heard = time.Now()
	}
	c.mu.Unlock()
	return n, err
}

// check closes the connection when a Read has waited past the limit since
// the server was last heard of (or the client last wrote).
func (c *silentConn) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reading {
		return
	}
	if wait := time.Until(c.heard.Add(c.limit)); wait > 0 {
		c.timer.Reset(wait)
		return
	}
	_ = c.Conn.Close()
	c.closed()
}
