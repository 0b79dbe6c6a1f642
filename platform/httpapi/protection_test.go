package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// An unsafe request a browser sends from another origin on its own (an
// auto-submitting form) is refused; the shop's own pages, API clients and
// the trusted CORS origins are not.
func TestCrossOriginUnsafeRequestsAreRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil) // trusts https://shop.example; requests go to Host example.com
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		cookie  bool
		status  int
	}{
		{"same-site form", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://example.com:9999"}, true, 403},
		{"cross-site form", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, true, 403},
		{"cross-site PUT", http.MethodPut, map[string]string{"Sec-Fetch-Site": "cross-site"}, true, 403},
		{"cross-site PATCH", http.MethodPatch, map[string]string{"Sec-Fetch-Site": "cross-site"}, false, 403},
		{"cross-site DELETE", http.MethodDelete, map[string]string{"Sec-Fetch-Site": "cross-site"}, true, 403},
		{"old browser, other origin", http.MethodPost, map[string]string{"Origin": "https://evil.example"}, true, 403},
		{"old browser, other port", http.MethodPost, map[string]string{"Origin": "http://example.com:8081"}, true, 403},
		{"same-origin fetch", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, true, 204},
		{"typed by the user", http.MethodPost, map[string]string{"Sec-Fetch-Site": "none"}, true, 204},
		{"old browser, same origin", http.MethodPost, map[string]string{"Origin": "http://example.com"}, true, 204},
		{"not a browser", http.MethodPost, nil, true, 204},
		{"bearer client from another site", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", "Authorization": "Bearer customer-token"}, false, 204},
		{"trusted CORS origin", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example"}, true, 204},
		{"trusted CORS origin, old browser", http.MethodDelete, map[string]string{"Origin": "https://shop.example"}, true, 204},
		{"cross-site GET", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, true, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/act", strings.NewReader("a=b"))
			req.Header.Set(echo.HeaderContentType, "text/plain")
			if tt.cookie {
				cookie("customer-token")(req)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := s.do(t, req)
			if tt.status == http.StatusNoContent {
				if rec.Code != http.StatusNoContent {
					t.Errorf("status = %d, want 204; body %s", rec.Code, rec.Body.String())
				}
				return
			}
			p := problem(t, rec, tt.status)
			if p.Kind != "forbidden" || !strings.Contains(p.Detail, "cross-origin request refused") {
				t.Errorf("problem = %+v, want kind forbidden and a detail saying why", p)
			}
		})
	}
}

// Responses that may carry personal data or a token are never cached:
// those to a request with a session (valid or not, on success or failure)
// and those to unsafe methods. Anonymous reads stay cacheable.
func TestSessionAndUnsafeResponsesAreNotStored(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	tests := []struct {
		name    string
		req     *http.Request
		auth    func(*http.Request)
		status  int
		noStore bool
	}{
		{"anonymous read", httptest.NewRequest(http.MethodGet, "/things/1", nil), none, 200, false},
		{"anonymous not found", httptest.NewRequest(http.MethodGet, "/nope", nil), none, 404, false},
		{"anonymous read of a user route", httptest.NewRequest(http.MethodGet, "/me", nil), none, 401, false},
		{"other cookie", httptest.NewRequest(http.MethodGet, "/things/1", nil), func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"}) }, 200, false},
		{"bearer read", httptest.NewRequest(http.MethodGet, "/me", nil), bearer("customer-token"), 200, true},
		{"cookie read", httptest.NewRequest(http.MethodGet, "/me", nil), cookie("customer-token"), 200, true},
		{"cookie read of a public route", httptest.NewRequest(http.MethodGet, "/things/1", nil), cookie("customer-token"), 200, true},
		{"invalid bearer, refused", httptest.NewRequest(http.MethodGet, "/me", nil), bearer("forged"), 401, true},
		{"invalid cookie, public route", httptest.NewRequest(http.MethodGet, "/public", nil), cookie("forged"), 200, true},
		{"forbidden role", httptest.NewRequest(http.MethodGet, "/admin", nil), cookie("customer-token"), 403, true},
		{"session, panic", httptest.NewRequest(http.MethodGet, "/panic", nil), bearer("customer-token"), 500, true},
		{"anonymous POST (as login)", postJSON("/things", strings.NewReader(`{"name":"lamp","quantity":1}`)), none, 201, true},
		{"anonymous POST, malformed", postJSON("/things", strings.NewReader(`{`)), none, 400, true},
		{"anonymous DELETE", httptest.NewRequest(http.MethodDelete, "/act", nil), none, 204, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.auth(tt.req)
			rec := s.do(t, tt.req)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body.String())
			}
			got := rec.Header().Get(echo.HeaderCacheControl)
			if tt.noStore && got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if !tt.noStore && got != "" {
				t.Errorf("Cache-Control = %q, want none", got)
			}
		})
	}
}

// The policy keeps scripts to the shop's own files, and forms and <base>
// from sending the page anywhere else.
func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, path := range []string{"/things/1", "/nope"} {
		csp := s.get(t, path).Header().Get("Content-Security-Policy")
		directives := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			directives[name] = value
		}
		want := map[string]string{
			"default-src":     "'self'",
			"frame-ancestors": "'none'",
			"form-action":     "'self'",
			"base-uri":        "'none'",
		}
		for name, value := range want {
			if directives[name] != value {
				t.Errorf("%s: %s = %q, want %q (policy %q)", path, name, directives[name], value, csp)
			}
		}
		// No script-src: scripts fall back to default-src 'self', no inline script.
		if v, ok := directives["script-src"]; ok {
			t.Errorf("%s: script-src %q loosens default-src 'self'", path, v)
		}
	}
}
