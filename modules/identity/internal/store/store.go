// Package store keeps identity's users, sessions and login rate-limit
// windows in PostgreSQL (the module's own schema), behind
// domain.Repository.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// bootstrapLock serialises the first-admin bootstrap across replicas
// ("identadm").
const bootstrapLock int64 = 0x6964656e7461646d

// Publish records facts (domain.UserRegistered, …) as events in tx, the
// transaction of the change they describe, so they are delivered only if it
// commits. The module's root package provides it (its outbox).
type Publish func(ctx context.Context, tx *gorm.DB, facts ...any) error

// Store implements domain.Repository.
type Store struct {
	db      *database.DB
	now     func() time.Time
	publish Publish
}

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's database; now stamps updated_at and
// publish records the facts of each change in its transaction.
func New(db *database.DB, now func() time.Time, publish Publish) *Store {
	return &Store{db: db, now: now, publish: publish}
}

// CreateUser inserts u and publishes facts in one transaction; KindConflict
// (field email) when the email is taken, and then nothing is published.
func (s *Store) CreateUser(ctx context.Context, u domain.User, facts ...any) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		if err := createUser(tx, u, s.now().UTC()); err != nil {
			return err
		}
		return s.record(ctx, tx, facts)
	})
}

// record publishes facts in tx.
func (s *Store) record(ctx context.Context, tx *gorm.DB, facts []any) error {
	if len(facts) == 0 {
		return nil
	}
	if err := s.publish(ctx, tx, facts...); err != nil {
		return errs.Internal(fmt.Errorf("publish: %w", err), "publish events")
	}
	return nil
}

func createUser(tx *gorm.DB, u domain.User, now time.Time) error {
	row := toUserRow(u, now)
	if err := tx.Create(&row).Error; err != nil {
		if c, ok := database.IsUniqueViolation(err); ok && c == "users_email_key" {
			return &errs.Error{
				Kind: errs.KindConflict, Message: "an account with this email exists already",
				Fields: []errs.FieldError{errs.Field("email", "unique", "is already registered")},
			}
		}
		return errs.Internal(fmt.Errorf("insert user: %w", err), "create user")
	}
	return nil
}

// UserByID returns KindNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (domain.User, error) {
	return s.findUser(ctx, "id = ?", id)
}

// UserByEmail returns KindNotFound when no user has the (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	return s.findUser(ctx, "email = ?", email)
}

func (s *Store) findUser(ctx context.Context, where string, arg any) (domain.User, error) {
	var row userRow
	err := s.db.Gorm.WithContext(ctx).Where(where, arg).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.User{}, errs.E(errs.KindNotFound, "no such user")
	case err != nil:
		return domain.User{}, errs.Internal(fmt.Errorf("select user: %w", err), "load user")
	}
	return toDomainUser(row)
}

// UpdatePasswordHash replaces a user's hash; KindNotFound for an unknown user.
func (s *Store) UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string) error {
	res := s.db.Gorm.WithContext(ctx).Model(&userRow{}).Where("id = ?", userID).
		Updates(map[string]any{"password_hash": hash, "updated_at": s.now().UTC()})
	if res.Error != nil {
		return errs.Internal(fmt.Errorf("update password hash: %w", res.Error), "update password")
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.KindNotFound, "no such user")
	}
	return nil
}

// CreateSession inserts sess and revokes the session of revokeHash in one
// transaction, so a login never leaves both the old and the new one alive.
func (s *Store) CreateSession(ctx context.Context, sess domain.Session, revokeHash string, now time.Time) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		if revokeHash != "" {
			if err := revoke(tx, revokeHash, now); err != nil {
				return err
			}
		}
		row := toSessionRow(sess)
		if err := tx.Create(&row).Error; err != nil {
			return errs.Internal(fmt.Errorf("insert session: %w", err), "create session")
		}
		return nil
	})
}

// SessionByTokenHash returns the session and its user; KindNotFound when
// no session has the hash.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string) (domain.Session, domain.User, error) {
	var row sessionRow
	err := s.db.Gorm.WithContext(ctx).Where("token_hash = ?", hash).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return domain.Session{}, domain.User{}, errs.E(errs.KindNotFound, "no such session")
	case err != nil:
		return domain.Session{}, domain.User{}, errs.Internal(fmt.Errorf("select session: %w", err), "load session")
	}
	u, err := s.UserByID(ctx, row.UserID)
	if err != nil {
		return domain.Session{}, domain.User{}, err
	}
	return toDomainSession(row), u, nil
}

// RevokeSession marks the session revoked unless it already is.
func (s *Store) RevokeSession(ctx context.Context, hash string, now time.Time) error {
	return revoke(s.db.Gorm.WithContext(ctx), hash, now)
}

