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

// InsertUser inserts u unless its email is taken, and publishes the facts
// of the outcome in the same transaction: a crash cannot lose the notice
// to the owner of a taken email, nor the registration of a new one.
func (s *Store) InsertUser(ctx context.Context, u domain.User, facts func(holder domain.User, inserted bool) []any) (bool, error) {
	inserted := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		row := toUserRow(u, s.now().UTC())
		// ON CONFLICT DO NOTHING waits for a concurrent insert of the same
		// email and then does nothing; the holder is read afterwards.
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "email"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return errs.Internal(fmt.Errorf("insert user: %w", res.Error), "create user")
		}
		holder := u
		if inserted = res.RowsAffected == 1; !inserted {
			var err error
			if holder, err = findUser(tx, "email = ?", u.Email()); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, facts(holder, inserted))
	})
	return inserted, err
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
			return domain.EmailTaken()
		}
		return errs.Internal(fmt.Errorf("insert user: %w", err), "create user")
	}
	return nil
}

// UserByID returns KindNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (domain.User, error) {
	return findUser(s.db.Gorm.WithContext(ctx), "id = ?", id)
}

// UserByEmail returns KindNotFound when no user has the (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	return findUser(s.db.Gorm.WithContext(ctx), "email = ?", email)
}

func findUser(tx *gorm.DB, where string, arg any) (domain.User, error) {
	var row userRow
	err := tx.Where(where, arg).Take(&row).Error
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

// TouchSession records a use of the session unless one was recorded after
// staleBefore: the condition makes concurrent requests write once.
func (s *Store) TouchSession(ctx context.Context, id uuid.UUID, now, staleBefore time.Time) error {
	err := s.db.Gorm.WithContext(ctx).Model(&sessionRow{}).
		Where("id = ? AND last_seen_at <= ?", id, staleBefore.UTC()).
		Update("last_seen_at", now.UTC()).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("touch session: %w", err), "authenticate")
	}
	return nil
}

// RevokeSessions revokes the user's sessions but keep; KindNotFound for an
// unknown user.
func (s *Store) RevokeSessions(ctx context.Context, userID, keep uuid.UUID, now time.Time) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		if _, err := findUser(tx, "id = ?", userID); err != nil {
			return err
		}
		return revokeAll(tx, userID, keep, now)
	})
}

// revokeAll revokes every session of the user but keep (uuid.Nil: none).
func revokeAll(tx *gorm.DB, userID, keep uuid.UUID, now time.Time) error {
	err := tx.Model(&sessionRow{}).Where("user_id = ? AND id <> ? AND revoked_at IS NULL", userID, keep).
		Update("revoked_at", now.UTC()).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("revoke sessions: %w", err), "revoke sessions")
	}
	return nil
}

// SetPassword stores the hash and revokes the other sessions in one
// transaction: no session opened with the old password outlives it.
func (s *Store) SetPassword(ctx context.Context, userID uuid.UUID, hash string, keep uuid.UUID, now time.Time) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", userID).
			Updates(map[string]any{"password_hash": hash, "updated_at": now.UTC()})
		switch {
		case res.Error != nil:
			return errs.Internal(fmt.Errorf("update password: %w", res.Error), "change password")
		case res.RowsAffected == 0:
			return errs.E(errs.KindNotFound, "no such user")
		}
		return revokeAll(tx, userID, keep, now)
	})
}

// UpdateRole locks both users in id order, so that two admins changing
// each other's roles at once are serialised and the second sees the first's
// change (and, demoted, is refused), rather than both losing the role.
func (s *Store) UpdateRole(ctx context.Context, actorID, userID uuid.UUID, now time.Time, decide func(actor, user domain.User) (domain.User, error)) (domain.User, error) {
	var out domain.User
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		var rows []userRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id IN ?", []uuid.UUID{actorID, userID}).
			Order("id").Find(&rows).Error
		if err != nil {
			return errs.Internal(fmt.Errorf("lock users: %w", err), "set role")
		}
		var actor, user domain.User
		found := false
		for _, r := range rows {
			u, err := toDomainUser(r)
			if err != nil {
				return err
			}
			switch r.ID {
			case userID:
				user, found = u, true
			case actorID:
				actor = u
			}
		}
		if !found {
			return errs.E(errs.KindNotFound, "no such user")
		}
		if out, err = decide(actor, user); err != nil {
			return err
		}
		if out.Role() == user.Role() {
			return nil
		}
		err = tx.Model(&userRow{}).Where("id = ?", userID).
			Updates(map[string]any{"role": string(out.Role()), "updated_at": now.UTC()}).Error
		if err != nil {
			return errs.Internal(fmt.Errorf("update role: %w", err), "set role")
		}
		return revokeAll(tx, userID, uuid.Nil, now)
	})
	return out, err
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

// Unhit takes back one hit of the window that started at start; a window
// restarted since, or one already at zero, is left alone.
func (s *Store) Unhit(ctx context.Context, key string, start time.Time) error {
	err := s.db.Gorm.WithContext(ctx).Exec(
		`UPDATE login_attempts SET count = count - 1 WHERE key = ? AND window_start = ? AND count > 0`, key, start.UTC()).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("take back login attempt: %w", err), "rate limit")
	}
	return nil
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
	if err != nil {
		return errs.Internal(fmt.Errorf("promote user: %w", err), "ensure admin")
	}
	return revokeAll(tx, admin.ID(), uuid.Nil, now)
}

// Prune deletes finished sessions and elapsed rate-limit windows.
func (s *Store) Prune(ctx context.Context, sessionsBefore, idleBefore, windowsBefore time.Time) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ? OR last_seen_at < ?`,
			sessionsBefore, sessionsBefore, idleBefore).Error
		if err == nil {
			err = tx.Exec(`DELETE FROM login_attempts WHERE window_start < ?`, windowsBefore).Error
		}
		if err != nil {
			return errs.Internal(fmt.Errorf("prune: %w", err), "prune sessions")
		}
		return nil
	})
}
