package domain

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// What a signed-in user or an admin changes about an account: its sessions,
// its password and its role.

// RevokeSessions ends every session of the user (sign out everywhere);
// KindNotFound when id is unknown or not a UUID.
func (s *Service) RevokeSessions(ctx context.Context, userID string) error {
	uid, err := parseUserID(userID)
	if err != nil {
		return err
	}
	if err := s.repo.RevokeSessions(ctx, uid, uuid.Nil, s.clock()); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// PasswordChange is a user's change of their own password.
type PasswordChange struct {
	UserID    string
	SessionID string // the session the change is made in: kept; empty keeps none
	Current   string
	New       string
	ClientIP  string // the account's failure limit counts per client IP
}

// ChangePassword replaces the user's password and ends every other session
// of theirs. A wrong current password is KindInvalid naming current_password
// and counts as a failed login against the account's limit, so the form
// cannot be used to guess it: KindRateLimited (with RetryAfter) past that
// limit. KindInvalid naming new_password breaks the registration rules;
// KindNotFound for an unknown user.
func (s *Service) ChangePassword(ctx context.Context, in PasswordChange) error {
	uid, err := parseUserID(in.UserID)
	if err != nil {
		return err
	}
	var f errs.Fields
	if in.Current == "" {
		f.Add("current_password", "required", "is required")
	}
	checkPasswordField(&f, "new_password", in.New)
	if err := f.Err(); err != nil {
		return err
	}
	u, err := s.repo.UserByID(ctx, uid)
	if err != nil {
		return err
	}
	key := accountKey(u.email, in.ClientIP)
	if _, err := s.hit(ctx, key, s.policy.LoginPerAccount, s.policy.LoginWindow, tooManyLogins); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, u.passwordHash, in.Current)
	switch {
	case err != nil:
		return fmt.Errorf("change password: %w", err)
	case !ok:
		var f errs.Fields
		f.Add("current_password", "current", "is not your current password")
		return f.Err()
	}
	if err := s.repo.ResetHits(ctx, key); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, in.New)
	if err != nil {
		return err
	}
	keep, err := uuid.Parse(in.SessionID)
	if err != nil {
		keep = uuid.Nil
	}
	if err := s.repo.SetPassword(ctx, uid, hash, keep, s.clock()); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// SetRole gives the user role on behalf of actor, an admin, and ends every
// session of the user when the role changes (a token must not keep rights
// its holder lost, nor gain ones it was not issued with). KindInvalid naming
// role for a role other than customer or admin; KindNotFound for an unknown
// user; KindConflict when actor is the user (an admin cannot demote
// themselves, so one admin always remains); KindForbidden when actor is not
// an admin.
func (s *Service) SetRole(ctx context.Context, actorID, userID string, role auth.Role) (User, error) {
	if !role.Valid() {
		var f errs.Fields
		f.Add("role", "enum", "must be customer or admin")
		return User{}, f.Err()
	}
	uid, err := parseUserID(userID)
	if err != nil {
		return User{}, err
	}
	aid, err := uuid.Parse(actorID)
	switch {
	case err != nil:
		return User{}, errs.E(errs.KindForbidden, "only an admin may change roles")
	case aid == uid:
		return User{}, errs.E(errs.KindConflict, "you cannot change your own role; another admin can")
	}
	u, err := s.repo.UpdateRole(ctx, aid, uid, s.clock(), func(actor, user User) (User, error) {
		if actor.role != auth.RoleAdmin {
			return User{}, errs.E(errs.KindForbidden, "only an admin may change roles")
		}
		user.role = role
		return user, nil
	})
	if err != nil {
		return User{}, fmt.Errorf("set role: %w", err)
	}
	return u, nil
}

// parseUserID reads a user id; KindNotFound when it is not a UUID, as for
// an unknown one.
func parseUserID(id string) (uuid.UUID, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errs.E(errs.KindNotFound, "no such user")
	}
	return uid, nil
}
