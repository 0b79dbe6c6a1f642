// Package errs defines the error kinds every module returns across its public
// API. Kinds are designed to cross a process boundary: a remote adapter maps a
// kind to an HTTP status and back without losing meaning. The list is
// append-only; never renumber or reuse a kind.
package errs

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Kind classifies an error for callers and for the HTTP edge.
type Kind uint8

// The kinds. Append only.
const (
	KindInternal         Kind = iota // unexpected failure; details are logged, not shown
	KindInvalid                      // input breaks a rule; FieldErrors name the fields
	KindNotFound                     // the object does not exist or is not visible to the caller
	KindConflict                     // the object exists already or changed concurrently
	KindUnauthenticated              // no valid session
	KindForbidden                    // authenticated, but not allowed
	KindRateLimited                  // too many attempts; retry later
	KindUnavailable                  // a dependency is down or too slow
	KindTooLarge                     // request body exceeds the limit
	KindUnsupportedMedia             // wrong content type
	KindMalformed                    // the request cannot be parsed
	KindMethodNotAllowed             // the resource exists, but not with this method
)

var kindNames = [...]string{
	KindInternal:         "internal",
	KindInvalid:          "invalid",
	KindNotFound:         "not_found",
	KindConflict:         "conflict",
	KindUnauthenticated:  "unauthenticated",
	KindForbidden:        "forbidden",
	KindRateLimited:      "rate_limited",
	KindUnavailable:      "unavailable",
	KindTooLarge:         "too_large",
	KindUnsupportedMedia: "unsupported_media_type",
	KindMalformed:        "malformed",
	KindMethodNotAllowed: "method_not_allowed",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind is the inverse of Kind.String; unknown names map to KindInternal.
func ParseKind(s string) Kind {
	for k, name := range kindNames {
		if name == s {
			return Kind(k)
		}
	}
	return KindInternal
}

// FieldError names one input field and the rule it breaks.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error is the error type modules return. Message is safe to show to a client;
// Err, if set, is the underlying cause and is only logged.
type Error struct {
	Kind       Kind
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // for KindRateLimited: when a retry may succeed
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// WithField names the field (and rule) an error of any kind is about, as a
// conflict on a taken name names that name.
func (e *Error) WithField(field, rule, message string) *Error {
	e.Fields = append(e.Fields, FieldError{Field: field, Rule: rule, Message: message})
	return e
}

// E builds an error of the given kind with a client-safe message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a kind and a message to a cause.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// Internal wraps an unexpected failure. Its message is never shown to clients.
func Internal(err error, op string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: KindInternal, Message: op, Err: err}
}

// Invalid reports one or more broken input rules.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Message: "the request has invalid fields", Fields: fields}
}

// Field is shorthand for a FieldError.
func Field(field, rule, message string) FieldError {
	return FieldError{Field: field, Rule: rule, Message: message}
}

// KindOf returns the kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Fields collects field errors; it returns nil when none were added, so a
// constructor can write `var v errs.Fields; ...; return v.Err()`.
type Fields []FieldError

// Add records a broken rule.
func (f *Fields) Add(field, rule, message string) {
	*f = append(*f, FieldError{Field: field, Rule: rule, Message: message})
}

// Err returns an Invalid error listing the fields, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}

// BusyRetryAfter is when a client may retry work refused because a
// dependency was at capacity (see Overloaded).
const BusyRetryAfter = 2 * time.Second

// Overloaded reports whether err, anywhere in its chain, is a database
// refusing work for capacity rather than for anything in the request:
// PostgreSQL's class 53 (insufficient resources: 53300 too many connections,
// also for a role's or database's CONNECTION LIMIT) and 57P03 (cannot
// connect now, while the server starts or shuts down). Such a failure says
// "not now": the HTTP edge answers 503 with Retry-After, the event pipeline
// retries without counting an attempt. The check goes through the SQLSTATE a
// driver error exposes, so this package links no driver.
func Overloaded(err error) bool {
	var s interface{ SQLState() string }
	if !errors.As(err, &s) {
		return false
	}
	code := s.SQLState()
	return strings.HasPrefix(code, "53") || code == "57P03"
}

// Unreachable reports whether err, anywhere in its chain, is a database (or
// another dependency spoken to over TCP) that could not be reached or lost
// the connection under the work, whatever the request held: a connection
// refused, reset or cut short (a network error, a driver's bad or closed
// connection, a message cut off), work a driver never sent (it says it is
// safe to retry), PostgreSQL's class 08 (connection exception) and
// 57P01/57P02 (the server shut down under the session). Like Overloaded it
// says "not now": the HTTP edge answers 503 with Retry-After, the event
// pipeline retries without counting an attempt. A failure a module gave a
// kind of its own (a remote call's KindUnavailable, with its own advice) is
// left to that kind. The checks go through the standard library's errors
// and the methods a driver error exposes, so this package links no driver.
func Unreachable(err error) bool {
	if err == nil || KindOf(err) != KindInternal {
		return false
	}
	var (
		ne    net.Error
		state interface{ SQLState() string }
		retry interface{ SafeToRetry() bool }
	)
	switch {
	case errors.As(err, &ne), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &state):
		code := state.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02"
	case errors.As(err, &retry):
		return retry.SafeToRetry()
	}
	return false
}
