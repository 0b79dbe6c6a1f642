package domain

import (
	"context"
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

// Service reads the mailbox for operators and writes it for events.
type Service struct {
	repo Repository
	now  func() time.Time
}

// NewService returns the service; now is the clock.
func NewService(repo Repository, now func() time.Time) *Service {
	return &Service{repo: repo, now: now}
}

// Welcome stores the welcome message of a registration through tx, the
// repository bound to the event handler's transaction (so the message and
// the inbox's "handled" mark commit together). A message already stored
// for the event is kept.
func (s *Service) Welcome(ctx context.Context, tx Repository, in Welcome) error {
	m, err := NewWelcome(in, s.now())
	if err != nil {
		return fmt.Errorf("welcome message: %w", err)
	}
	if _, err := tx.AddMessage(ctx, m); err != nil {
		return fmt.Errorf("welcome message: %w", err)
	}
	return nil
}

// Mailbox returns a page of messages (admin only): KindUnauthenticated
// without a caller, KindForbidden for other roles, KindInvalid naming
// recipient, after or limit.
func (s *Service) Mailbox(ctx context.Context, q MailboxQuery) (MailboxPage, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleAdmin); err != nil {
		return MailboxPage{}, err
	}
	f, err := mailboxFilter(q)
	if err != nil {
		return MailboxPage{}, err
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

// Message returns one message (admin only): KindUnauthenticated,
// KindForbidden, and KindNotFound for an unknown or malformed id.
func (s *Service) Message(ctx context.Context, id string) (Message, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleAdmin); err != nil {
		return Message{}, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return Message{}, errs.E(errs.KindNotFound, "message not found")
	}
	return s.repo.Message(ctx, u.String())
}
