package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/payments/internal/domain"
)

type cardRow struct {
	Token     string    `gorm:"column:token;primaryKey"`
	Number    string    `gorm:"column:number"`
	Brand     string    `gorm:"column:brand"`
	Last4     string    `gorm:"column:last4"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (cardRow) TableName() string { return "cards" }

func toCardRow(c domain.Card) cardRow {
	return cardRow{Token: c.Token(), Number: c.Number(), Brand: c.Brand(), Last4: c.Last4(), CreatedAt: c.CreatedAt()}
}

func toCard(r cardRow) domain.Card {
	return domain.RestoreCard(r.Token, r.Number, r.Brand, r.Last4, r.CreatedAt)
}

type paymentRow struct {
	ID               string     `gorm:"column:id;type:uuid;primaryKey"`
	OrderID          string     `gorm:"column:order_id"`
	UserID           *string    `gorm:"column:user_id;type:uuid"`
	Status           string     `gorm:"column:status"`
	Amount           int64      `gorm:"column:amount"`
	Currency         string     `gorm:"column:currency"`
	CardToken        string     `gorm:"column:card_token"`
	Brand            string     `gorm:"column:brand"`
	Last4            string     `gorm:"column:last4"`
	Reason           string     `gorm:"column:reason"`
	ProviderRef      string     `gorm:"column:provider_ref"`
	PendingOperation string     `gorm:"column:pending_operation"`
	AttemptedAt      *time.Time `gorm:"column:attempted_at"`
	AuthorizedAt     *time.Time `gorm:"column:authorized_at"`
	CapturedAt       *time.Time `gorm:"column:captured_at"`
	RefundedAt       *time.Time `gorm:"column:refunded_at"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
}

func (paymentRow) TableName() string { return "payments" }

func toPaymentRow(p domain.Payment) paymentRow {
	return paymentRow{
		ID: p.ID(), OrderID: p.OrderID(), UserID: nullString(p.UserID()), Status: p.Status(), Amount: p.Amount().Amount(), Currency: p.Amount().Currency(),
		CardToken: p.CardToken(), Brand: p.Brand(), Last4: p.Last4(), Reason: p.Reason(), ProviderRef: p.ProviderRef(),
		PendingOperation: p.Pending(), AttemptedAt: nullTime(p.AttemptedAt()), AuthorizedAt: nullTime(p.AuthorizedAt()), CapturedAt: nullTime(p.CapturedAt()),
		RefundedAt: nullTime(p.RefundedAt()), CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
}

func toPayment(r paymentRow) domain.Payment {
	var userID string
	if r.UserID != nil {
		userID = *r.UserID
	}
	return domain.RestorePayment(r.ID, r.OrderID, userID, r.Status, r.Amount, r.Currency, r.CardToken, r.Brand, r.Last4,
		r.Reason, r.ProviderRef, r.PendingOperation,
		timeOf(r.AttemptedAt), timeOf(r.AuthorizedAt), timeOf(r.CapturedAt), timeOf(r.RefundedAt), r.CreatedAt, r.UpdatedAt)
}

// nullString maps the domain's empty string ("unknown") to NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullTime maps the domain's zero time ("not yet") to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
