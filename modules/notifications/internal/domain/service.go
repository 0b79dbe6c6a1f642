package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// MailboxQuery is a caller's request for a page of the mailbox.
type MailboxQuery struct {
	RecipientUserID string
	After           string
	Limit           int // 0 means DefaultLimit
}

// MailboxPage is one page; NextCursor is empty on the last page.
type MailboxPage struct {
	Items      []Message
	NextCursor string
}

// Service reads the mailbox for operators and writes (and sends) it for
// events.
type Service struct {
	repo   Repository
	sender Sender
	now    func() time.Time
}

// NewService returns the service; sender delivers each new message, now is
// the clock.
func NewService(repo Repository, sender Sender, now func() time.Time) *Service {
	return &Service{repo: repo, sender: sender, now: now}
}

// The methods below run in an event handler: tx is the repository bound to
// the handler's transaction, so the message and the inbox's "handled" mark
// commit together. A message already stored for the event is kept and not
// sent again. A failed delivery returns its error: the transaction rolls
// back, so nothing of the attempt remains, and the event is retried. A
// delivery the mail server refused for good (a *Rejection) is no error:
// retrying could not succeed, so the message is stored as failed, with the
// server's reply, and the event is handled.

// Welcome stores and sends the welcome message of a registration.
func (s *Service) Welcome(ctx context.Context, tx Repository, in Welcome) error {
	return s.compose(ctx, tx, "welcome message", func(now time.Time) (Message, error) { return NewWelcome(in, now) })
}

// RegistrationRepeated stores and sends the notice of a repeated sign-up
// to the account's owner.
func (s *Service) RegistrationRepeated(ctx context.Context, tx Repository, in RegistrationRepeated) error {
	return s.compose(ctx, tx, "repeated sign-up notice", func(now time.Time) (Message, error) { return NewRegistrationRepeated(in, now) })
}

// OrderConfirmed stores and sends the confirmation of an order.
func (s *Service) OrderConfirmed(ctx context.Context, tx Repository, in OrderConfirmed) error {
	return s.compose(ctx, tx, "order confirmation", func(now time.Time) (Message, error) { return NewOrderConfirmed(in, now) })
}

// OrderFailed stores and sends the message about an order that failed or
// was rejected.
func (s *Service) OrderFailed(ctx context.Context, tx Repository, in OrderFailed) error {
	return s.compose(ctx, tx, "order failure message", func(now time.Time) (Message, error) { return NewOrderFailed(in, now) })
}

// OrderShipped stores and sends the shipping notice of an order.
func (s *Service) OrderShipped(ctx context.Context, tx Repository, in OrderShipped) error {
	return s.compose(ctx, tx, "shipping notice", func(now time.Time) (Message, error) { return NewOrderShipped(in, now) })
}

func (s *Service) compose(ctx context.Context, tx Repository, what string, build func(time.Time) (Message, error)) error {
	m, err := build(s.now())
	if err == nil {
		err = s.deliver(ctx, tx, m)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// deliver stores m, then hands it to the sender. Storing first means a
// message is sent only by the delivery that added it; the event_id
// constraint also makes a concurrent duplicate wait for this transaction.
func (s *Service) deliver(ctx context.Context, tx Repository, m Message) error {
	added, err := tx.AddMessage(ctx, m)
	if err != nil || !added {
		return err
	}
	sent, err := s.sender.Send(ctx, m)
	var rejected *Rejection
	switch {
	case errors.As(err, &rejected):
		return tx.MarkFailed(ctx, m.ID(), failureReason(rejected.Reply))
	case err != nil:
		return fmt.Errorf("send message %s: %w", m.ID(), err)
	case !sent:
		return nil
	}
	return tx.MarkSent(ctx, m.ID(), s.now())
}

// Mailbox returns a page of messages: a customer's own, whatever recipient
// they ask for; an admin's pick (one recipient's or everyone's).
// KindUnauthenticated without a caller, KindInvalid naming recipient, after
// or limit.
func (s *Service) Mailbox(ctx context.Context, q MailboxQuery) (MailboxPage, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return MailboxPage{}, err
	}
	f, err := mailboxFilter(q)
	if err != nil {
		return MailboxPage{}, err
	}
	if !p.IsAdmin() {
		f.RecipientUserID = p.UserID
	}
	f.Limit++ // one more tells whether a next page exists
	items, err := s.repo.Mailbox(ctx, f)
	if err != nil {
		return MailboxPage{}, err
	}
	page := MailboxPage{Items: items}
	if len(items) == f.Limit {
		page.Items = items[:len(items)-1]
		page.NextCursor = page.Items[len(page.Items)-1].ID()
	}
	return page, nil
}

func mailboxFilter(q MailboxQuery) (MailboxFilter, error) {
	var f errs.Fields
	out := MailboxFilter{Limit: q.Limit}
	if q.RecipientUserID != "" {
		out.RecipientUserID = parseUUID(&f, "recipient", q.RecipientUserID)
	}
	if q.After != "" {
		// The cursor is a message id; anything else did not come from us.
		if u, err := uuid.Parse(q.After); err != nil {
			f.Add("after", "cursor", "is not a cursor from this API")
		} else {
			out.After = u.String()
		}
	}
	switch {
	case q.Limit == 0:
		out.Limit = DefaultLimit
	case q.Limit < 1 || q.Limit > MaxLimit:
		f.Add("limit", "range", "must be between 1 and 100")
	}
	return out, f.Err()
}

// Message returns one message: a customer's own, any for an admin.
// KindUnauthenticated, and KindNotFound for an unknown or malformed id and
// for another user's message (so that ids cannot be probed).
func (s *Service) Message(ctx context.Context, id string) (Message, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return Message{}, err
	}
	notFound := errs.E(errs.KindNotFound, "message not found")
	u, err := uuid.Parse(id)
	if err != nil {
		return Message{}, notFound
	}
	m, err := s.repo.Message(ctx, u.String())
	switch {
	case err != nil:
		return Message{}, err
	case !p.IsAdmin() && m.RecipientUserID() != p.UserID:
		return Message{}, notFound
	}
	return m, nil
}
