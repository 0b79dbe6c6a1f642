package notificationsmodule_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/internal/smtptest"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/metrics"
)

// withSMTP points the shop's mail at srv.
func withSMTP(srv *smtptest.Server) func(*config.Config) {
	return func(c *config.Config) { c.Mail.SMTPAddr, c.Mail.From = srv.Addr, "Shop <shop@shop.example>" }
}

// TestSMTPDelivery: with an SMTP server configured, an order email is kept
// in the mailbox and arrives at the server for its recipient, with its
// subject and a Message-ID made of the message id; the mailbox says sent.
func TestSMTPDelivery(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s := newShop(t, withSMTP(srv))
	o := newOrder()
	s.publish(t, o.shipped())
	var got smtptest.Mail
	select {
	case got = <-srv.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10s")
	}
	m := s.waitMailbox(t, o.userID, 1)[0]
	p := got.Parse(t)
	if len(got.To) != 1 || got.To[0] != o.email || got.From != "shop@shop.example" {
		t.Errorf("envelope from %q to %q, want shop@shop.example to %s", got.From, got.To, o.email)
	}
	if p.Subject != m.Subject || p.Subject != "Your order "+o.id+" has shipped" {
		t.Errorf("subject %q, want %q", p.Subject, m.Subject)
	}
	if want := "<" + m.ID + "@shop.example>"; p.Header.Get("Message-ID") != want {
		t.Errorf("Message-ID %q, want %q", p.Header.Get("Message-ID"), want)
	}
	if !strings.Contains(p.Body, o.id) {
		t.Errorf("body lacks the order id:\n%s", p.Body)
	}
	// The mailbox row commits after the server accepted the mail.
	eventstest.Eventually(t, 10*time.Second, "the message marked sent", func() bool {
		m = s.mailboxOf(t, o.userID)[0]
		return m.Status == notifications.StatusSent
	})
	if m.SentAt.IsZero() || m.SentAt.Before(m.CreatedAt) {
		t.Errorf("sent at %v, created at %v", m.SentAt, m.CreatedAt)
	}
}

// rejectBounces refuses every "bounce-" address for good, as a server
// refuses a mailbox that does not exist.
func rejectBounces(addr string) string {
	if strings.HasPrefix(addr, "bounce-") {
		return "550 5.1.1 mailbox unavailable"
	}
	return ""
}

// greylistFirst refuses the first n recipients for now (451), as a
// greylisting server does.
func greylistFirst(n int32) func(string) string {
	var seen atomic.Int32
	return func(string) string {
		if seen.Add(1) <= n {
			return "451 4.7.1 greylisted, try again later"
		}
		return ""
	}
}

// TestSMTPRetriedUntilAccepted: a server that refuses the first two
// deliveries for now (a 4xx reply to the message's data or to its
// recipient) gets the message on the third attempt of the event; the failed
// attempts left nothing behind, so the mailbox holds one message.
func TestSMTPRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]smtptest.Options{
		"data refused":      {FailFirst: 2, FailReply: "451 4.3.0 try again later"},
		"recipient refused": {RejectRecipient: greylistFirst(2)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, opts)
			s := newShop(t, withSMTP(srv))
			o := newOrder()
			s.publish(t, o.confirmed())
			eventstest.Eventually(t, 10*time.Second, "the event handled", func() bool {
				status, _ := s.inboxRow(t, "orders.order_confirmed.v1", o.id)
				return status == "done"
			})
			if _, attempts := s.inboxRow(t, "orders.order_confirmed.v1", o.id); attempts != 3 {
				t.Errorf("%d attempts, want 3", attempts)
			}
			if srv.Refused() != 2 || len(srv.Mails()) != 1 {
				t.Errorf("server refused %d and accepted %d, want 2 and 1", srv.Refused(), len(srv.Mails()))
			}
			msgs := s.mailboxOf(t, o.userID)
			if len(msgs) != 1 || msgs[0].Status != notifications.StatusSent || msgs[0].Failure != "" {
				t.Fatalf("mailbox = %+v, want one sent message", msgs)
			}
			if p := srv.Mails()[0].Parse(t); p.Header.Get("Message-ID") != "<"+msgs[0].ID+"@shop.example>" {
				t.Errorf("Message-ID %q for message %s", p.Header.Get("Message-ID"), msgs[0].ID)
			}
		})
	}
}

