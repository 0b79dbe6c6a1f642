package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/errs"
)

func TestNewRegistration(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name                  string
		email, password, user string
		wantFields            []string // field:rule
	}{
		{"ok", "ada@example.com", "12345678", "Ada", nil},
		{"ok unicode password counts runes", "ada@example.com", "ääääääää", "Ada", nil},
		{"ok 128 runes", "ada@example.com", strings.Repeat("é", 128), "Ada", nil},
		{"ok name 100 runes", "ada@example.com", "12345678", strings.Repeat("é", 100), nil},
		{"ok email 254", long(242) + "@example.com", "12345678", "Ada", nil},
		{"all missing", "", "", "", []string{"email:required", "password:required", "name:required"}},
		{"blank name", "a@b.example", "12345678", "  \t ", []string{"name:required"}},
		{"email no at", "ada.example.com", "12345678", "Ada", []string{"email:email"}},
		{"email display name", "Ada <ada@example.com>", "12345678", "Ada", []string{"email:email"}},
		{"email too long", long(243) + "@example.com", "12345678", "Ada", []string{"email:max"}},
		{"password 7 runes", "a@b.example", "äääääää", "Ada", []string{"password:min"}},
		{"password 129 runes", "a@b.example", long(129), "Ada", []string{"password:max"}},
		{"name 101 runes", "a@b.example", "12345678", strings.Repeat("é", 101), []string{"name:max"}},
		{"name control char", "a@b.example", "12345678", "Ada\x00", []string{"name:printable"}},
		{"name C1 control", "a@b.example", "12345678", "Ada\u0085x", []string{"name:printable"}},
		{"name bidi override", "a@b.example", "12345678", "Ada\u202eecilA", []string{"name:printable"}},
		{"name bidi isolate", "a@b.example", "12345678", "Ada\u2066x", []string{"name:printable"}},
		{"name invalid UTF-8", "a@b.example", "12345678", "Ada\xff", []string{"name:printable"}},
		{"ok name with ZWNJ", "a@b.example", "12345678", "Ma\u200cryam", nil},
		{"email NUL", "a\x00@b.example", "12345678", "Ada", []string{"email:email"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewRegistration(tc.email, tc.password, tc.user)
			var got []string
			var e *errs.Error
			if errors.As(err, &e) {
				if e.Kind != errs.KindInvalid {
					t.Fatalf("kind = %v, want invalid", e.Kind)
				}
				for _, f := range e.Fields {
					got = append(got, f.Field+":"+f.Rule)
				}
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !slices.Equal(got, tc.wantFields) {
				t.Errorf("fields = %v, want %v", got, tc.wantFields)
			}
		})
	}
}

func TestNewRegistrationNormalizes(t *testing.T) {
	t.Parallel()
	r, err := NewRegistration("  Ada@Example.COM ", "12345678", "  Ada Lovelace ")
	if err != nil {
		t.Fatal(err)
	}
	if r.email != "ada@example.com" || r.name != "Ada Lovelace" {
		t.Errorf("got %q, %q", r.email, r.name)
	}
}
