package domain

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fakeRepo is a Repository whose methods are the test's functions.
type fakeRepo struct {
	AddMessageFn func(ctx context.Context, m Message) (bool, error)
	MarkSentFn   func(ctx context.Context, id string, at time.Time) error
	MessageFn    func(ctx context.Context, id string) (Message, error)
	MailboxFn    func(ctx context.Context, f MailboxFilter) ([]Message, error)
}

var _ Repository = (*fakeRepo)(nil)

func (f *fakeRepo) AddMessage(ctx context.Context, m Message) (bool, error) {
	return f.AddMessageFn(ctx, m)
}
func (f *fakeRepo) MarkSent(ctx context.Context, id string, at time.Time) error {
	return f.MarkSentFn(ctx, id, at)
}
func (f *fakeRepo) Message(ctx context.Context, id string) (Message, error) {
	return f.MessageFn(ctx, id)
}
func (f *fakeRepo) Mailbox(ctx context.Context, q MailboxFilter) ([]Message, error) {
	return f.MailboxFn(ctx, q)
}

// fakeSender is a Sender whose Send is the test's function.
type fakeSender struct {
	SendFn func(ctx context.Context, m Message) (bool, error)
}

var _ Sender = (*fakeSender)(nil)

func (f *fakeSender) Send(ctx context.Context, m Message) (bool, error) { return f.SendFn(ctx, m) }

// TestDeliver: a message is sent only when this delivery stored it, marked
// sent only when the sender sent it, and any failure is returned (so the
// handler's transaction rolls back and the event is retried).
func TestDeliver(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		added     bool
		addErr    error
		sent      bool
		sendErr   error
		wantErr   error
		wantSends int
		wantMarks int
	}{
		{name: "kept", added: true, wantSends: 1},
		{name: "sent", added: true, sent: true, wantSends: 1, wantMarks: 1},
		{name: "stored already", added: false},
		{name: "store fails", addErr: boom, wantErr: boom},
		{name: "send fails", added: true, sendErr: boom, wantErr: boom, wantSends: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stored Message
			sends, marks := 0, 0
			repo := &fakeRepo{
				AddMessageFn: func(_ context.Context, m Message) (bool, error) { stored = m; return tc.added, tc.addErr },
				MarkSentFn: func(_ context.Context, id string, at time.Time) error {
					marks++
					if id != stored.ID() || !at.Equal(now) {
						t.Errorf("MarkSent(%s, %v), want (%s, %v)", id, at, stored.ID(), now)
					}
					return nil
				},
			}
			sender := &fakeSender{SendFn: func(_ context.Context, m Message) (bool, error) {
				sends++
				if m.ID() != stored.ID() {
					t.Errorf("sent %s, stored %s", m.ID(), stored.ID())
				}
				return tc.sent, tc.sendErr
			}}
			svc := NewService(repo, sender, func() time.Time { return now })
			err := svc.OrderShipped(context.Background(), repo, OrderShipped{
				Source: src(), OrderID: "o-1", UserID: uuid.NewString(), Email: "ada@example.com",
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if sends != tc.wantSends || marks != tc.wantMarks {
				t.Errorf("%d sends, %d marks; want %d, %d", sends, marks, tc.wantSends, tc.wantMarks)
			}
		})
	}
}

// TestInvalidEventStoresNothing: a malformed event is KindInvalid before
// anything is stored or sent.
func TestInvalidEventStoresNothing(t *testing.T) {
	t.Parallel()
	repo := &fakeRepo{AddMessageFn: func(context.Context, Message) (bool, error) {
		t.Error("stored a message of a malformed event")
		return true, nil
	}}
	sender := &fakeSender{SendFn: func(context.Context, Message) (bool, error) {
		t.Error("sent a message of a malformed event")
		return true, nil
	}}
	svc := NewService(repo, sender, time.Now)
	err := svc.OrderFailed(context.Background(), repo, OrderFailed{Source: src(), OrderID: "o-1", Email: "ada@example.com"})
	wantInvalid(t, err, "user_id")
}