// TestSMTPRejectedForGood: a permanent (5xx) refusal of the recipient or of
// the message is tried once: the event is handled at its first attempt and
// the mailbox holds the message as failed, with the server's reply, which
// the REST API shows as documented.
func TestSMTPRejectedForGood(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		opts  smtptest.Options
		reply string
	}{
		"unknown recipient": {smtptest.Options{RejectRecipient: rejectBounces}, "550 5.1.1 mailbox unavailable"},
		"bad address": {smtptest.Options{RejectRecipient: func(string) string { return "553 5.1.3 bad recipient address syntax" }},
			"553 5.1.3 bad recipient address syntax"},
		"message refused": {smtptest.Options{FailFirst: 1_000, FailReply: "554 5.7.1 message refused"}, "554 5.7.1 message refused"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tc.opts)
			s := newShop(t, withSMTP(srv))
			o := newOrder()
			o.email = "bounce-" + o.email
			s.publish(t, o.shipped())
			eventstest.Eventually(t, 10*time.Second, "the event handled", func() bool {
				status, _ := s.inboxRow(t, "orders.order_shipped.v1", o.id)
				return status == "done"
			})
			if _, attempts := s.inboxRow(t, "orders.order_shipped.v1", o.id); attempts != 1 {
				t.Errorf("%d attempts, want 1", attempts)
			}
			if srv.Dials() != 1 || srv.Refused() != 1 || len(srv.Mails()) != 0 {
				t.Errorf("server dialled %d times, refused %d and accepted %d; want 1, 1 and 0",
					srv.Dials(), srv.Refused(), len(srv.Mails()))
			}
			msgs := s.mailboxOf(t, o.userID)
			if len(msgs) != 1 {
				t.Fatalf("mailbox = %+v, want one message", msgs)
			}
			if m := msgs[0]; m.Status != notifications.StatusFailed || m.Failure != tc.reply || !m.SentAt.IsZero() {
				t.Errorf("message status %q failure %q sent at %v, want failed with %q", m.Status, m.Failure, m.SentAt, tc.reply)
			}
			api := s.serveHTTP(t)
			code, body := api.get("/api/notifications/mailbox/"+msgs[0].ID, api.admin)
			if code != 200 || body["status"] != notifications.StatusFailed || body["failure"] != tc.reply || body["sent_at"] != nil {
				t.Errorf("GET the message: %d %v, want failed with the reply", code, body)
			}
		})
	}
}

// TestSMTPDeadLettered: when the server refuses every attempt the event is
// dead-lettered (for an operator to replay) and no message is recorded.
func TestSMTPDeadLettered(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{FailFirst: 1_000})
	s := newShop(t, withSMTP(srv), func(c *config.Config) { c.Events.MaxAttempts = 3 })
	o := newOrder()
	s.publish(t, o.failed("card declined"))
	eventstest.Eventually(t, 10*time.Second, "the event dead-lettered", func() bool {
		status, _ := s.inboxRow(t, "orders.order_failed.v1", o.id)
		return status == "dead"
	})
	if srv.Refused() != 3 {
		t.Errorf("%d deliveries tried, want 3", srv.Refused())
	}
	if msgs := s.mailboxOf(t, o.userID); len(msgs) != 0 {
		t.Errorf("mailbox = %+v, want nothing half-written", msgs)
	}
}

// TestSMTPSettingsChecked: an SMTP timeout that leaves no room inside the
// event handler's, or a sender that is no address, stops the module from
// starting.
func TestSMTPSettingsChecked(t *testing.T) {
	t.Parallel()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "notifications")
	log := slog.New(slog.DiscardHandler)
	for name, adjust := range map[string]func(*config.Config){
		"timeout": func(c *config.Config) { c.Mail.Timeout = c.Events.HandlerTimeout - time.Second },
		"from":    func(c *config.Config) { c.Mail.From = "not an address" },
	} {
		cfg := testConfig(t, func(c *config.Config) { c.Mail.SMTPAddr = "127.0.0.1:25" }, adjust)
		bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := notificationsmodule.New(context.Background(), dbs, log, cfg, bus); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
