package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
)

type messageRow struct {
	ID              string    `gorm:"column:id;type:uuid;primaryKey"`
	EventID         string    `gorm:"column:event_id;type:uuid"`
	RecipientUserID string    `gorm:"column:recipient_user_id;type:uuid"`
	RecipientEmail  string    `gorm:"column:recipient_email"`
	Kind            string    `gorm:"column:kind"`
	Subject         string    `gorm:"column:subject"`
	Body            string    `gorm:"column:body"`
	CreatedAt       time.Time `gorm:"column:created_at"`
}

func (messageRow) TableName() string { return "mailbox" }

func toMessageRow(m domain.Message) messageRow {
	return messageRow{
		ID: m.ID(), EventID: m.EventID(), RecipientUserID: m.RecipientUserID(), RecipientEmail: m.RecipientEmail(),
		Kind: m.Kind(), Subject: m.Subject(), Body: m.Body(), CreatedAt: m.CreatedAt(),
	}
}

func toMessage(r messageRow) domain.Message {
	return domain.RestoreMessage(r.ID, r.EventID, r.RecipientUserID, r.RecipientEmail, r.Kind, r.Subject, r.Body, r.CreatedAt)
}
