package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/notifications/internal/mail"
	"github.com/shopmonolith/shop/modules/notifications/internal/smtptest"
	"github.com/shopmonolith/shop/platform/errs"
)

func message(t *testing.T, name string) domain.Message {
	t.Helper()
	m, err := domain.NewWelcome(domain.Welcome{
		Source: domain.Source{EventID: uuid.NewString(), OccurredAt: time.Now()},
		UserID: uuid.NewString(), Email: "ada@example.com", Name: name,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sender(t *testing.T, s mail.Settings) *mail.SMTP {
	t.Helper()
	if s.From == "" {
		s.From = "Shop <shop@shop.example>"
	}
	if s.Timeout == 0 {
		s.Timeout = 5 * time.Second
	}
	smtp, err := mail.NewSMTP(s)
	if err != nil {
		t.Fatal(err)
	}
	return smtp
}

// received waits for the server's next accepted message.
func received(t *testing.T, srv *smtptest.Server) smtptest.Mail {
	t.Helper()
	select {
	case m := <-srv.Arrived():
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived within 10s")
		return smtptest.Mail{}
	}
}

// TestSend: the message arrives for its recipient, from the configured
// sender, with its subject, its body and a Message-ID made of its id; a
// subject cannot smuggle in a header.
func TestSend(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s := sender(t, mail.Settings{Addr: srv.Addr})
	m := message(t, "Zoë\r\nBcc: eve@example.com")
	sent, err := s.Send(context.Background(), m)
	if err != nil || !sent {
		t.Fatalf("Send = %v, %v", sent, err)
	}
	got := received(t, srv)
	if got.From != "shop@shop.example" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	p := got.Parse(t)
	wantID := "<" + m.ID() + "@shop.example>"
	if p.Header.Get("Message-ID") != wantID || s.MessageID(m.ID()) != wantID {
		t.Errorf("Message-ID %q, want %q", p.Header.Get("Message-ID"), wantID)
	}
	if p.Subject != m.Subject() || p.Header.Get("Bcc") != "" {
		t.Errorf("subject %q (Bcc %q), want %q and no Bcc", p.Subject, p.Header.Get("Bcc"), m.Subject())
	}
	// Mail has CRLF line ends, and the SMTP data ends with one.
	if want := strings.ReplaceAll(m.Body(), "\r\n", "\n") + "\n"; p.Body != want {
		t.Errorf("body %q, want %q", p.Body, want)
	}
	if to := p.Header.Get("To"); to != "<ada@example.com>" {
		t.Errorf("To %q", to)
	}
	if from := p.Header.Get("From"); from != `"Shop" <shop@shop.example>` {
		t.Errorf("From %q", from)
	}
	if date, err := p.Header.Date(); err != nil || !date.Equal(m.CreatedAt().Truncate(time.Second)) {
		t.Errorf("Date %v (%v), want %v", date, err, m.CreatedAt())
	}
	if p.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted %q", p.Header.Get("Auto-Submitted"))
	}
}

// TestSessionSecurity: STARTTLS whenever the server offers it, PLAIN
// authentication exactly when a username is set.
func TestSessionSecurity(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.TLSConfigs(t)
	tests := []struct {
		name     string
		server   smtptest.Options
		username string
		password string
		wantTLS  bool
		wantUser string
		wantErr  bool
	}{
		{name: "plain server", server: smtptest.Options{}},
		{name: "starttls offered", server: smtptest.Options{TLS: serverTLS}, wantTLS: true},
		{name: "auth over tls", server: smtptest.Options{TLS: serverTLS, Username: "u", Password: "p"},
			username: "u", password: "p", wantTLS: true, wantUser: "u"},
		{name: "auth to localhost", server: smtptest.Options{Username: "u", Password: "p"},
			username: "u", password: "p", wantUser: "u"},
		{name: "wrong password", server: smtptest.Options{TLS: serverTLS, Username: "u", Password: "p"},
			username: "u", password: "x", wantErr: true},
		{name: "server wants auth, none configured", server: smtptest.Options{Username: "u", Password: "p"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tc.server)
			s := sender(t, mail.Settings{Addr: srv.Addr, Username: tc.username, Password: tc.password, TLS: clientTLS})
			sent, err := s.Send(context.Background(), message(t, "Ada"))
			if tc.wantErr {
				if err == nil || sent || len(srv.Mails()) != 0 {
					t.Fatalf("Send = %v, %v with %d mails accepted; want a failure", sent, err, len(srv.Mails()))
				}
				return
			}
			if err != nil || !sent {
				t.Fatalf("Send = %v, %v", sent, err)
			}
			if got := received(t, srv); got.TLS != tc.wantTLS || got.User != tc.wantUser {
				t.Errorf("session tls %v user %q, want %v %q", got.TLS, got.User, tc.wantTLS, tc.wantUser)
			}
		})
	}
}

// TestUntrustedCertificate: STARTTLS verifies the server; an unknown
// certificate fails the delivery rather than sending in the clear.
func TestUntrustedCertificate(t *testing.T) {
	t.Parallel()
	serverTLS, _ := smtptest.TLSConfigs(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: serverTLS})
	s := sender(t, mail.Settings{Addr: srv.Addr, TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	if sent, err := s.Send(context.Background(), message(t, "Ada")); err == nil || sent || len(srv.Mails()) != 0 {
		t.Fatalf("Send = %v, %v; want a failure and nothing delivered", sent, err)
	}
}

// TestRefusedMessage: a refusal is an error (KindUnavailable: the event is
// retried); the next attempt gets through.
func TestRefusedMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{FailFirst: 1})
	s := sender(t, mail.Settings{Addr: srv.Addr})
	m := message(t, "Ada")
	sent, err := s.Send(context.Background(), m)
	if !errs.Is(err, errs.KindUnavailable) || sent || !strings.Contains(err.Error(), "451") {
		t.Fatalf("first Send = %v, %v; want unavailable with the server's 451", sent, err)
	}
	if sent, err := s.Send(context.Background(), m); err != nil || !sent {
		t.Fatalf("second Send = %v, %v", sent, err)
	}
	if got := srv.Mails(); len(got) != 1 || srv.Refused() != 1 {
		t.Errorf("%d accepted, %d refused; want 1 and 1", len(got), srv.Refused())
	}
}

