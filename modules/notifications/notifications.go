package notifications

import (
	"context"
	"time"
)

// Message kinds.
const (
	KindWelcome        = "welcome"         // sent once to every new account
	KindOrderConfirmed = "order_confirmed" // the order's items and total, once its payment is authorized
	KindOrderFailed    = "order_failed"    // the order failed (payment) or was rejected (stock), with the reason
	KindOrderShipped   = "order_shipped"   // the order left the warehouse
)

// Message statuses: what became of a message besides the mailbox.
const (
	StatusKept   = "kept"   // in the mailbox only (no mail server configured)
	StatusSent   = "sent"   // also accepted by the mail server, at SentAt
	StatusFailed = "failed" // refused for good by the mail server, which said Failure; never retried
)

// API is the mailbox as other modules and remote adapters see it. Every
// method needs the admin role in ctx: without a principal it returns
// KindUnauthenticated, for any other role KindForbidden. Any method may
// also return KindInternal.
type API interface {
	// Mailbox returns one page of messages in the order of the events
	// that caused them, of one recipient or of all. KindInvalid names recipient (not a UUID), after
	// (not a cursor from this API) or limit (outside 1..100; 0 means 20).
	Mailbox(ctx context.Context, q MailboxQuery) (MailboxPage, error)
	// Message returns one message; KindNotFound for an unknown or
	// malformed id.
	Message(ctx context.Context, id string) (Message, error)
}

// MailboxQuery selects a page of the mailbox.
type MailboxQuery struct {
	RecipientUserID string `json:"recipient_user_id,omitempty"` // empty: every recipient
	After           string `json:"after,omitempty"`             // NextCursor of the previous page
	Limit           int    `json:"limit,omitempty"`             // 1..100; 0 means 20
}

// MailboxPage is one page; NextCursor is empty on the last page.
type MailboxPage struct {
	Items      []Message `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// Message is one notification to a user. EventID names the event that
// caused it; one event causes at most one message. SentAt is set when
// Status is StatusSent, Failure (the mail server's reply, such as
// "550 5.1.1 mailbox unavailable") when Status is StatusFailed.
type Message struct {
	ID              string    `json:"id"`
	EventID         string    `json:"event_id"`
	RecipientUserID string    `json:"recipient_user_id"`
	RecipientEmail  string    `json:"recipient_email"`
	Kind            string    `json:"kind"`
	Subject         string    `json:"subject"`
	Body            string    `json:"body"`
	CreatedAt       time.Time `json:"created_at"`
	Status          string    `json:"status"`
	SentAt          time.Time `json:"sent_at,omitzero"`
	Failure         string    `json:"failure,omitempty"`
}
