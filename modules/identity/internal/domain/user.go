package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Input limits. Field names in errors are the JSON names clients send.
const (
	MaxEmailLen    = 254 // RFC 5321 path limit
	MinPasswordLen = 8   // NIST SP 800-63B; no composition rules on purpose
	MaxPasswordLen = 128
	MaxNameLen     = 100
)

// User is an account. Its password is only ever held as an Argon2id hash.
type User struct {
	id           uuid.UUID
	email        string
	name         string
	role         auth.Role
	passwordHash string
	createdAt    time.Time
}

// RestoreUser rebuilds a stored user; the store is trusted, so only the role
// is checked.
func RestoreUser(id uuid.UUID, email, name string, role auth.Role, passwordHash string, createdAt time.Time) (User, error) {
	if !role.Valid() {
		return User{}, errs.E(errs.KindInternal, "stored user %s has unknown role %q", id, role)
	}
	return User{id: id, email: email, name: name, role: role, passwordHash: passwordHash, createdAt: createdAt.UTC()}, nil
}

func (u User) ID() uuid.UUID        { return u.id }
func (u User) Email() string        { return u.email }
func (u User) Name() string         { return u.name }
func (u User) Role() auth.Role      { return u.role }
func (u User) PasswordHash() string { return u.passwordHash }
func (u User) CreatedAt() time.Time { return u.createdAt }

// Principal is the user as an authenticated caller of the given session.
func (u User) Principal(sessionID uuid.UUID) auth.Principal {
	return auth.Principal{UserID: u.id.String(), Email: u.email, Role: u.role, SessionID: sessionID.String()}
}

// promoted returns the user as an admin with a new password hash.
func (u User) promoted(passwordHash string) User {
	u.role, u.passwordHash = auth.RoleAdmin, passwordHash
	return u
}

// Registration is validated sign-up input; the password is still in clear
// and must be hashed before anything is stored.
type Registration struct {
	email    string
	password string
	name     string
}

// NewRegistration validates sign-up input and reports every broken rule at
// once (KindInvalid naming email, password and name).
func NewRegistration(email, password, name string) (Registration, error) {
	var f errs.Fields
	r := Registration{email: NormalizeEmail(email), password: password, name: strings.TrimSpace(name)}
	if printable(email) {
		checkEmail(&f, r.email)
	} else {
		// Checked before normalising, which would turn invalid UTF-8 into
		// U+FFFD and hide it.
		f.Add("email", "email", "must be an email address")
	}
	checkPassword(&f, r.password)
	checkName(&f, r.name)
	return r, f.Err()
}

// NormalizeEmail is the canonical form an email is stored and looked up in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkEmail(f *errs.Fields, email string) {
	switch {
	case email == "":
		f.Add("email", "required", "is required")
	case len(email) > MaxEmailLen:
		f.Add("email", "max", "must be at most 254 characters")
	default:
		// ParseAddress also accepts "Name <a@b>"; only a bare address is wanted.
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email {
			f.Add("email", "email", "must be an email address")
		}
	}
}

func checkPassword(f *errs.Fields, password string) { checkPasswordField(f, "password", password) }

// checkPasswordField applies the password rules to the field named field.
func checkPasswordField(f *errs.Fields, field, password string) {
	n := utf8.RuneCountInString(password)
	switch {
	case password == "":
		f.Add(field, "required", "is required")
	case n < MinPasswordLen:
		f.Add(field, "min", "must be at least 8 characters")
	case n > MaxPasswordLen:
		f.Add(field, "max", "must be at most 128 characters")
	}
}

func checkName(f *errs.Fields, name string) {
	switch {
	case name == "":
		f.Add("name", "required", "is required")
	case utf8.RuneCountInString(name) > MaxNameLen:
		f.Add("name", "max", "must be at most 100 characters")
	case !printable(name):
		f.Add("name", "printable", "must not contain control characters")
	}
}

// printable reports whether s is valid UTF-8 without control characters: C0
// and C1 controls (NUL among them, which PostgreSQL cannot even store), line
// and paragraph separators, and the bidirectional embeddings, overrides and
// isolates that make text display other than it reads. Zero-width joiners
// stay allowed: names in several scripts and emoji sequences need them.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unprintable) < 0
}

func unprintable(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
