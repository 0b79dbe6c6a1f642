package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// fakeRepo is a Repository whose methods are the test's functions.
type fakeRepo struct {
	AddMessageFn func(ctx context.Context, m Message) (bool, error)
	MarkSentFn   func(ctx context.Context, id string, at time.Time) error
	MarkFailedFn func(ctx context.Context, id, reason string) error
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
func (f *fakeRepo) MarkFailed(ctx context.Context, id, reason string) error {
	return f.MarkFailedFn(ctx, id, reason)
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
// sent only when the sender sent it, marked failed (and the event handled)
// when the mail server refused it for good, and any other failure is
// returned (so the handler's transaction rolls back and the event is
// retried).
func TestDeliver(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	rejected := fmt.Errorf("rcpt: %w", &Rejection{Reply: "550 5.1.1 mailbox unavailable"})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		added       bool
		addErr      error
		sent        bool
		sendErr     error
		markErr     error
		wantErr     error
		wantSends   int
		wantMarks   int
		wantFailure string // the reason MarkFailed records; "" for no MarkFailed
	}{
		{name: "kept", added: true, wantSends: 1},
		{name: "sent", added: true, sent: true, wantSends: 1, wantMarks: 1},
		{name: "stored already", added: false},
		{name: "store fails", addErr: boom, wantErr: boom},
		{name: "send fails", added: true, sendErr: boom, wantErr: boom, wantSends: 1},
		{name: "rejected", added: true, sendErr: rejected, wantSends: 1, wantFailure: "550 5.1.1 mailbox unavailable"},
		{name: "rejected, marking fails", added: true, sendErr: rejected, markErr: boom, wantErr: boom, wantSends: 1,
			wantFailure: "550 5.1.1 mailbox unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stored Message
			var failure string
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
				MarkFailedFn: func(_ context.Context, id, reason string) error {
					if id != stored.ID() || failure != "" {
						t.Errorf("MarkFailed(%s) (after %q), want %s once", id, failure, stored.ID())
					}
					failure = reason
					return tc.markErr
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
				Source: src(), OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "ada@example.com",
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if sends != tc.wantSends || marks != tc.wantMarks || failure != tc.wantFailure {
				t.Errorf("%d sends, %d marks sent, failure %q; want %d, %d, %q",
					sends, marks, failure, tc.wantSends, tc.wantMarks, tc.wantFailure)
			}
		})
	}
}

// TestFailureReason: whatever a server replies, the mailbox can store it
// (PostgreSQL's text takes neither NUL bytes nor invalid UTF-8) and an
// operator can read it; a long reply keeps its start, whole characters only.
func TestFailureReason(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxFailureLen) // two bytes each
	for _, tc := range []struct{ reply, want string }{
		{"550 5.1.1 mailbox unavailable", "550 5.1.1 mailbox unavailable"},
		{"550 first line\nsecond line ", "550 first line\nsecond line"},
		{"550 bad\x00 \xff byte", "550 bad \uFFFD byte"},
		{" \x00 ", "refused without a reason"},
		{long, long[:MaxFailureLen]},
		{"5" + long, "5" + long[:MaxFailureLen-2]},
	} {
		got := failureReason(tc.reply)
		if got != tc.want || len(got) > MaxFailureLen || !utf8.ValidString(got) {
			t.Errorf("failureReason(%q) = %q, want %q", tc.reply, got, tc.want)
		}
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
	err := svc.OrderFailed(context.Background(), repo, OrderFailed{Source: src(), OrderID: uuid.NewString(), Email: "ada@example.com"})
	wantInvalid(t, err, "user_id")
}
