package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopmonolith/shop/platform/errs"
)

// checkText trims s and checks its length in characters. Control characters
// are refused: PostgreSQL rejects NUL in text outright, and the others have
// no place in a name a customer sees.
func checkText(f *errs.Fields, field, s string, minLen, maxLen int) string {
	return checkTextAllowing(f, field, s, minLen, maxLen, "")
}

// checkLongText is checkText for multi-line text, where line breaks and tabs
// are content.
func checkLongText(f *errs.Fields, field, s string, minLen, maxLen int) string {
	return checkTextAllowing(f, field, s, minLen, maxLen, "\n\r\t")
}

func checkTextAllowing(f *errs.Fields, field, s string, minLen, maxLen int, allowed string) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		f.Add(field, "utf8", "must be valid UTF-8")
	case hasControl(s, allowed):
		f.Add(field, "control", "must not contain control characters")
	case n < minLen && minLen == 1:
		f.Add(field, "required", "is required")
	case n < minLen:
		f.Add(field, "min", fmt.Sprintf("must be at least %d characters", minLen))
	case n > maxLen:
		f.Add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	}
	return s
}

func hasControl(s, allowed string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !strings.ContainsRune(allowed, r)
	})
}

// normTime is how the catalog holds instants: UTC at PostgreSQL's
// microsecond precision, so that what a write returns equals what a later
// read of the stored row returns.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Map converts every element with conv. The layers around the domain (the
// public API, REST and the store) use it with their named converters.
func Map[T, U any](in []T, conv func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}
