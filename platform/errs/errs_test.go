package errs_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/shopmonolith/shop/platform/errs"
)

func TestKindOfThroughWrapping(t *testing.T) {
	t.Parallel()
	base := errs.E(errs.KindNotFound, "product %s", "p1")
	tests := []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"direct", base, errs.KindNotFound},
		{"fmt wrapped", fmt.Errorf("load: %w", base), errs.KindNotFound},
		{"twice wrapped", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", base)), errs.KindNotFound},
		{"joined", errors.Join(errors.New("other"), base), errs.KindNotFound},
		{"first Error in chain wins", errs.Wrap(errs.KindConflict, base, "outer"), errs.KindConflict},
		{"plain error", errors.New("boom"), errs.KindInternal},
		{"nil", nil, errs.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errs.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("x: %w", errs.E(errs.KindForbidden, "no"))
	if !errs.Is(err, errs.KindForbidden) {
		t.Error("Is(forbidden) = false through wrapping")
	}
	if errs.Is(err, errs.KindNotFound) {
		t.Error("Is(not_found) = true for a forbidden error")
	}
	if errs.Is(nil, errs.KindInternal) {
		t.Error("Is(nil, internal) = true; nil is no error of any kind")
	}
}

func TestFieldsErr(t *testing.T) {
	t.Parallel()
	var empty errs.Fields
	if err := empty.Err(); err != nil {
		t.Fatalf("empty Fields.Err() = %v, want nil", err)
	}

	var f errs.Fields
	f.Add("email", "required", "is required")
	f.Add("age", "min", "must be at least 18")
	err := f.Err()
	if !errs.Is(err, errs.KindInvalid) {
		t.Fatalf("Fields.Err() kind = %v, want invalid", errs.KindOf(err))
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Fields.Err() = %T, want *errs.Error", err)
	}
	want := []errs.FieldError{
		{Field: "email", Rule: "required", Message: "is required"},
		{Field: "age", Rule: "min", Message: "must be at least 18"},
	}
	if len(e.Fields) != len(want) {
		t.Fatalf("fields = %+v, want %+v", e.Fields, want)
	}
	for i := range want {
		if e.Fields[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, e.Fields[i], want[i])
		}
	}
	for _, s := range []string{"email: is required", "age: must be at least 18"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Error() = %q, want it to contain %q", err.Error(), s)
		}
	}
}

func TestParseKindRoundTrip(t *testing.T) {
	t.Parallel()
	all := []errs.Kind{
		errs.KindInternal, errs.KindInvalid, errs.KindNotFound, errs.KindConflict,
		errs.KindUnauthenticated, errs.KindForbidden, errs.KindRateLimited,
		errs.KindUnavailable, errs.KindTooLarge, errs.KindUnsupportedMedia, errs.KindMalformed,
	}
	seen := map[string]errs.Kind{}
	for _, k := range all {
		name := k.String()
		if strings.HasPrefix(name, "kind(") {
			t.Errorf("kind %d has no name", k)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("kinds %d and %d share the name %q", other, k, name)
		}
		seen[name] = k
		if got := errs.ParseKind(name); got != k {
			t.Errorf("ParseKind(%q) = %v, want %v", name, got, k)
		}
	}
	if got := errs.ParseKind("no_such_kind"); got != errs.KindInternal {
		t.Errorf("ParseKind(unknown) = %v, want internal", got)
	}
	if got := errs.Kind(200).String(); got != "kind(200)" {
		t.Errorf("Kind(200).String() = %q, want kind(200)", got)
	}
}

func TestInternal(t *testing.T) {
	t.Parallel()
	if errs.Internal(nil, "op") != nil {
		t.Error("Internal(nil) != nil")
	}
	cause := errors.New("disk on fire")
	err := errs.Internal(cause, "save order")
	if !errs.Is(err, errs.KindInternal) || !errors.Is(err, cause) {
		t.Errorf("Internal(cause) = %v; want internal kind wrapping the cause", err)
	}
	kinded := fmt.Errorf("ctx: %w", errs.E(errs.KindConflict, "taken"))
	if got := errs.Internal(kinded, "op"); got != kinded {
		t.Errorf("Internal(kinded) = %v, want the error unchanged", got)
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	err := errs.Wrap(errs.KindUnavailable, cause, "payment provider %d", 2)
	if got, want := err.Error(), "unavailable: payment provider 2: cause"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("Wrap does not unwrap to its cause")
	}
}

type sqlStateError string

func (e sqlStateError) Error() string    { return "sqlstate " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestOverloaded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{sqlStateError("53300"), true}, // too many connections (server, role or database limit)
		{sqlStateError("53000"), true},
		{sqlStateError("57P03"), true}, // cannot connect now
		{errs.Internal(fmt.Errorf("open: %w", sqlStateError("53300")), "load"), true},
		{sqlStateError("23505"), false},
		{sqlStateError("57014"), false}, // statement timeout: the query's own fault
		{errors.New("plain"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := errs.Overloaded(tt.err); got != tt.want {
			t.Errorf("Overloaded(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// notSent is a driver's error for work it never sent (pgconn's
// SafeToRetry).
type notSent bool

func (e notSent) Error() string     { return "conn closed" }
func (e notSent) SafeToRetry() bool { return bool(e) }

func TestUnreachable(t *testing.T) {
	t.Parallel()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection reset", errs.Internal(fmt.Errorf("select session: %w", reset), "load session"), true},
		{"connection refused", fmt.Errorf("failed to connect: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"bad connection", errors.Join(fmt.Errorf("begin: %w", driver.ErrBadConn), errors.New("rollback: sql: connection is already closed")), true},
		{"message cut short", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{"connection exception", sqlStateError("08006"), true},
		{"server shut down", sqlStateError("57P01"), true},
		{"never sent", fmt.Errorf("exec: %w", notSent(true)), true},
		{"maybe sent", notSent(false), false},
		{"constraint", sqlStateError("23505"), false},
		{"a kind of its own", errs.Wrap(errs.KindUnavailable, reset, "payments did not answer"), false},
		{"plain", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := errs.Unreachable(tt.err); got != tt.want {
			t.Errorf("%s: Unreachable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
