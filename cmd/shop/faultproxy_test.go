package main

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// faultProxy stands between a process and a neighbour's internal listener,
// forwarding TCP as it is until told otherwise:
//
//   - hang: it accepts connections and answers nothing, on new connections
//     and on those already open (a neighbour that is stuck, not gone);
//   - holdAnswers: the answers to calls of the named methods are kept from
//     the caller (the neighbour did the work; the caller never hears of
//     it), and each is reported on held.
type faultProxy struct {
	ln     net.Listener
	target string
	// held receives the method of every answer the proxy keeps back.
	held chan string

	mu      sync.Mutex
	hanging bool
	hold    map[string]bool
	conns   map[net.Conn]bool
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

// addr is where callers reach the neighbour through the proxy.
func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// hang makes the neighbour stop answering (true) or answer again (false).
func (p *faultProxy) hang(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hanging = on
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

func (p *faultProxy) state() (hanging bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hanging
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

// serve proxies one connection. A connection that arrives while hanging is
// read and never answered; one whose neighbour cannot be reached is closed,
// as a refused connection would be.
func (p *faultProxy) serve(client net.Conn) {
	p.track(client, true)
	defer p.track(client, false)
	defer client.Close()
	if p.state() {
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
		mu     sync.Mutex
		method string // of the call in flight on this connection
	)
	go func() {
		// Requests: forwarded until the proxy hangs; from then on this
		// connection's stream is cut, so nothing more of it is sent.
		defer upstream.Close()
		buf := make([]byte, 32<<10)
		cut := false
		for {
			n, err := client.Read(buf)
			if n > 0 {
				cut = cut || p.state()
				if !cut {
					if m, ok := calledMethod(buf[:n]); ok {
						mu.Lock()
						method = m
						mu.Unlock()
					}
					if _, werr := upstream.Write(buf[:n]); werr != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	// Answers: forwarded, unless they answer a call of a held method.
	buf := make([]byte, 32<<10)
	holding := false
	for {
		n, err := upstream.Read(buf)
		if n > 0 && !holding {
			mu.Lock()
			m := method
			mu.Unlock()
			if holding = p.holds(m); holding {
				p.held <- m
			} else if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // the neighbour closed, or died
		}
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
