// Package mail delivers the notifications module's messages: MailboxOnly
// keeps them in the mailbox (the default), SMTP also hands them to a mail
// server. Both implement domain.Sender.
package mail

import (
	"context"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
)

// MailboxOnly keeps every message in the mailbox and sends nothing: the
// setting for development and for shops without a mail server.
type MailboxOnly struct{}

var _ domain.Sender = MailboxOnly{}

// Send implements domain.Sender: the message is kept, never sent.
func (MailboxOnly) Send(context.Context, domain.Message) (bool, error) { return false, nil }
