package domain

import (
	"context"
	"time"
)

// MailboxFilter selects a page of messages in id order, which is the order
// of the events that caused them (see messageID).
type MailboxFilter struct {
	RecipientUserID string // empty: every recipient
	After           string // exclusive lower bound on id; empty: from the start
	Limit           int
}

// Repository is the storage the Service needs. Methods wrap storage
// failures as KindInternal.
type Repository interface {
	// AddMessage stores m. When a message of the same event is stored
	// already it keeps that one and reports added false: a redelivered
	// event has no second effect.
	AddMessage(ctx context.Context, m Message) (added bool, err error)
	// MarkSent records that message id was sent by mail at the given time;
	// KindNotFound for an unknown id.
	MarkSent(ctx context.Context, id string, at time.Time) error
	// MarkFailed records that the mail server refused message id for
	// good, for the given reason; KindNotFound for an unknown id.
	MarkFailed(ctx context.Context, id, reason string) error
	// Message returns KindNotFound for an unknown id.
	Message(ctx context.Context, id string) (Message, error)
	// Mailbox returns up to f.Limit messages.
	Mailbox(ctx context.Context, f MailboxFilter) ([]Message, error)
}
