package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/notifications/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

func welcome(t *testing.T, eventID, userID string) domain.Message {
	t.Helper()
	m, err := domain.NewWelcome(domain.Welcome{EventID: eventID, UserID: userID, Email: "ada@example.com", Name: "Ada"}, time.Now())
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
	eventID, userID := uuid.NewString(), uuid.NewString()
	first := welcome(t, eventID, userID)
	if added, err := s.AddMessage(ctx, first); err != nil || !added {
		t.Fatalf("first AddMessage = %v, %v", added, err)
	}
	if added, err := s.AddMessage(ctx, welcome(t, eventID, userID)); err != nil || added {
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
