// Package notificationsmodule is the notifications module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package notifications) to the domain. Only the composition root (cmd/) imports it.
package notificationsmodule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/notifications/internal/mail"
	"github.com/shopmonolith/shop/modules/notifications/internal/rest"
	"github.com/shopmonolith/shop/modules/notifications/internal/store"
	"github.com/shopmonolith/shop/modules/notifications/internal/subscribe"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
// identity and orders are dependencies because the module names their
// events.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "notifications",
		Summary:   "messages to users (welcome, repeated sign-up notice, order emails): kept in a mailbox, sent by SMTP when configured",
		DependsOn: []string{"identity", "orders"},
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the notifications module as the kernel runs it.
type Module struct {
	db   *database.DB
	svc  *domain.Service
	log  *slog.Logger
	mail string // how messages leave, for the start-up log
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close), builds
// the service and subscribes its event handlers to bus, which must not have
// started yet. Messages are sent by SMTP when cfg.Mail.SMTPAddr is set, and
// kept in the mailbox only otherwise.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*Module, error) {
	sender, how, err := newSender(cfg)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	db, err := dbs.Open(ctx, Descriptor().Name)
	if err != nil {
		return nil, fmt.Errorf("notifications database: %w", err)
	}
	st := store.New(db)
	svc := domain.NewService(st, sender, time.Now)
	inTx := func(tx *gorm.DB) domain.Repository { return st.WithTx(tx) }
	if err := subscribe.Register(bus, db, svc, inTx); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return &Module{db: db, svc: svc, log: logging.ForModule(log, Descriptor().Name), mail: how}, nil
}

// newSender picks the delivery the configuration asks for. A delivery runs
// inside an event handler, so it must fit in the handler's time with room
// for the commit; otherwise no message could ever be sent.
func newSender(cfg config.Config) (s domain.Sender, how string, err error) {
	if cfg.Mail.SMTPAddr == "" {
		return mail.MailboxOnly{}, "kept in the mailbox only (SHOP_SMTP_ADDR is not set)", nil
	}
	if cfg.Mail.Timeout+mail.CommitReserve >= cfg.Events.HandlerTimeout {
		return nil, "", fmt.Errorf("SHOP_SMTP_TIMEOUT (%v) must be at least %v below SHOP_EVENTS_HANDLER_TIMEOUT (%v): mail is sent from event handlers",
			cfg.Mail.Timeout, mail.CommitReserve, cfg.Events.HandlerTimeout)
	}
	smtp, err := mail.NewSMTP(mail.Settings{
		Addr: cfg.Mail.SMTPAddr, Username: cfg.Mail.SMTPUsername, Password: cfg.Mail.SMTPPassword,
		From: cfg.Mail.From, Timeout: cfg.Mail.Timeout,
	})
	if err != nil {
		return nil, "", err
	}
	return smtp, "sent by SMTP to " + cfg.Mail.SMTPAddr, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() notifications.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the module is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the event handlers run on the bus, so the
// module has no background work of its own. It says how mail leaves, which
// an operator wants to know first when mail does not arrive.
func (m *Module) Start(context.Context) error {
	m.log.Info("outgoing mail", slog.String("delivery", m.mail))
	return nil
}

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }
