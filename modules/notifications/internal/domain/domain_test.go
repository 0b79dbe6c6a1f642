package domain

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

func src() Source { return Source{EventID: uuid.NewString(), OccurredAt: time.Now()} }

// wantInvalid checks err is KindInvalid naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), field) {
		t.Errorf("%s: %v, want invalid naming it", field, err)
	}
}

func TestNewWelcome(t *testing.T) {
	t.Parallel()
	ok := Welcome{Source: src(), UserID: uuid.NewString(), Email: "ada@example.com", Name: "Ada"}
	m, err := NewWelcome(ok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindWelcome || m.Subject() != "Welcome to the shop, Ada!" || !strings.Contains(m.Body(), "ada@example.com") {
		t.Errorf("message %+v", m)
	}
	if m.Status() != StatusKept || !m.SentAt().IsZero() {
		t.Errorf("new message status %q sent at %v, want kept and no time", m.Status(), m.SentAt())
	}
	bad := map[string]func(w *Welcome){
		"event_id":    func(w *Welcome) { w.EventID = "x" },
		"occurred_at": func(w *Welcome) { w.OccurredAt = time.Time{} },
		"user_id":     func(w *Welcome) { w.UserID = "" },
		"email":       func(w *Welcome) { w.Email = " " },
		"name":        func(w *Welcome) { w.Name = "" },
	}
	for field, breakIt := range bad {
		in := ok
		breakIt(&in)
		_, err := NewWelcome(in, time.Now())
		wantInvalid(t, err, field)
	}
}

// TestNewRegistrationRepeated: the notice goes to the account's owner,
// says what happened and that nothing changed, and checks its input as the
// welcome does.
func TestNewRegistrationRepeated(t *testing.T) {
	t.Parallel()
	ok := RegistrationRepeated{Source: src(), UserID: uuid.NewString(), Email: "ada@example.com", Name: "Ada"}
	m, err := NewRegistrationRepeated(ok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindRegistrationRepeated || m.RecipientEmail() != "ada@example.com" || !strings.Contains(m.Subject(), "tried to create an account") {
		t.Errorf("message %+v", m)
	}
	for _, want := range []string{"Hello Ada", "ada@example.com", "sign in", "nothing changed"} {
		if !strings.Contains(m.Body(), want) {
			t.Errorf("body %q does not say %q", m.Body(), want)
		}
	}
	if welcome, _ := NewWelcome(Welcome(ok), time.Now()); welcome.ID() != m.ID() {
		t.Errorf("the notice's id %s is not derived from its event as every message's is (%s)", m.ID(), welcome.ID())
	}
	bad := ok
	bad.Name = " "
	_, err = NewRegistrationRepeated(bad, time.Now())
	wantInvalid(t, err, "name")
}

// TestEmailIsABareAddress: the recipient goes into a mail header, so
// anything but a plain address is refused.
func TestEmailIsABareAddress(t *testing.T) {
	t.Parallel()
	for _, email := range []string{"ada", "Ada <ada@example.com>", "ada@example.com\r\nBcc: eve@example.com", " ada@example.com"} {
		_, err := NewWelcome(Welcome{Source: src(), UserID: uuid.NewString(), Email: email, Name: "Ada"}, time.Now())
		wantInvalid(t, err, "email")
	}
}

// TestMessageIDFollowsTheEvent: the same event composes the same id (and so
// the same Message-ID on every retry), another event another id; the id is a
// UUIDv7 carrying the event's time, so ids sort as their events.
func TestMessageIDFollowsTheEvent(t *testing.T) {
	t.Parallel()
	s := src()
	in := OrderShipped{Source: s, OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "ada@example.com"}
	first, err := NewOrderShipped(in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewOrderShipped(in, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID() != again.ID() {
		t.Errorf("ids %s and %s for one event", first.ID(), again.ID())
	}
	id := uuid.MustParse(first.ID())
	if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
		t.Errorf("id %s is version %d variant %v, want a v7 UUID", id, id.Version(), id.Variant())
	}
	if sec, nsec := id.Time().UnixTime(); time.Unix(sec, nsec).UnixMilli() != s.OccurredAt.UnixMilli() {
		t.Errorf("id time %v, want the event's %v", time.Unix(sec, nsec), s.OccurredAt)
	}
	in.Source = Source{EventID: uuid.NewString(), OccurredAt: s.OccurredAt.Add(time.Millisecond)}
	later, err := NewOrderShipped(in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if later.ID() <= first.ID() {
		t.Errorf("id of a later event %s sorts before %s", later.ID(), first.ID())
	}
}

func TestOrderMessages(t *testing.T) {
	t.Parallel()
	user, orderID := uuid.NewString(), "0190c0de-0000-7000-8000-000000000001"
	confirmed := OrderConfirmed{
		Source: src(), OrderID: orderID, UserID: user, Email: "ada@example.com",
		Items: []Line{
			{SKU: "MUG-1", Name: "Blue mug", Quantity: 2, UnitPrice: Money{1234, "EUR"}, LineTotal: Money{2468, "EUR"}},
			{Name: "Teapot", Quantity: 1, UnitPrice: Money{3000, "EUR"}, LineTotal: Money{3000, "EUR"}},
		},
		Total: Money{5468, "EUR"},
	}
	tests := []struct {
		name    string
		compose func() (Message, error)
		kind    string
		subject string
		body    []string
	}{
		{"confirmed", func() (Message, error) { return NewOrderConfirmed(confirmed, time.Now()) },
			KindOrderConfirmed, "Your order " + orderID + " is confirmed",
			[]string{orderID, "2 x Blue mug (MUG-1) at 12.34 EUR = 24.68 EUR", "1 x Teapot at 30.00 EUR = 30.00 EUR", "Total: 54.68 EUR"}},
		{"failed", func() (Message, error) {
			return NewOrderFailed(OrderFailed{Source: src(), OrderID: orderID, UserID: user, Email: "ada@example.com", Reason: "card declined"}, time.Now())
		}, KindOrderFailed, "Your order " + orderID + " could not be completed", []string{orderID, "Reason: card declined"}},
		{"failed with a reason code", func() (Message, error) {
			return NewOrderFailed(OrderFailed{Source: src(), OrderID: orderID, UserID: user, Email: "ada@example.com", Reason: "card_declined"}, time.Now())
		}, KindOrderFailed, "Your order " + orderID + " could not be completed", []string{"Reason: Card declined\n"}},
		{"failed without reason", func() (Message, error) {
			return NewOrderFailed(OrderFailed{Source: src(), OrderID: orderID, UserID: user, Email: "ada@example.com"}, time.Now())
		}, KindOrderFailed, "Your order " + orderID + " could not be completed", []string{"Reason: no reason was given"}},
		{"shipped", func() (Message, error) {
			return NewOrderShipped(OrderShipped{Source: src(), OrderID: orderID, UserID: user, Email: "ada@example.com"}, time.Now())
		}, KindOrderShipped, "Your order " + orderID + " has shipped", []string{orderID, "on its way"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := tc.compose()
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind() != tc.kind || m.Subject() != tc.subject || m.RecipientUserID() != user || m.RecipientEmail() != "ada@example.com" {
				t.Errorf("message %+v, want kind %s subject %q", m, tc.kind, tc.subject)
			}
			if m.OrderID() != orderID {
				t.Errorf("order id %q, want %s as a field of its own", m.OrderID(), orderID)
			}
			for _, want := range tc.body {
				if !strings.Contains(m.Body(), want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body())
				}
			}
		})
	}
}

func TestOrderConfirmedValidation(t *testing.T) {
	t.Parallel()
	ok := func() OrderConfirmed {
		return OrderConfirmed{
			Source: src(), OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "ada@example.com",
			Items: []Line{{Name: "Mug", Quantity: 1, UnitPrice: Money{100, "EUR"}, LineTotal: Money{100, "EUR"}}},
			Total: Money{100, "EUR"},
		}
	}
	if _, err := NewOrderConfirmed(ok(), time.Now()); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	bad := map[string]func(o *OrderConfirmed){
		"order_id":                     func(o *OrderConfirmed) { o.OrderID = "" },
		"items":                        func(o *OrderConfirmed) { o.Items = nil },
		"items[0].name":                func(o *OrderConfirmed) { o.Items[0].Name = " " },
		"items[0].quantity":            func(o *OrderConfirmed) { o.Items[0].Quantity = 0 },
		"items[0].unit_price.currency": func(o *OrderConfirmed) { o.Items[0].UnitPrice.Currency = "eur" },
		"items[0].line_total.amount":   func(o *OrderConfirmed) { o.Items[0].LineTotal.Amount = -1 },
		"total.currency":               func(o *OrderConfirmed) { o.Total.Currency = "" },
		"email":                        func(o *OrderConfirmed) { o.Email = "nobody" },
	}
	for field, breakIt := range bad {
		in := ok()
		breakIt(&in)
		_, err := NewOrderConfirmed(in, time.Now())
		wantInvalid(t, err, field)
	}
	for name, compose := range map[string]func() error{
		"failed": func() error {
			_, err := NewOrderFailed(OrderFailed{Source: src(), OrderID: "o\n1", UserID: uuid.NewString(), Email: "a@b.c"}, time.Now())
			return err
		},
		"shipped": func() error {
			_, err := NewOrderShipped(OrderShipped{Source: src(), UserID: uuid.NewString(), Email: "a@b.c"}, time.Now())
			return err
		},
		"shipped, not a UUID": func() error {
			_, err := NewOrderShipped(OrderShipped{Source: src(), OrderID: "o-1", UserID: uuid.NewString(), Email: "a@b.c"}, time.Now())
			return err
		},
	} {
		if err := compose(); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "order_id") {
			t.Errorf("%s without a usable order id: %v, want invalid naming order_id", name, err)
		}
	}
}

func TestMoneyString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{Money{1234, "EUR"}, "12.34 EUR"},
		{Money{5, "USD"}, "0.05 USD"},
		{Money{0, "EUR"}, "0.00 EUR"},
		{Money{100000, "GBP"}, "1000.00 GBP"},
		{Money{-250, "EUR"}, "-2.50 EUR"},
		{Money{1234, "JPY"}, "1234 JPY"},
		{Money{1234, "KWD"}, "1.234 KWD"},
		{Money{math.MinInt64, "EUR"}, "-92233720368547758.08 EUR"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestMailboxFilter(t *testing.T) {
	t.Parallel()
	f, err := mailboxFilter(MailboxQuery{})
	if err != nil || f.Limit != DefaultLimit {
		t.Errorf("default filter = %+v, %v", f, err)
	}
	for _, q := range []MailboxQuery{{Limit: MaxLimit + 1}, {Limit: -1}, {After: "x"}, {RecipientUserID: "x"}} {
		if _, err := mailboxFilter(q); !errs.Is(err, errs.KindInvalid) {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}
