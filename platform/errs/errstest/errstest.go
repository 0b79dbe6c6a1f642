// Package errstest holds the assertions every module's tests and contract
// suites make about errors: which kind an error carries and which input
// fields it names.
package errstest

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/errs"
)

// Kind stops the test unless err is an error of the given kind.
func Kind(t testing.TB, err error, kind errs.Kind) {
	t.Helper()
	if got := errs.KindOf(err); err == nil || got != kind {
		t.Fatalf("err = %v (kind %v), want kind %v", err, got, kind)
	}
}

// Fields lists the fields err names, comma separated ("" for none).
func Fields(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return ""
	}
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field
	}
	return strings.Join(names, ",")
}
