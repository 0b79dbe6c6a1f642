package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The client address comes from X-Forwarded-For only when the peer is a
// trusted proxy, and then it is the rightmost address that is not one.
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	trusting := newServer(t, map[string]string{"SHOP_HTTP_TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.7"})
	plain := newServer(t, nil)
	tests := []struct {
		name string
		srv  *testServer
		peer string
		xff  []string
		want string
	}{
		{"trusted peer", trusting, "10.1.1.1:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted single IP", trusting, "192.0.2.7:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted chain, client spoofs the left", trusting, "10.1.1.1:4000", []string{"6.6.6.6, 203.0.113.9, 10.2.2.2"}, "203.0.113.9"},
		{"trusted chain over two headers", trusting, "10.1.1.1:4000", []string{"6.6.6.6", "203.0.113.9"}, "203.0.113.9"},
		{"trusted peer without the header", trusting, "10.1.1.1:4000", nil, "10.1.1.1"},
		{"untrusted peer", trusting, "198.51.100.4:4000", []string{"203.0.113.9"}, "198.51.100.4"},
		{"private peer not named", trusting, "192.168.1.1:4000", []string{"203.0.113.9"}, "192.168.1.1"},
		{"loopback peer not named", trusting, "127.0.0.1:4000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"nothing trusted", plain, "10.1.1.1:4000", []string{"203.0.113.9"}, "10.1.1.1"},
		{"nothing trusted, loopback", plain, "127.0.0.1:4000", []string{"203.0.113.9"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/ip", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add(echo.HeaderXForwardedFor, v)
			}
			if got := tt.srv.do(t, req).Body.String(); got != tt.want {
				t.Errorf("client address = %q, want %q", got, tt.want)
			}
		})
	}
}

// X-Forwarded-For from a peer outside the trusted ranges (a load balancer
// missing from the setting, or a client spoofing) is logged once.
func TestUntrustedForwardedForIsLoggedOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t, map[string]string{"SHOP_HTTP_TRUSTED_PROXIES": "10.0.0.0/8"})
	send := func(peer string, xff bool) {
		req := httptest.NewRequest(http.MethodGet, "/ip", nil)
		req.RemoteAddr = peer
		if xff {
			req.Header.Set(echo.HeaderXForwardedFor, "203.0.113.9")
		}
		s.do(t, req)
	}
	warnings := func() int { return strings.Count(s.logs.String(), "X-Forwarded-For ignored") }
	send("198.51.100.4:4000", false)
	send("10.1.1.1:4000", true)
	if n := warnings(); n != 0 {
		t.Fatalf("%d warnings without untrusted X-Forwarded-For:\n%s", n, s.logs.String())
	}
	send("198.51.100.4:4000", true)
	send("198.51.100.5:4000", true)
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, s.logs.String())
	}
	for _, want := range []string{`"level":"WARN"`, "SHOP_HTTP_TRUSTED_PROXIES", `"peer":"198.51.100.4:4000"`} {
		if !strings.Contains(s.logs.String(), want) {
			t.Errorf("warning lacks %s:\n%s", want, s.logs.String())
		}
	}
}
