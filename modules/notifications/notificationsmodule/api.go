package notificationsmodule

import (
	"context"

	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ notifications.API = (*api)(nil)

func (a *api) Mailbox(ctx context.Context, q notifications.MailboxQuery) (notifications.MailboxPage, error) {
	page, err := a.svc.Mailbox(ctx, domain.MailboxQuery{RecipientUserID: q.RecipientUserID, After: q.After, Limit: q.Limit})
	if err != nil {
		return notifications.MailboxPage{}, err
	}
	out := notifications.MailboxPage{Items: make([]notifications.Message, len(page.Items)), NextCursor: page.NextCursor}
	for i, m := range page.Items {
		out.Items[i] = toMessageDTO(m)
	}
	return out, nil
}

func (a *api) Message(ctx context.Context, id string) (notifications.Message, error) {
	m, err := a.svc.Message(ctx, id)
	if err != nil {
		return notifications.Message{}, err
	}
	return toMessageDTO(m), nil
}

func toMessageDTO(m domain.Message) notifications.Message {
	return notifications.Message{
		ID: m.ID(), EventID: m.EventID(), RecipientUserID: m.RecipientUserID(), RecipientEmail: m.RecipientEmail(), OrderID: m.OrderID(),
		Kind: m.Kind(), Subject: m.Subject(), Body: m.Body(), CreatedAt: m.CreatedAt(),
		Status: m.Status(), SentAt: m.SentAt(), Failure: m.Failure(),
	}
}
