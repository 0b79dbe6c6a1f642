package notifications

import (
	"context"
	"time"
)

// Message kinds.
const (
	KindWelcome              = "welcome"               // sent once to every new account
	KindRegistrationRepeated = "registration_repeated" // to an account's owner: someone tried to sign up with its address
	KindOrderConfirmed       = "order_confirmed"       // the order's items and total, once its payment is authorized
	KindOrderFailed          = "order_failed"          // the order failed (payment) or was rejected (stock), with the reason
	KindOrderShipped         = "order_shipped"         // the order left the warehouse
)

// Message statuses: what became of a message besides the mailbox.
const (
	StatusKept   = "kept"   // in the mailbox only (no mail server configured)
	StatusSent   = "sent"   // also accepted by the mail server, at SentAt
	StatusFailed = "failed" // refused for good by the mail server, which said Failure; never retried
)

// API is the mailbox as other modules and remote adapters see it. Every
// method needs a signed-in user in ctx (KindUnauthenticated otherwise). A
// customer reads only their own messages: another user's message is
// KindNotFound, never KindForbidden, so ids cannot be probed (as for
// orders). Admins read every message. Any method may also return
// KindInternal.
type API interface {
	// Mailbox returns one page of messages in the order of the events
	// that caused them: a customer's own (whatever recipient they ask
	// for), or for admins one recipient's or everyone's. KindInvalid names
	// recipient (not a UUID), after (not a cursor from this API) or limit
	// (outside 1..100; 0 means 20).
	//shop:idempotent
	Mailbox(ctx context.Context, q MailboxQuery) (MailboxPage, error)
	// Message returns one message; KindNotFound for an unknown or
	// malformed id, and for another user's message.
	//shop:idempotent
	Message(ctx context.Context, id string) (Message, error)
}

// MailboxQuery selects a page of the mailbox.
type MailboxQuery struct {
	RecipientUserID string `json:"recipient_user_id,omitempty"` // admins only; empty: every recipient
	After           string `json:"after,omitempty"`             // NextCursor of the previous page
	Limit           int    `json:"limit,omitempty"`             // 1..100; 0 means 20
}

// MailboxPage is one page; NextCursor is empty on the last page.
type MailboxPage struct {
	Items      []Message `json:"items"`
	NextCursor string    `json:"next_cursor" description:"empty on the last page"`
}

// Message is one notification to a user. EventID names the event that
// caused it; one event causes at most one message. OrderID names the order
// an order's message is about (empty for the messages about an account). SentAt is set when
// Status is StatusSent, Failure (the mail server's reply, such as
// "550 5.1.1 mailbox unavailable") when Status is StatusFailed.
type Message struct {
	ID              string    `json:"id"`
	EventID         string    `json:"event_id"`
	RecipientUserID string    `json:"recipient_user_id"`
	RecipientEmail  string    `json:"recipient_email"`
	OrderID         string    `json:"order_id,omitempty" format:"uuid" description:"the order the message is about; absent for messages about no order"`
	Kind            string    `json:"kind" enum:"welcome,registration_repeated,order_confirmed,order_failed,order_shipped"`
	Subject         string    `json:"subject"`
	Body            string    `json:"body"`
	CreatedAt       time.Time `json:"created_at"`
	Status          string    `json:"status" enum:"kept,sent,failed" description:"kept: in the mailbox only (no mail server configured); sent: accepted by the mail server at sent_at; failed: refused for good by the mail server (see failure), never retried"`
	SentAt          time.Time `json:"sent_at,omitzero" description:"when the mail server accepted the message; absent unless sent"`
	Failure         string    `json:"failure,omitempty" description:"the mail server's reply that refused the message for good; absent unless failed"`
}
