package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/notifications/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

func source() domain.Source { return domain.Source{EventID: uuid.NewString(), OccurredAt: time.Now()} }

func welcome(t *testing.T, src domain.Source, userID string) domain.Message {
	t.Helper()
	m, err := domain.NewWelcome(domain.Welcome{Source: src, UserID: userID, Email: "ada@example.com", Name: "Ada"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAddMessageOncePerEvent: the event_id constraint keeps one message per
// event, whatever the inbox did.
func TestAddMessageOncePerEvent(t *testing.T) {
	t.Parallel()
	s, ctx := store.New(dbtest.Open(t, "notifications")), context.Background()
	src, userID := source(), uuid.NewString()
	first := welcome(t, src, userID)
	if added, err := s.AddMessage(ctx, first); err != nil || !added {
		t.Fatalf("first AddMessage = %v, %v", added, err)
	}
	if added, err := s.AddMessage(ctx, welcome(t, src, userID)); err != nil || added {
		t.Fatalf("second AddMessage of the event = %v, %v; want false, nil", added, err)
	}
	got, err := s.Mailbox(ctx, domain.MailboxFilter{RecipientUserID: userID, Limit: 10})
	if err != nil || len(got) != 1 || got[0] != first {
		t.Fatalf("mailbox = %+v, %v; want only %+v", got, err, first)
	}
	if one, err := s.Message(ctx, first.ID()); err != nil || one != first {
		t.Errorf("Message = %+v, %v", one, err)
	}
	if _, err := s.Message(ctx, uuid.NewString()); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown id: %v, want not found", err)
	}
}

// TestMarkSent: a stored message becomes sent with its time; an unknown id
// is not found.
func TestMarkSent(t *testing.T) {
	t.Parallel()
	s, ctx := store.New(dbtest.Open(t, "notifications")), context.Background()
	m := welcome(t, source(), uuid.NewString())
	if _, err := s.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Message(ctx, m.ID()); err != nil || got.Status() != domain.StatusKept || !got.SentAt().IsZero() {
		t.Fatalf("stored message: %q at %v, %v; want kept", got.Status(), got.SentAt(), err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.MarkSent(ctx, m.ID(), at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Message(ctx, m.ID())
	if err != nil || got.Status() != domain.StatusSent || !got.SentAt().Equal(at) {
		t.Errorf("after MarkSent: %q at %v, %v; want sent at %v", got.Status(), got.SentAt(), err, at)
	}
	if err := s.MarkSent(ctx, uuid.NewString(), at); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("MarkSent of an unknown id: %v, want not found", err)
	}
}

// TestMarkFailed: a stored message becomes failed with the server's reason
// (and no sending time); an unknown id is not found; the table refuses a
// failed message without a reason, and a reason on any other.
func TestMarkFailed(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "notifications")
	s, ctx := store.New(db), context.Background()
	m := welcome(t, source(), uuid.NewString())
	if _, err := s.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Message(ctx, m.ID()); err != nil || got.Failure() != "" {
		t.Fatalf("stored message: failure %q, %v; want none", got.Failure(), err)
	}
	if err := s.MarkFailed(ctx, m.ID(), "550 5.1.1 mailbox unavailable"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Message(ctx, m.ID())
	if err != nil || got.Status() != domain.StatusFailed || got.Failure() != "550 5.1.1 mailbox unavailable" || !got.SentAt().IsZero() {
		t.Errorf("after MarkFailed: %q failure %q at %v, %v; want failed with the reason", got.Status(), got.Failure(), got.SentAt(), err)
	}
	if err := s.MarkFailed(ctx, uuid.NewString(), "550"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("MarkFailed of an unknown id: %v, want not found", err)
	}
	for _, set := range []string{"status = 'kept'", "failure = NULL"} {
		var pgErr *pgconn.PgError
		err := db.Gorm.Exec("UPDATE mailbox SET "+set+" WHERE id = ?", m.ID()).Error
		if !errors.As(err, &pgErr) || pgErr.Code != "23514" || pgErr.ConstraintName != "mailbox_failure_check" {
			t.Errorf("SET %s on a failed message: %v, want mailbox_failure_check violated", set, err)
		}
	}
}

// TestEveryKindIsStored: the table's kind check admits every kind the
// domain composes, and an order's messages keep its id in a column of
// their own.
func TestEveryKindIsStored(t *testing.T) {
	t.Parallel()
	s, ctx := store.New(dbtest.Open(t, "notifications")), context.Background()
	user, email, now, order := uuid.NewString(), "ada@example.com", time.Now(), uuid.NewString()
	compose := []func() (domain.Message, error){
		func() (domain.Message, error) {
			return domain.NewWelcome(domain.Welcome{Source: source(), UserID: user, Email: email, Name: "Ada"}, now)
		},
		func() (domain.Message, error) {
			return domain.NewOrderConfirmed(domain.OrderConfirmed{Source: source(), OrderID: order, UserID: user, Email: email,
				Items: []domain.Line{{Name: "Mug", Quantity: 1, UnitPrice: domain.Money{Amount: 1, Currency: "EUR"},
					LineTotal: domain.Money{Amount: 1, Currency: "EUR"}}},
				Total: domain.Money{Amount: 1, Currency: "EUR"}}, now)
		},
		func() (domain.Message, error) {
			return domain.NewOrderFailed(domain.OrderFailed{Source: source(), OrderID: order, UserID: user, Email: email}, now)
		},
		func() (domain.Message, error) {
			return domain.NewOrderShipped(domain.OrderShipped{Source: source(), OrderID: order, UserID: user, Email: email}, now)
		},
	}
	for _, c := range compose {
		m, err := c()
		if err != nil {
			t.Fatal(err)
		}
		if added, err := s.AddMessage(ctx, m); err != nil || !added {
			t.Errorf("%s: AddMessage = %v, %v", m.Kind(), added, err)
		}
	}
	got, err := s.Mailbox(ctx, domain.MailboxFilter{RecipientUserID: user, Limit: 10})
	if err != nil || len(got) != len(compose) {
		t.Fatalf("mailbox holds %d messages (%v), want %d", len(got), err, len(compose))
	}
	for _, m := range got {
		want := order
		if m.Kind() == domain.KindWelcome {
			want = ""
		}
		if m.OrderID() != want {
			t.Errorf("%s: order id %q, want %q", m.Kind(), m.OrderID(), want)
		}
	}
}