// TestPermanentOrNot: a 5xx reply to the recipient or to the message is a
// *domain.Rejection with the server's reply (never retried); a 4xx reply,
// and a 5xx reply to the session itself (the shop's own settings, which an
// operator can fix and then replay), are KindUnavailable (retried).
func TestPermanentOrNot(t *testing.T) {
	t.Parallel()
	reply := func(r string) func(string) string { return func(string) string { return r } }
	tests := []struct {
		name               string
		server             smtptest.Options
		username, password string
		want               string // the rejection's reply; "" for a transient failure
	}{
		{name: "recipient unknown", server: smtptest.Options{RejectRecipient: reply("550 5.1.1 mailbox unavailable")},
			want: "550 5.1.1 mailbox unavailable"},
		{name: "bad address", server: smtptest.Options{RejectRecipient: reply("553 5.1.3 bad address")}, want: "553 5.1.3 bad address"},
		{name: "message refused", server: smtptest.Options{FailFirst: 1, FailReply: "554 5.7.1 spam"}, want: "554 5.7.1 spam"},
		{name: "recipient greylisted", server: smtptest.Options{RejectRecipient: reply("451 4.7.1 greylisted")}},
		{name: "message deferred", server: smtptest.Options{FailFirst: 1, FailReply: "452 4.3.1 out of storage"}},
		{name: "wrong password", server: smtptest.Options{Username: "u", Password: "p"}, username: "u", password: "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tc.server)
			s := sender(t, mail.Settings{Addr: srv.Addr, Username: tc.username, Password: tc.password})
			sent, err := s.Send(context.Background(), message(t, "Ada"))
			var rejected *domain.Rejection
			switch {
			case sent || len(srv.Mails()) != 0:
				t.Fatalf("Send = %v, %v with %d mails accepted; want a failure", sent, err, len(srv.Mails()))
			case tc.want != "":
				if !errors.As(err, &rejected) || rejected.Reply != tc.want {
					t.Errorf("Send: %v, want a rejection with %q", err, tc.want)
				}
			case errors.As(err, &rejected) || !errs.Is(err, errs.KindUnavailable):
				t.Errorf("Send: %v, want unavailable (to be retried), no rejection", err)
			}
		})
	}
}

// TestDeadline: a server that never answers costs the timeout, not forever.
func TestDeadline(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Silent: true})
	s := sender(t, mail.Settings{Addr: srv.Addr, Timeout: 300 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := s.Send(context.Background(), message(t, "Ada"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errs.Is(err, errs.KindUnavailable) {
			t.Errorf("Send to a silent server: %v, want unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send to a silent server did not give up")
	}
}

// TestNoTimeLeft: a delivery that could not finish (plus the commit reserve)
// before the caller's deadline is not started.
func TestNoTimeLeft(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s := sender(t, mail.Settings{Addr: srv.Addr, Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second+mail.CommitReserve/2)
	defer cancel()
	if sent, err := s.Send(ctx, message(t, "Ada")); !errs.Is(err, errs.KindUnavailable) || sent {
		t.Fatalf("Send = %v, %v; want unavailable", sent, err)
	}
	if srv.Dials() != 0 {
		t.Errorf("%d connections made, want none", srv.Dials())
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second+2*mail.CommitReserve)
	defer cancel()
	if sent, err := s.Send(ctx, message(t, "Ada")); err != nil || !sent {
		t.Fatalf("Send with time enough = %v, %v", sent, err)
	}
}

func TestNewSMTPRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]mail.Settings{
		"address": {Addr: "smtp.example", From: "shop@shop.example", Timeout: time.Second},
		"from":    {Addr: "smtp.example:25", From: "not an address", Timeout: time.Second},
		"timeout": {Addr: "smtp.example:25", From: "shop@shop.example"},
	} {
		if _, err := mail.NewSMTP(s); err == nil {
			t.Errorf("%s: NewSMTP(%+v) succeeded", name, s)
		}
	}
}

func TestMailboxOnlySendsNothing(t *testing.T) {
	t.Parallel()
	if sent, err := (mail.MailboxOnly{}).Send(context.Background(), message(t, "Ada")); sent || err != nil {
		t.Errorf("Send = %v, %v; want false, nil", sent, err)
	}
}
