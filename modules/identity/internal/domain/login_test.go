package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestIPKey(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"192.0.2.1":               "ip:192.0.2.1",
		"::ffff:192.0.2.1":        "ip:192.0.2.1",
		"2001:db8:1:2:3:4:5:6":    "ip:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":    "ip:2001:db8:1:2::/64",
		"not an ip":               "ip:not an ip",
		string(make([]byte, 100)): "ip:" + string(make([]byte, 64)),
	}
	for in, want := range cases {
		if got := ipKey(in); got != want {
			t.Errorf("ipKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionTokenAndActive(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, token, err := newSession(uuid.New(), now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !wellFormedToken(token) || len(token) != 43 {
		t.Errorf("token %q is not 32 bytes of unpadded base64url", token)
	}
	if s.TokenHash() != HashToken(token) || s.TokenHash() == token || len(s.TokenHash()) != 64 {
		t.Errorf("token hash %q is not the sha256 hex of the token", s.TokenHash())
	}
	revoked := now
	cases := []struct {
		name string
		s    Session
		at   time.Time
		want bool
	}{
		{"fresh", s, now, true},
		{"just before expiry", s, now.Add(time.Hour - time.Nanosecond), true},
		{"at expiry", s, now.Add(time.Hour), false},
		{"revoked", RestoreSession(s.ID(), s.UserID(), s.TokenHash(), now, now.Add(time.Hour), now, &revoked), now, false},
	}
	long := RestoreSession(s.ID(), s.UserID(), s.TokenHash(), now, now.Add(24*time.Hour), now.Add(3*time.Hour), nil)
	cases = append(cases, []struct {
		name string
		s    Session
		at   time.Time
		want bool
	}{
		{"used within the idle timeout", long, now.Add(5*time.Hour - time.Nanosecond), true},
		{"idle for the timeout", long, now.Add(5 * time.Hour), false},
	}...)
	for _, tc := range cases {
		if got := tc.s.Active(tc.at, 2*time.Hour); got != tc.want {
			t.Errorf("%s: Active = %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"", "short", token + "A", "not/base64url+chars/padding====================="} {
		if wellFormedToken(bad) {
			t.Errorf("wellFormedToken(%q) = true", bad)
		}
	}
}

// TestAccountKey: failures are counted per account and client (IPv6 /64),
// and no email or address can produce another pair's key.
func TestAccountKey(t *testing.T) {
	t.Parallel()
	same := [][2][2]string{
		{{"ada@example.com", "2001:db8:1:2::1"}, {"ada@example.com", "2001:db8:1:2::ffff"}},
		{{"ada@example.com", "192.0.2.1"}, {"ada@example.com", "::ffff:192.0.2.1"}},
	}
	for _, p := range same {
		if a, b := accountKey(p[0][0], p[0][1]), accountKey(p[1][0], p[1][1]); a != b {
			t.Errorf("accountKey%v = %q, accountKey%v = %q; want equal", p[0], a, p[1], b)
		}
	}
	distinct := [][2]string{
		{"ada@example.com", "192.0.2.1"},
		{"ada@example.com", "192.0.2.2"},
		{"ada@example.com", ""},
		{"eve@example.com", "192.0.2.1"},
		{"ada@example.com|ip:192.0.2.1", ""},
		{"192.0.2.1|ada@example.com", ""},
		{"ada@example.com", "192.0.2.1|ada@example.com"},
	}
	seen := map[string][2]string{}
	for _, p := range distinct {
		k := accountKey(p[0], p[1])
		if prev, dup := seen[k]; dup {
			t.Errorf("accountKey%v = accountKey%v = %q", p, prev, k)
		}
		seen[k] = p
	}
}
