package identitytest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/errs"
)

func normalized(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func upper(s string) string { return strings.ToUpper(s) }

func message(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// wantFields checks that err names exactly the given fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *errs.Error", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(fields))
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}
