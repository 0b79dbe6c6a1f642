package main

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy stands between a process and what it reaches over TCP (a
// neighbour's internal listener, PostgreSQL), forwarding as it is until
// told otherwise:
//
//   - delay: every stretch of bytes, each way, arrives that much later (a
//     slow network);
//   - reset: the connections open now are reset (a server restarted, a
//     route lost); refuse: new connections are reset as they arrive, while
//     on (a server down);
//   - hang: it accepts connections and forwards nothing, on new connections
//     and on those already open: one that carries anything while hanging
//     stays cut for good (a server that is stuck, not gone);
//   - holdAnswers: the answers to calls of the named methods are kept from
//     the caller (the neighbour did the work; the caller never hears of
//     it), and each is reported on held.
type faultProxy struct {
	ln     net.Listener
	target string
	// held receives the method of every answer the proxy keeps back.
	held chan string

	mu       sync.Mutex
	hanging  bool
	refusing bool
	latency  time.Duration
	hold     map[string]bool
	conns    map[net.Conn]bool
	sent     atomic.Int64 // stretches of bytes forwarded either way
}

// startFaultProxy forwards a loopback port to target until the test ends.
func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, held: make(chan string, 64), conns: map[net.Conn]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			c.Close()
		}
	})
	return p
}

// addr is where callers reach the target through the proxy.
func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// hang makes the target stop answering (true) or answer again (false).
func (p *faultProxy) hang(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hanging = on
}

// delay makes every stretch of bytes arrive d later, each way (0: at once).
func (p *faultProxy) delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// refuse resets every new connection as it arrives (true), or forwards
// new connections again (false).
func (p *faultProxy) refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = on
}

// reset resets every connection open now, both its ends.
func (p *faultProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		abort(c)
	}
}

// awaitTraffic waits until the proxy forwards more bytes than it had so far.
func (p *faultProxy) awaitTraffic(t *testing.T) {
	t.Helper()
	before := p.sent.Load()
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for p.sent.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no traffic through the fault proxy")
		}
		<-poll.C
	}
}

// abort closes c with a reset rather than an orderly close.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// holdAnswers keeps back the answers to calls of methods (none: forward
// every answer again).
func (p *faultProxy) holdAnswers(methods ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = map[string]bool{}
	for _, m := range methods {
		p.hold[m] = true
	}
}

// state is the proxy's faults now.
func (p *faultProxy) state() (hanging, refusing bool, latency time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hanging, p.refusing, p.latency
}

func (p *faultProxy) holds(method string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hold[method]
}

func (p *faultProxy) track(c net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

// serve proxies one connection. A connection that arrives while refusing
// is reset; one that arrives while hanging is read and never answered; one
// whose target cannot be reached is closed, as a refused connection would
// be.
func (p *faultProxy) serve(client net.Conn) {
	p.track(client, true)
	defer p.track(client, false)
	defer client.Close()
	switch hanging, refusing, _ := p.state(); {
	case refusing:
		abort(client)
		return
	case hanging:
		_, _ = io.Copy(io.Discard, client)
		return
	}
	upstream, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.track(upstream, true)
	defer p.track(upstream, false)
	defer upstream.Close()

	var (
		cut     atomic.Bool  // the connection carried bytes while hanging
		method  atomic.Value // string: of the call in flight on this connection
		holding bool
	)
	go func() {
		defer upstream.Close()
		p.forward(upstream, client, &cut, func(b []byte) bool {
			if m, ok := calledMethod(b); ok {
				method.Store(m)
			}
			return true
		})
	}()
	// Answers: forwarded, unless they answer a call of a held method.
	p.forward(client, upstream, &cut, func([]byte) bool {
		if holding {
			return false
		}
		m, _ := method.Load().(string)
		if holding = p.holds(m); holding {
			p.held <- m
		}
		return !holding
	})
}

// forward copies src to dst until src ends, each stretch of bytes that
// pass lets through arriving the proxy's latency later; a connection that
// carries anything while the proxy hangs is cut, both ways, for good.
func (p *faultProxy) forward(dst, src net.Conn, cut *atomic.Bool, pass func([]byte) bool) {
	type stretch struct {
		b  []byte
		at time.Time
	}
	queue := make(chan stretch, 64)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				hanging, _, latency := p.state()
				if hanging {
					cut.Store(true)
				}
				if !cut.Load() && pass(buf[:n]) {
					queue <- stretch{buf[:n], time.Now().Add(latency)}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for s := range queue {
		if wait := time.Until(s.at); wait > 0 {
			<-time.After(wait)
		}
		if failed || cut.Load() {
			continue // what src still sends goes nowhere
		}
		if _, err := dst.Write(s.b); err != nil {
			failed = true
			_ = src.Close()
		}
		p.sent.Add(1)
	}
}

// calledMethod reads the method of an internal call from the start of a
// request ("POST /internal/<module>/<Method> HTTP/1.1").
func calledMethod(b []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("POST /internal/"))
	if !ok {
		return "", false
	}
	path, _, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return "", false
	}
	_, m, ok := bytes.Cut(path, []byte("/"))
	return string(m), ok
}
