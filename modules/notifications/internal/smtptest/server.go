// Package smtptest runs a small SMTP server for tests. It records every
// message it accepts and can refuse the first deliveries or some recipients
// with the reply a test chooses, offer STARTTLS and AUTH PLAIN, or accept
// connections and never answer.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Options shape the server's behaviour.
type Options struct {
	FailFirst int         // refuse the first n messages after their data, with FailReply
	FailReply string      // "451 try again later" when empty
	TLS       *tls.Config // offer STARTTLS with this configuration
	Username  string      // offer AUTH PLAIN and require these credentials
	Password  string
	Silent    bool // accept connections, never say a word

	// RejectRecipient answers RCPT TO for addr with the reply it returns,
	// such as "550 5.1.1 mailbox unavailable"; "" (or a nil func) accepts.
	RejectRecipient func(addr string) string
}

// Mail is one accepted message.
type Mail struct {
	From string
	To   []string
	Data []byte // as received, line ends as "\n"
	TLS  bool   // the session had switched to TLS
	User string // the authenticated user, if any
}

// Server is a running test SMTP server; it stops when the test ends.
type Server struct {
	Addr string // host:port to deliver to
	opts Options
	ln   net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]bool
	dials   int
	failed  int // under FailFirst
	refused int // under FailFirst or RejectRecipient
	mails   []Mail
	arrived chan Mail
	wg      sync.WaitGroup
}

// Start listens on a free loopback port.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln, conns: map[net.Conn]bool{}, arrived: make(chan Mail, 100)}
	s.wg.Go(s.accept)
	t.Cleanup(s.close)
	return s
}

// Arrived delivers each accepted message (up to 100 not yet received).
func (s *Server) Arrived() <-chan Mail { return s.arrived }

// Mails returns the accepted messages.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Refused counts the messages refused, after their data under FailFirst or
// at RCPT TO under RejectRecipient.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Dials counts the connections made to the server.
func (s *Server) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

func (s *Server) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.dials++
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				_ = conn.Close()
			}()
			if s.opts.Silent {
				_, _ = io.Copy(io.Discard, conn)
				return
			}
			s.serve(conn)
		})
	}
}

// session is the state of one SMTP conversation.
type session struct {
	tls  bool
	user string
	from string
	to   []string
}

func (s *Server) serve(conn net.Conn) {
	tp := textproto.NewConn(conn)
	var st session
	reply := func(lines ...string) { // "250 ok", or a multi-line reply
		for i, l := range lines {
			if i < len(lines)-1 {
				l = l[:3] + "-" + l[4:]
			}
			_ = tp.PrintfLine("%s", l)
		}
	}
	reply("220 smtptest ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250 smtptest"}
			if s.opts.TLS != nil && !st.tls {
				lines = append(lines, "250 STARTTLS")
			}
			if s.opts.Username != "" {
				lines = append(lines, "250 AUTH PLAIN")
			}
			reply(lines...)
		case "HELO", "NOOP":
			reply("250 ok")
		case "STARTTLS":
			if s.opts.TLS == nil || st.tls {
				reply("502 no")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.opts.TLS)
			if tc.Handshake() != nil {
				return
			}
			conn, tp, st = tc, textproto.NewConn(tc), session{tls: true}
		case "AUTH":
			st.user = s.auth(arg)
			if st.user == "" {
				reply("535 authentication failed")
				continue
			}
			reply("235 ok")
		case "MAIL":
			if s.opts.Username != "" && st.user == "" {
				reply("530 authentication required")
				continue
			}
			st.from = address(arg)
			reply("250 ok")
		case "RCPT":
			if r := s.rejectRecipient(address(arg)); r != "" {
				reply(r)
				continue
			}
			st.to = append(st.to, address(arg))
			reply("250 ok")
		case "DATA":
			if st.from == "" || len(st.to) == 0 {
				reply("503 need MAIL and RCPT first")
				continue
			}
			reply("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			reply(s.take(Mail{From: st.from, To: st.to, Data: data, TLS: st.tls, User: st.user}))
			st.from, st.to = "", nil
		case "RSET":
			st.from, st.to = "", nil
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

// take accepts or, under FailFirst, refuses a message, and returns the reply.
func (s *Server) take(m Mail) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed < s.opts.FailFirst {
		s.failed++
		s.refused++
		if s.opts.FailReply != "" {
			return s.opts.FailReply
		}
		return "451 try again later"
	}
	s.mails = append(s.mails, m)
	select {
	case s.arrived <- m:
	default:
	}
	return "250 accepted"
}

// rejectRecipient returns RejectRecipient's reply to addr, counting a
// refusal.
func (s *Server) rejectRecipient(addr string) string {
	if s.opts.RejectRecipient == nil {
		return ""
	}
	r := s.opts.RejectRecipient(addr)
	if r != "" {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
	}
	return r
}

// auth checks "PLAIN <base64 of \x00user\x00password>" and returns the user.
func (s *Server) auth(arg string) string {
	mech, resp, _ := strings.Cut(arg, " ")
	raw, err := base64.StdEncoding.DecodeString(resp)
	parts := bytes.Split(raw, []byte{0})
	if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 ||
		string(parts[1]) != s.opts.Username || string(parts[2]) != s.opts.Password {
		return ""
	}
	return s.opts.Username
}

// address takes the address out of "FROM:<a@b>" or "TO:<a@b> SIZE=…".
func address(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}
