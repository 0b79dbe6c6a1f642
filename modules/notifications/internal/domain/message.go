package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Kinds of message.
const (
	KindWelcome              = "welcome"
	KindRegistrationRepeated = "registration_repeated"
	KindOrderConfirmed       = "order_confirmed"
	KindOrderFailed          = "order_failed"
	KindOrderShipped         = "order_shipped"
)

// What became of a message: kept in the mailbox only, sent by mail too, or
// refused for good by the mail server.
const (
	StatusKept   = "kept"
	StatusSent   = "sent"
	StatusFailed = "failed"
)

// Message is one notification to a user.
type Message struct {
	id, eventID, recipientUserID string
	orderID                      string // empty unless about an order
	recipientEmail, kind         string
	subject, body                string
	createdAt                    time.Time
	status                       string
	sentAt                       time.Time // zero unless sent
	failure                      string    // empty unless failed
}

// Source is the event a message answers. One event causes at most one
// message, and the message's id is derived from the event (see messageID).
type Source struct {
	EventID    string
	OccurredAt time.Time
}

// Welcome is what the welcome message needs to know about a new user.
type Welcome struct {
	Source // the registration event
	UserID string
	Email  string
	Name   string
}

// NewWelcome composes the welcome message of a registration. Invalid input
// (a malformed event) is KindInvalid, so the event is retried and finally
// dead-lettered where an operator sees it, rather than mailed half-empty.
func NewWelcome(in Welcome, now time.Time) (Message, error) {
	h, err := parseAccount(in)
	if err != nil {
		return Message{}, err
	}
	return h.message(KindWelcome, now,
		fmt.Sprintf("Welcome to the shop, %s!", in.Name),
		fmt.Sprintf("Hello %s,\n\nyour account %s is ready. Happy shopping!\n\nThe shop team", in.Name, in.Email)), nil
}

// RegistrationRepeated is what the notice of a repeated sign-up needs: the
// existing account's owner, as for a welcome (the newcomer's name is not
// known, nor wanted).
type RegistrationRepeated Welcome

// NewRegistrationRepeated composes the notice to an account's owner that
// someone tried to sign up with their address: the sign-up's answer did not
// say the address is taken, so that it reveals no accounts, and this
// message is how its owner learns of it. Invalid input is KindInvalid, as
// for NewWelcome.
func NewRegistrationRepeated(in RegistrationRepeated, now time.Time) (Message, error) {
	h, err := parseAccount(Welcome(in))
	if err != nil {
		return Message{}, err
	}
	return h.message(KindRegistrationRepeated, now,
		"Someone tried to create an account with your address",
		fmt.Sprintf("Hello %s,\n\nsomeone tried to create a shop account with %s, which has an account already. "+
			"If it was you, sign in with your existing password instead.\n\n"+
			"If it was not you, nothing changed: no account was created and your password is as it was. "+
			"You need not do anything.\n\nThe shop team", in.Name, in.Email)), nil
}

// parseAccount checks what every message about an account needs.
func parseAccount(in Welcome) (header, error) {
	var f errs.Fields
	h := parseHeader(&f, in.Source, in.UserID, in.Email)
	if strings.TrimSpace(in.Name) == "" {
		f.Add("name", "required", "is required")
	}
	return h, f.Err()
}

// header is the validated part every message has: its cause and recipient.
type header struct {
	id, eventID, userID, email string
	orderID                    string // set by the order messages
}

// parseHeader checks the cause and the recipient, adding what is wrong to f.
func parseHeader(f *errs.Fields, src Source, userID, email string) header {
	h := header{userID: parseUUID(f, "user_id", userID), email: parseEmail(f, "email", email)}
	event, err := uuid.Parse(src.EventID)
	if err != nil {
		f.Add("event_id", "uuid", "must be a UUID")
	}
	// The id's time is the event's, in milliseconds since 1970.
	timed := !src.OccurredAt.Before(time.UnixMilli(0))
	if !timed {
		f.Add("occurred_at", "required", "must be a time after 1970")
	}
	if err == nil && timed {
		h.eventID, h.id = event.String(), messageID(event, src.OccurredAt).String()
	}
	return h
}

