package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Policy holds the session and login-protection settings.
type Policy struct {
	SessionTTL      time.Duration // absolute lifetime of a session
	SessionIdle     time.Duration // a session unused this long ends
	LoginWindow     time.Duration
	LoginPerAccount int // failed logins per account and client IP per window
	LoginPerIP      int // failed logins per client IP per window
	RegisterWindow  time.Duration
	RegisterPerIP   int // sign-ups per client IP per window
}

// Service holds the identity rules: registration, login, sessions and the
// first admin.
type Service struct {
	repo   Repository
	hasher *Hasher
	policy Policy
	now    func() time.Time
	// dummyHash is verified against for unknown emails so that a login's
	// duration does not reveal whether an account exists.
	dummyHash string
}

// NewService builds the service; now is the clock (time.Now in production).
// The dummy hash is a decoy (see Hasher.Decoy): building the service runs
// no Argon2, so it neither delays the start nor leaves its memory behind.
func NewService(repo Repository, hasher *Hasher, policy Policy, now func() time.Time) (*Service, error) {
	dummy, err := hasher.Decoy()
	if err != nil {
		return nil, fmt.Errorf("dummy password hash: %w", err)
	}
	return &Service{repo: repo, hasher: hasher, policy: policy, now: now, dummyHash: dummy}, nil
}

// clock is truncated to PostgreSQL's microsecond precision, so what a call
// returns equals what a later read returns.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// RegisterRequest is one sign-up.
type RegisterRequest struct {
	Email, Password, Name string
	ClientIP              string // empty for in-process callers: no limit then
}

// Register creates a customer. It returns KindInvalid naming the broken
// fields, KindRateLimited (with RetryAfter) when the client IP signed up too
// often in the window, and KindConflict (field email) when the email is
// taken. A taken email costs the same work as a new one (one Argon2 hash,
// one transaction) and publishes RegistrationRepeated to the owner instead
// of UserRegistered, so neither the answer's timing nor the email a new
// owner would get reveals more than the conflict the caller is told of.
func (s *Service) Register(ctx context.Context, in RegisterRequest) (User, error) {
	reg, err := NewRegistration(in.Email, in.Password, in.Name)
	if err != nil {
		return User{}, err
	}
	// Counted before the hash is paid, and only for valid input: a typo
	// does not use up a sign-up.
	if in.ClientIP != "" {
		_, err := s.hit(ctx, registerKey(in.ClientIP), s.policy.RegisterPerIP, s.policy.RegisterWindow,
			"too many sign-ups from this address; try again later")
		if err != nil {
			return User{}, err
		}
	}
	u, err := s.newUser(ctx, reg, auth.RoleCustomer)
	if err != nil {
		return User{}, err
	}
	inserted, err := s.repo.InsertUser(ctx, u, func(holder User, inserted bool) []any {
		if inserted {
			return []any{UserRegistered{User: u}}
		}
		return []any{RegistrationRepeated{User: holder, At: u.createdAt}}
	})
	switch {
	case err != nil:
		return User{}, fmt.Errorf("register: %w", err)
	case !inserted:
		return User{}, EmailTaken()
	}
	return u, nil
}

// EmailTaken is the conflict of a sign-up with a registered email.
func EmailTaken() error {
	return &errs.Error{
		Kind: errs.KindConflict, Message: "an account with this email exists already",
		Fields: []errs.FieldError{errs.Field("email", "unique", "is already registered")},
	}
}

func (s *Service) newUser(ctx context.Context, reg Registration, role auth.Role) (User, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, errs.Internal(fmt.Errorf("user id: %w", err), "create user")
	}
	hash, err := s.hasher.Hash(ctx, reg.password)
	if err != nil {
		return User{}, err
	}
	return User{id: id, email: reg.email, name: reg.name, role: role, passwordHash: hash, createdAt: s.clock()}, nil
}

// User returns a user by id; KindNotFound when unknown or not a UUID.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	uid, err := parseUserID(id)
	if err != nil {
		return User{}, err
	}
	return s.repo.UserByID(ctx, uid)
}

// EnsureAdmin makes sure an admin exists: when none does, the user with
// email is promoted (gets password, loses its sessions) or created as admin
// (a registration, published as such). It returns
// whether it created or promoted one, KindInvalid for bad input. The
// password is hashed only when no admin exists: every start of a process
// with the bootstrap settings calls this, and most find an admin.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (bool, error) {
	reg, err := NewRegistration(email, password, "Administrator")
	if err != nil {
		return false, err
	}
	created, err := s.repo.BootstrapAdmin(ctx, reg.email, func(existing User, found bool) (User, []any, error) {
		admin, err := s.newUser(ctx, reg, auth.RoleAdmin)
		if err != nil {
			return User{}, nil, err
		}
		if found {
			return existing.promoted(admin.passwordHash), nil, nil
		}
		return admin, []any{UserRegistered{User: admin}}, nil
	})
	if err != nil {
		return false, fmt.Errorf("ensure admin: %w", err)
	}
	return created, nil
}

// Prune deletes sessions that ended (expired, revoked or idle) a day ago or
// earlier and elapsed rate-limit windows; it is safe to run on every
// replica.
func (s *Service) Prune(ctx context.Context) error {
	now := s.clock()
	ended := now.Add(-24 * time.Hour)
	longest := max(s.policy.LoginWindow, s.policy.RegisterWindow)
	return s.repo.Prune(ctx, ended, ended.Add(-s.policy.SessionIdle), now.Add(-longest))
}
