package store

import (
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
)

type userRow struct {
	ID           uuid.UUID `gorm:"column:id;type:uuid;primaryKey"`
	Email        string    `gorm:"column:email"`
	Name         string    `gorm:"column:name"`
	Role         string    `gorm:"column:role"`
	PasswordHash string    `gorm:"column:password_hash"`
	CreatedAt    time.Time `gorm:"column:created_at"`
	UpdatedAt    time.Time `gorm:"column:updated_at"`
}

func (userRow) TableName() string { return "users" }

type sessionRow struct {
	ID         uuid.UUID  `gorm:"column:id;type:uuid;primaryKey"`
	UserID     uuid.UUID  `gorm:"column:user_id;type:uuid"`
	TokenHash  string     `gorm:"column:token_hash"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	ExpiresAt  time.Time  `gorm:"column:expires_at"`
	LastSeenAt time.Time  `gorm:"column:last_seen_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (sessionRow) TableName() string { return "sessions" }

func toUserRow(u domain.User, now time.Time) userRow {
	return userRow{
		ID: u.ID(), Email: u.Email(), Name: u.Name(), Role: string(u.Role()),
		PasswordHash: u.PasswordHash(), CreatedAt: u.CreatedAt(), UpdatedAt: now,
	}
}

func toDomainUser(r userRow) (domain.User, error) {
	return domain.RestoreUser(r.ID, r.Email, r.Name, auth.Role(r.Role), r.PasswordHash, r.CreatedAt)
}

func toSessionRow(s domain.Session) sessionRow {
	return sessionRow{
		ID: s.ID(), UserID: s.UserID(), TokenHash: s.TokenHash(),
		CreatedAt: s.CreatedAt(), ExpiresAt: s.ExpiresAt(), LastSeenAt: s.LastSeenAt(), RevokedAt: s.RevokedAt(),
	}
}

func toDomainSession(r sessionRow) domain.Session {
	return domain.RestoreSession(r.ID, r.UserID, r.TokenHash, r.CreatedAt, r.ExpiresAt, r.LastSeenAt, r.RevokedAt)
}