func (h header) message(kind string, now time.Time, subject, body string) Message {
	return Message{
		id: h.id, eventID: h.eventID, recipientUserID: h.userID, orderID: h.orderID, recipientEmail: h.email, kind: kind,
		subject: subject, body: body,
		createdAt: now.UTC().Truncate(time.Microsecond), // PostgreSQL's precision
		status:    StatusKept,
	}
}

// messageID derives a message's id from the event that causes it: a UUIDv7
// whose time is the event's and whose other bits hash the event id. A
// redelivered event composes the very same id, so the Message-ID header made
// from it is the same in every copy a retry may send, and a receiver can drop
// the duplicates; id order stays the order of the events (to the millisecond),
// which is what paging by id needs.
func messageID(event uuid.UUID, at time.Time) uuid.UUID {
	sum := sha256.Sum256(append([]byte("notifications.message/"), event[:]...))
	var id uuid.UUID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(id[:6], ms[2:])
	copy(id[6:], sum[:10])
	id[6] = id[6]&0x0f | 0x70 // version 7
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id
}

// Stored is a message as the store keeps it, for RestoreMessage.
type Stored struct {
	ID, EventID, RecipientUserID, RecipientEmail string
	OrderID                                      string // empty unless about an order
	Kind, Subject, Body                          string
	CreatedAt                                    time.Time
	Status                                       string
	SentAt                                       time.Time // zero unless sent
	Failure                                      string    // empty unless failed
}

// RestoreMessage rebuilds a stored message; the store is trusted.
func RestoreMessage(s Stored) Message {
	m := Message{id: s.ID, eventID: s.EventID, recipientUserID: s.RecipientUserID, orderID: s.OrderID, recipientEmail: s.RecipientEmail,
		kind: s.Kind, subject: s.Subject, body: s.Body, createdAt: s.CreatedAt.UTC(), status: s.Status, failure: s.Failure}
	if !s.SentAt.IsZero() {
		m.sentAt = s.SentAt.UTC()
	}
	return m
}

// ID is the message's id, derived from its event.
func (m Message) ID() string { return m.id }

// EventID is the id of the event that caused the message.
func (m Message) EventID() string { return m.eventID }

// RecipientUserID is identity's id of the recipient.
func (m Message) RecipientUserID() string { return m.recipientUserID }

// OrderID is the order the message is about; empty for other messages.
func (m Message) OrderID() string { return m.orderID }

// RecipientEmail is the address the message goes to.
func (m Message) RecipientEmail() string { return m.recipientEmail }

// Kind is one of the Kind constants.
func (m Message) Kind() string { return m.kind }

// Subject is the plain-text subject line.
func (m Message) Subject() string { return m.subject }

// Body is the plain-text body.
func (m Message) Body() string { return m.body }

// CreatedAt is when the message was composed.
func (m Message) CreatedAt() time.Time { return m.createdAt }

// Status is StatusKept, StatusSent or StatusFailed.
func (m Message) Status() string { return m.status }

// SentAt is when the mail server accepted the message; zero unless sent.
func (m Message) SentAt() time.Time { return m.sentAt }

// Failure is the mail server's reply that refused the message for good;
// empty unless failed.
func (m Message) Failure() string { return m.failure }

func parseUUID(f *errs.Fields, field, s string) string {
	u, err := uuid.Parse(s)
	if err != nil {
		f.Add(field, "uuid", "must be a UUID")
		return ""
	}
	return u.String()
}

// parseEmail accepts a bare address ("ada@example.com"): nothing a mail
// header could be made to carry besides it, such as a display name or a
// line break.
func parseEmail(f *errs.Fields, field, s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		f.Add(field, "email", "must be an email address")
		return ""
	}
	return s
}