func revoke(tx *gorm.DB, hash string, now time.Time) error {
	err := tx.Model(&sessionRow{}).Where("token_hash = ? AND revoked_at IS NULL", hash).
		Update("revoked_at", now).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("revoke session: %w", err), "revoke session")
	}
	return nil
}

// hitSQL counts a hit in one statement, so concurrent replicas never lose
// one: the row is created, restarted when its window elapsed, or bumped.
const hitSQL = `
INSERT INTO login_attempts AS a (key, window_start, count) VALUES (@key, @now, 1)
ON CONFLICT (key) DO UPDATE SET
	window_start = CASE WHEN a.window_start <= @elapsed THEN @now ELSE a.window_start END,
	count        = CASE WHEN a.window_start <= @elapsed THEN 1 ELSE a.count + 1 END
RETURNING window_start, count`

// Hit counts one hit on key in a fixed window.
func (s *Store) Hit(ctx context.Context, key string, now time.Time, window time.Duration) (domain.Window, error) {
	var w struct {
		WindowStart time.Time
		Count       int
	}
	err := s.db.Gorm.WithContext(ctx).Raw(hitSQL, map[string]any{
		"key": key, "now": now.UTC(), "elapsed": now.UTC().Add(-window),
	}).Scan(&w).Error
	if err != nil {
		return domain.Window{}, errs.Internal(fmt.Errorf("count login attempt: %w", err), "rate limit")
	}
	return domain.Window{Start: w.WindowStart.UTC(), Count: w.Count}, nil
}

// ResetHits forgets key's window.
func (s *Store) ResetHits(ctx context.Context, key string) error {
	err := s.db.Gorm.WithContext(ctx).Exec(`DELETE FROM login_attempts WHERE key = ?`, key).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("reset login attempts: %w", err), "rate limit")
	}
	return nil
}

// BootstrapAdmin holds a transaction-scoped advisory lock, so of replicas
// starting together exactly one sees "no admin" and acts.
func (s *Store) BootstrapAdmin(ctx context.Context, email string, decide func(domain.User, bool) (domain.User, []any, error)) (bool, error) {
	created := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, bootstrapLock).Error; err != nil {
			return errs.Internal(fmt.Errorf("lock admin bootstrap: %w", err), "ensure admin")
		}
		var admins int64
		if err := tx.Model(&userRow{}).Where("role = ?", "admin").Count(&admins).Error; err != nil {
			return errs.Internal(fmt.Errorf("count admins: %w", err), "ensure admin")
		}
		if admins > 0 {
			return nil
		}
		if err := s.storeAdmin(ctx, tx, email, decide); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}

// storeAdmin inserts or promotes the admin decide returns. A promotion
// revokes the user's sessions: Authenticate reads the role afresh, so a
// token issued to the customer would otherwise carry admin rights.
func (s *Store) storeAdmin(ctx context.Context, tx *gorm.DB, email string, decide func(domain.User, bool) (domain.User, []any, error)) error {
	var row userRow
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("email = ?", email).Take(&row).Error
	found := err == nil
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return errs.Internal(fmt.Errorf("select user: %w", err), "ensure admin")
	}
	var existing domain.User
	if found {
		if existing, err = toDomainUser(row); err != nil {
			return err
		}
	}
	admin, facts, err := decide(existing, found)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if found {
		err = promote(tx, admin, now)
	} else {
		err = createUser(tx, admin, now)
	}
	if err != nil {
		return err
	}
	return s.record(ctx, tx, facts)
}

func promote(tx *gorm.DB, admin domain.User, now time.Time) error {
	err := tx.Model(&userRow{}).Where("id = ?", admin.ID()).Updates(map[string]any{
		"role": string(admin.Role()), "password_hash": admin.PasswordHash(), "updated_at": now,
	}).Error
	if err == nil {
		err = tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", admin.ID()).
			Update("revoked_at", now).Error
	}
	if err != nil {
		return errs.Internal(fmt.Errorf("promote user: %w", err), "ensure admin")
	}
	return nil
}

// Prune deletes finished sessions and elapsed rate-limit windows.
func (s *Store) Prune(ctx context.Context, sessionsBefore, windowsBefore time.Time) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?`, sessionsBefore, sessionsBefore).Error
		if err == nil {
			err = tx.Exec(`DELETE FROM login_attempts WHERE window_start < ?`, windowsBefore).Error
		}
		if err != nil {
			return errs.Internal(fmt.Errorf("prune: %w", err), "prune sessions")
		}
		return nil
	})
}
