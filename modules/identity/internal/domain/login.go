package domain

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// LoginRequest is one login attempt.
type LoginRequest struct {
	Email         string
	Password      string
	ClientIP      string // empty for in-process callers: no per-IP limit then
	PreviousToken string // the session the client held before, revoked on success
}

// LoginResult is a new session with its clear token (shown only once).
type LoginResult struct {
	Session Session
	Token   string
	User    User
}

// wrongCredentials is the one answer for an unknown email and a wrong
// password, so that a client cannot probe which accounts exist.
func wrongCredentials() error {
	return errs.E(errs.KindUnauthenticated, "email or password is wrong")
}

// Login checks the rate limits, then the password, and opens a new session,
// revoking the previous one (session fixation). It returns KindRateLimited
// (with RetryAfter) when over a limit, KindUnauthenticated for a wrong email
// or password.
func (s *Service) Login(ctx context.Context, in LoginRequest) (LoginResult, error) {
	if !printable(in.Email) {
		// No account can have it (registration refuses it), and PostgreSQL
		// refuses NUL in text: answer before any query. Checked before
		// normalising, which would hide invalid UTF-8 behind U+FFFD.
		return LoginResult{}, wrongCredentials()
	}
	email := NormalizeEmail(in.Email)
	ipWindow, err := s.admit(ctx, email, in.ClientIP)
	if err != nil {
		return LoginResult{}, err
	}
	u, err := s.checkPassword(ctx, email, in.Password)
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.forgive(ctx, email, in.ClientIP, ipWindow); err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	now := s.clock()
	sess, token, err := newSession(u.id, now, s.policy.SessionTTL)
	if err != nil {
		return LoginResult{}, err
	}
	var revoke string
	if in.PreviousToken != "" {
		revoke = HashToken(in.PreviousToken)
	}
	if err := s.repo.CreateSession(ctx, sess, revoke, now); err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	return LoginResult{Session: sess, Token: token, User: u}, nil
}

// checkPassword returns the user whose email and password match. An unknown
// email still costs one Argon2 verification, against the dummy hash.
func (s *Service) checkPassword(ctx context.Context, email, password string) (User, error) {
	u, err := s.repo.UserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errs.Is(err, errs.KindNotFound) {
		return User{}, fmt.Errorf("login: %w", err)
	}
	hash := s.dummyHash
	if found {
		hash = u.passwordHash
	}
	ok, stale, err := s.hasher.Verify(ctx, hash, password)
	if err != nil {
		return User{}, fmt.Errorf("login: %w", err)
	}
	if !found || !ok {
		return User{}, wrongCredentials()
	}
	if stale {
		// The cost parameters were raised since this hash was made; the
		// clear password is at hand only now, so upgrade the hash.
		if u, err = s.rehash(ctx, u, password); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

func (s *Service) rehash(ctx context.Context, u User, password string) (User, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	if err := s.repo.UpdatePasswordHash(ctx, u.id, hash); err != nil {
		return User{}, fmt.Errorf("upgrade password hash: %w", err)
	}
	u.passwordHash = hash
	return u, nil
}

// admit counts the attempt against the client IP and against the account
// from that IP before any password is checked, and returns the IP's window.
// Both counters are incremented up front, so concurrent guesses cannot slip
// past a limit between a check and a later increment; a success then takes
// its hits back (forgive), so only failures stay counted and no amount of
// successful logins locks anyone out. Keying the account's counter on the
// IP too means a stranger's failures lock out only the stranger, never the
// account's owner elsewhere; guessing from many accounts is what the
// per-IP limit bounds.
func (s *Service) admit(ctx context.Context, email, ip string) (Window, error) {
	var w Window
	if ip != "" {
		var err error
		if w, err = s.hit(ctx, ipKey(ip), s.policy.LoginPerIP, s.policy.LoginWindow, tooManyLogins); err != nil {
			return w, err
		}
	}
	if len(email) > MaxEmailLen {
		return w, nil // no account can have it, and the key must stay indexable
	}
	_, err := s.hit(ctx, accountKey(email, ip), s.policy.LoginPerAccount, s.policy.LoginWindow, tooManyLogins)
	return w, err
}

// forgive takes back a successful login's hits: the account's failures are
// reset, and the one hit on the IP's window is undone (the window is not
// reset: the failures before it stay counted).
func (s *Service) forgive(ctx context.Context, email, ip string, ipWindow Window) error {
	if err := s.repo.ResetHits(ctx, accountKey(email, ip)); err != nil {
		return err
	}
	if ip == "" {
		return nil
	}
	return s.repo.Unhit(ctx, ipKey(ip), ipWindow.Start)
}

const tooManyLogins = "too many login attempts; try again later"

// hit counts one hit on key and returns KindRateLimited (with RetryAfter,
// and message) when the window holds more than limit.
func (s *Service) hit(ctx context.Context, key string, limit int, window time.Duration, message string) (Window, error) {
	now := s.clock()
	w, err := s.repo.Hit(ctx, key, now, window)
	if err != nil {
		return w, fmt.Errorf("rate limit: %w", err)
	}
	if w.Count <= limit {
		return w, nil
	}
	e := errs.E(errs.KindRateLimited, "%s", message)
	e.RetryAfter = max(w.Start.Add(window).Sub(now), time.Second)
	return w, e
}

// registerKey names the sign-ups of one client (IPv6: its /64).
func registerKey(ip string) string { return "register|" + ipKey(ip) }

// accountKey names the failures of one account from one client (IPv6: its
// /64). The IP part is length-prefixed, so no email or address can forge
// another pair's key; an empty ip (trusted in-process callers) is a pair too.
func accountKey(email, ip string) string {
	k := ""
	if ip != "" {
		k = ipKey(ip)
	}
	return "account:" + strconv.Itoa(len(k)) + ":" + k + "|" + email
}

// ipKey groups IPv6 clients by /64, the block one subscriber usually holds,
// so rotating addresses inside it does not dodge the limit.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return "ip:" + ip[:min(len(ip), 64)]
	case a.Is4() || a.Is4In6():
		return "ip:" + a.Unmap().String()
	default:
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
}

// Logout revokes the session of token. Logging out of an unknown, expired or
// already revoked session succeeds, so a retried call is harmless.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormedToken(token) {
		return nil
	}
	if err := s.repo.RevokeSession(ctx, HashToken(token), s.clock()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Authenticate returns the caller holding token; KindUnauthenticated when
// the token is unknown, expired, idle for too long or revoked. A use
// refreshes the session's last use at most once a minute.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	invalid := errs.E(errs.KindUnauthenticated, "the session is invalid or has expired; sign in again")
	if !wellFormedToken(token) {
		return auth.Principal{}, invalid
	}
	sess, u, err := s.repo.SessionByTokenHash(ctx, HashToken(token))
	switch {
	case errs.Is(err, errs.KindNotFound):
		return auth.Principal{}, invalid
	case err != nil:
		return auth.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.clock()
	if !sess.Active(now, s.policy.SessionIdle) {
		return auth.Principal{}, invalid
	}
	if sess.stale(now) {
		if err := s.repo.TouchSession(ctx, sess.id, now, now.Add(-touchEvery)); err != nil {
			return auth.Principal{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	return u.Principal(sess.id), nil
}
