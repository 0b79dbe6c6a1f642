package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Kinds of message.
const KindWelcome = "welcome"

// Message is one notification to a user.
type Message struct {
	id, eventID, recipientUserID string
	recipientEmail, kind         string
	subject, body                string
	createdAt                    time.Time
}

// Welcome is what the welcome message needs to know about a new user.
type Welcome struct {
	EventID string // the registration event; one message per event
	UserID  string
	Email   string
	Name    string
}

// NewWelcome composes the welcome message of a registration. Invalid input
// (a malformed event) is KindInvalid, so the event is retried and finally
// dead-lettered where an operator sees it, rather than mailed half-empty.
func NewWelcome(in Welcome, now time.Time) (Message, error) {
	var f errs.Fields
	eventID, userID := parseUUID(&f, "event_id", in.EventID), parseUUID(&f, "user_id", in.UserID)
	if strings.TrimSpace(in.Email) == "" {
		f.Add("email", "required", "is required")
	}
	if strings.TrimSpace(in.Name) == "" {
		f.Add("name", "required", "is required")
	}
	if err := f.Err(); err != nil {
		return Message{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Message{}, errs.Internal(fmt.Errorf("message id: %w", err), "compose message")
	}
	return Message{
		id: id.String(), eventID: eventID, recipientUserID: userID, recipientEmail: in.Email, kind: KindWelcome,
		subject:   fmt.Sprintf("Welcome to the shop, %s!", in.Name),
		body:      fmt.Sprintf("Hello %s,\n\nyour account %s is ready. Happy shopping!\n\nThe shop team", in.Name, in.Email),
		createdAt: now.UTC().Truncate(time.Microsecond), // PostgreSQL's precision
	}, nil
}

// RestoreMessage rebuilds a stored message; the store is trusted.
func RestoreMessage(id, eventID, recipientUserID, recipientEmail, kind, subject, body string, createdAt time.Time) Message {
	return Message{id: id, eventID: eventID, recipientUserID: recipientUserID, recipientEmail: recipientEmail,
		kind: kind, subject: subject, body: body, createdAt: createdAt.UTC()}
}

func (m Message) ID() string              { return m.id }
func (m Message) EventID() string         { return m.eventID }
func (m Message) RecipientUserID() string { return m.recipientUserID }
func (m Message) RecipientEmail() string  { return m.recipientEmail }
func (m Message) Kind() string            { return m.kind }
func (m Message) Subject() string         { return m.subject }
func (m Message) Body() string            { return m.body }
func (m Message) CreatedAt() time.Time    { return m.createdAt }

func parseUUID(f *errs.Fields, field, s string) string {
	u, err := uuid.Parse(s)
	if err != nil {
		f.Add(field, "uuid", "must be a UUID")
		return ""
	}
	return u.String()
}
