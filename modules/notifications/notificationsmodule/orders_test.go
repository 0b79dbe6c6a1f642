package notificationsmodule_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// anOrder is the data the order events of one test order share.
type anOrder struct {
	id, userID, email string
}

func newOrder() anOrder {
	return anOrder{id: uuid.NewString(), userID: uuid.NewString(), email: "buyer-" + uuid.NewString()[:8] + "@example.com"}
}

func (o anOrder) confirmed() orders.OrderConfirmed {
	eur := func(n int64) orders.Money { return orders.Money{Amount: n, Currency: "EUR"} }
	return orders.OrderConfirmed{
		OrderID: o.id, UserID: o.userID, Email: o.email, ConfirmedAt: time.Now(),
		Items: []orders.Item{
			{ProductID: uuid.NewString(), SKU: "MUG-BLUE", Name: "Blue mug", Quantity: 2, UnitPrice: eur(1234), LineTotal: eur(2468)},
			{ProductID: uuid.NewString(), SKU: "TEA-1", Name: "Teapot", Quantity: 1, UnitPrice: eur(3000), LineTotal: eur(3000)},
		},
		Total: eur(5468),
	}
}

func (o anOrder) failed(reason string) orders.OrderFailed {
	return orders.OrderFailed{OrderID: o.id, UserID: o.userID, Email: o.email, Reason: reason, FailedAt: time.Now()}
}

func (o anOrder) rejected(reason string) orders.OrderRejected {
	return orders.OrderRejected{OrderID: o.id, UserID: o.userID, Email: o.email, Reason: reason, RejectedAt: time.Now()}
}

func (o anOrder) shipped() orders.OrderShipped {
	return orders.OrderShipped{OrderID: o.id, UserID: o.userID, Email: o.email, ShippedAt: time.Now()}
}

// waitMailbox waits until userID's mailbox holds n messages and returns them.
func (s *shop) waitMailbox(t *testing.T, userID string, n int) []notifications.Message {
	t.Helper()
	var msgs []notifications.Message
	eventstest.Eventually(t, 10*time.Second, "the order emails", func() bool {
		msgs = s.mailboxOf(t, userID)
		return len(msgs) >= n
	})
	if len(msgs) != n {
		t.Fatalf("mailbox = %+v, want %d messages", msgs, n)
	}
	return msgs
}

// TestOrderEmails publishes each order event through a real bus and finds
// its message in the mailbox, kept there (no SMTP server configured), naming
// the order in a field of its own.
func TestOrderEmails(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	tests := []struct {
		name    string
		event   func(anOrder) events.Event
		kind    string
		subject string // after the order id
		body    []string
	}{
		{"confirmed", func(o anOrder) events.Event { return o.confirmed() }, notifications.KindOrderConfirmed, " is confirmed",
			[]string{"2 x Blue mug (MUG-BLUE) at 12.34 EUR = 24.68 EUR", "1 x Teapot (TEA-1) at 30.00 EUR = 30.00 EUR", "Total: 54.68 EUR"}},
		{"failed", func(o anOrder) events.Event { return o.failed("payment declined") }, notifications.KindOrderFailed,
			" could not be completed", []string{"Reason: payment declined"}},
		{"rejected", func(o anOrder) events.Event { return o.rejected("not enough stock of Blue mug") }, notifications.KindOrderFailed,
			" could not be completed", []string{"Reason: not enough stock of Blue mug"}},
		{"shipped", func(o anOrder) events.Event { return o.shipped() }, notifications.KindOrderShipped, " has shipped",
			[]string{"on its way"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrder()
			s.publish(t, tc.event(o))
			m := s.waitMailbox(t, o.userID, 1)[0]
			if m.Kind != tc.kind || m.RecipientEmail != o.email || m.OrderID != o.id || m.Subject != "Your order "+o.id+tc.subject {
				t.Errorf("message %+v, want kind %s to %s about order %s", m, tc.kind, o.email, o.id)
			}
			for _, want := range append(tc.body, o.id) {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
			if m.Status != notifications.StatusKept || !m.SentAt.IsZero() {
				t.Errorf("status %q sent at %v, want kept", m.Status, m.SentAt)
			}
		})
	}
}

// TestOrderEmailsOneStream: an order's events are one ordered stream of the
// order_emails subscriber, so its messages come in the order of its events;
// a redelivered event adds no second message.
func TestOrderEmailsOneStream(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	o := newOrder()
	s.publish(t, o.confirmed(), o.shipped())
	msgs := s.waitMailbox(t, o.userID, 2)
	byKind := map[string]notifications.Message{}
	for _, m := range msgs {
		byKind[m.Kind] = m
	}
	confirmed, shipped := byKind[notifications.KindOrderConfirmed], byKind[notifications.KindOrderShipped]
	if confirmed.ID == "" || shipped.ID == "" || shipped.CreatedAt.Before(confirmed.CreatedAt) {
		t.Fatalf("messages %+v, want the confirmation, then the shipping notice", msgs)
	}

	ctx, owner := context.Background(), s.dbs.Owner().Pool()
	tag, err := owner.Exec(ctx, `UPDATE notifications.event_inbox
		SET status = 'pending', handled_at = NULL, next_attempt_at = now()
		WHERE subscriber = 'notifications.order_emails' AND event_id = $1 AND status = 'done'`, shipped.EventID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("reset the inbox row: %v (%d rows)", err, tag.RowsAffected())
	}
	eventstest.Eventually(t, 10*time.Second, "the redelivery handled", func() bool {
		status, attempts := s.inboxRow(t, "orders.order_shipped.v1", o.id)
		return status == "done" && attempts == 2
	})
	if again := s.mailboxOf(t, o.userID); len(again) != 2 {
		t.Fatalf("after redelivery the mailbox = %+v, want the two messages", again)
	}
}

// TestMalformedOrderEventIsDeadLettered: an event the module cannot turn
// into a message is retried, then dead-lettered, and leaves no message.
func TestMalformedOrderEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := newShop(t, func(c *config.Config) { c.Events.MaxAttempts = 2 })
	o := newOrder()
	bad := o.confirmed()
	bad.Items = nil
	s.publish(t, bad)
	eventstest.Eventually(t, 10*time.Second, "the event dead-lettered", func() bool {
		status, _ := s.inboxRow(t, "orders.order_confirmed.v1", o.id)
		return status == "dead"
	})
	if msgs := s.mailboxOf(t, o.userID); len(msgs) != 0 {
		t.Errorf("mailbox = %+v, want empty", msgs)
	}
}
