package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
)

type messageRow struct {
	ID              string     `gorm:"column:id;type:uuid;primaryKey"`
	EventID         string     `gorm:"column:event_id;type:uuid"`
	RecipientUserID string     `gorm:"column:recipient_user_id;type:uuid"`
	OrderID         *string    `gorm:"column:order_id;type:uuid"`
	RecipientEmail  string     `gorm:"column:recipient_email"`
	Kind            string     `gorm:"column:kind"`
	Subject         string     `gorm:"column:subject"`
	Body            string     `gorm:"column:body"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	Status          string     `gorm:"column:status"`
	SentAt          *time.Time `gorm:"column:sent_at"`
	Failure         *string    `gorm:"column:failure"`
}

func (messageRow) TableName() string { return "mailbox" }

func toMessageRow(m domain.Message) messageRow {
	r := messageRow{
		ID: m.ID(), EventID: m.EventID(), RecipientUserID: m.RecipientUserID(), RecipientEmail: m.RecipientEmail(),
		Kind: m.Kind(), Subject: m.Subject(), Body: m.Body(), CreatedAt: m.CreatedAt(), Status: m.Status(),
	}
	if at := m.SentAt(); !at.IsZero() {
		r.SentAt = &at
	}
	if f := m.Failure(); f != "" {
		r.Failure = &f
	}
	if o := m.OrderID(); o != "" {
		r.OrderID = &o
	}
	return r
}

func toMessage(r messageRow) domain.Message {
	s := domain.Stored{
		ID: r.ID, EventID: r.EventID, RecipientUserID: r.RecipientUserID, RecipientEmail: r.RecipientEmail,
		Kind: r.Kind, Subject: r.Subject, Body: r.Body, CreatedAt: r.CreatedAt, Status: r.Status,
	}
	if r.SentAt != nil {
		s.SentAt = *r.SentAt
	}
	if r.Failure != nil {
		s.Failure = *r.Failure
	}
	if r.OrderID != nil {
		s.OrderID = *r.OrderID
	}
	return domain.RestoreMessage(s)
}
