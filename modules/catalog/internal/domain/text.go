package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shopmonolith/shop/platform/errs"
)

// checkText trims s and checks its length in characters.
func checkText(f *errs.Fields, field, s string, minLen, maxLen int) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		f.Add(field, "utf8", "must be valid UTF-8")
	case n < minLen && minLen == 1:
		f.Add(field, "required", "is required")
	case n < minLen:
		f.Add(field, "min", fmt.Sprintf("must be at least %d characters", minLen))
	case n > maxLen:
		f.Add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	}
	return s
}
