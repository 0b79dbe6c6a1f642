package identity_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// httpServer serves the identity routes behind the real HTTP edge.
func httpServer(t *testing.T, secure bool) *httptest.Server {
	t.Helper()
	cfg := testConfig(t, func(a *config.Auth) { a.CookieSecure = &secure })
	mod := newModule(t, dbtestDatabases(t), cfg, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), mod.Authenticator())
	mod.Routes(srv.Router("identity"))
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return ts
}

type call struct {
	method, path, body, token string
	cookie                    *http.Cookie
	contentType               string
}

func do(t *testing.T, ts *httptest.Server, c call) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &body)
	}
	return res, body
}

func wantStatus(t *testing.T, res *http.Response, body map[string]any, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %v", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, body)
	}
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "shop_session" {
			return c
		}
	}
	t.Fatalf("no shop_session cookie in %v", res.Header.Values("Set-Cookie"))
	return nil
}

func TestHTTPFlow(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, true)
	email := identitytest.Email("http")
	reg := `{"email":"` + email + `","password":"` + password + `","name":"Ada"}`

	res, user := do(t, ts, call{method: "POST", path: "/api/identity/register", body: reg})
	wantStatus(t, res, user, http.StatusCreated)
	if user["email"] != email || user["role"] != "customer" || user["id"] == "" || user["created_at"] == nil {
		t.Errorf("registered user %v", user)
	}
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/register", body: reg})
	wantStatus(t, res, body, http.StatusConflict)

	login := `{"email":"` + email + `","password":"` + password + `"}`
	res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	wantStatus(t, res, sess, http.StatusOK)
	c := sessionCookie(t, res)
	if c.Value != sess["token"] || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Expires.IsZero() {
		t.Errorf("cookie %+v does not carry the token with HttpOnly, Secure, SameSite=Lax, Path=/, Expires", c)
	}
	if u, _ := sess["user"].(map[string]any); u["id"] != user["id"] || sess["expires_at"] == nil {
		t.Errorf("session body %v", sess)
	}

	res, me := do(t, ts, call{method: "GET", path: "/api/identity/me", cookie: c})
	wantStatus(t, res, me, http.StatusOK)
	if me["id"] != user["id"] {
		t.Errorf("me = %v", me)
	}

	// Logging in again with the old cookie rotates the session.
	res, sess2 := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login, cookie: c})
	wantStatus(t, res, sess2, http.StatusOK)
	res, body = do(t, ts, call{method: "GET", path: "/api/identity/me", cookie: c})
	wantStatus(t, res, body, http.StatusUnauthorized)

	token := sess2["token"].(string)
	res, body = do(t, ts, call{method: "POST", path: "/api/identity/logout", token: token})
	wantStatus(t, res, body, http.StatusNoContent)
	if cleared := sessionCookie(t, res); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("logout cookie %+v does not clear the session", cleared)
	}
	res, body = do(t, ts, call{method: "GET", path: "/api/identity/me", token: token})
	wantStatus(t, res, body, http.StatusUnauthorized)
}

// signUp registers a new customer and returns the body that signs them in.
func signUp(t *testing.T, ts *httptest.Server, prefix string) (login string) {
	t.Helper()
	email := identitytest.Email(prefix)
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/register", body: `{"email":"` + email + `","password":"` + password + `","name":"Ada"}`})
	wantStatus(t, res, body, http.StatusCreated)
	return `{"email":"` + email + `","password":"` + password + `"}`
}

// TestHTTPLoginKeepsBearerTokens: signing in rotates the cookie session the
// browser presented, but never revokes a bearer token sent along with it:
// an API client's token is ended by logout only.
func TestHTTPLoginKeepsBearerTokens(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	login := signUp(t, ts, "bearer")
	res, api := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	wantStatus(t, res, api, http.StatusOK)
	bearer := api["token"].(string)
	res, web := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	wantStatus(t, res, web, http.StatusOK)
	cookie := sessionCookie(t, res)

	// A bearer token alone, then a bearer token with the cookie: the
	// cookie's session is rotated, the bearer token still works.
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login, token: bearer})
	wantStatus(t, res, body, http.StatusOK)
	res, body = do(t, ts, call{method: "POST", path: "/api/identity/login", body: login, token: bearer, cookie: cookie})
	wantStatus(t, res, body, http.StatusOK)
	res, body = do(t, ts, call{method: "GET", path: "/api/identity/me", token: bearer})
	wantStatus(t, res, body, http.StatusOK)
	res, body = do(t, ts, call{method: "GET", path: "/api/identity/me", cookie: cookie})
	wantStatus(t, res, body, http.StatusUnauthorized)
}

// TestHTTPLogoutIsIdempotent: logout needs no valid session; it always
// answers 204 and clears the cookie, revoking the presented session if any.
func TestHTTPLogoutIsIdempotent(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: signUp(t, ts, "out")})
	wantStatus(t, res, sess, http.StatusOK)
	cookie := sessionCookie(t, res)

	cases := []struct {
		name string
		c    call
	}{
		{"cookie session", call{method: "POST", path: "/api/identity/logout", cookie: cookie}},
		{"revoked session again", call{method: "POST", path: "/api/identity/logout", cookie: cookie}},
		{"anonymous", call{method: "POST", path: "/api/identity/logout"}},
		{"malformed token", call{method: "POST", path: "/api/identity/logout", token: "bogus"}},
	}
	for _, tc := range cases {
		res, body := do(t, ts, tc.c)
		wantStatus(t, res, body, http.StatusNoContent)
		if cleared := sessionCookie(t, res); cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Errorf("%s: cookie %+v does not clear the session", tc.name, cleared)
		}
	}
	res, body := do(t, ts, call{method: "GET", path: "/api/identity/me", cookie: cookie})
	wantStatus(t, res, body, http.StatusUnauthorized)
}

// TestHTTPLoginControlCharacters: a NUL in the email is wrong credentials
// (401), not a database error (500).
func TestHTTPLoginControlCharacters(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/login", body: `{"email":"ada\u0000@example.com","password":"12345678"}`})
	wantStatus(t, res, body, http.StatusUnauthorized)
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	cases := []struct {
		name string
		c    call
		want int
	}{
		{"invalid fields", call{method: "POST", path: "/api/identity/register", body: `{"email":"x","password":"short","name":" "}`}, 422},
		{"role cannot be set", call{method: "POST", path: "/api/identity/register", body: `{"email":"a@b.example","password":"12345678","name":"A","role":"admin"}`}, 422},
		{"wrong content type", call{method: "POST", path: "/api/identity/register", body: `{}`, contentType: "text/plain"}, 415},
		{"malformed", call{method: "POST", path: "/api/identity/login", body: `{"email":`}, 400},
		{"wrong credentials", call{method: "POST", path: "/api/identity/login", body: `{"email":"nobody@example.com","password":"12345678"}`}, 401},
		{"me anonymous", call{method: "GET", path: "/api/identity/me"}, 401},
		{"bogus token", call{method: "GET", path: "/api/identity/me", token: "bogus"}, 401},
	}
	for _, tc := range cases {
		res, body := do(t, ts, tc.c)
		if res.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d; body %v", tc.name, res.StatusCode, tc.want, body)
		}
	}
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/register", body: `{"email":"x","password":"short","name":" "}`})
	if errs, _ := body["errors"].([]any); len(errs) != 3 || res.StatusCode != 422 {
		t.Errorf("422 body names %v, want email, password and name", body["errors"])
	}
}

func TestHTTPRateLimited(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	login := `{"email":"` + identitytest.Email("rl") + `","password":"12345678"}`
	var res *http.Response
	var body map[string]any
	for range 6 { // default: 5 failures per account
		res, body = do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	}
	wantStatus(t, res, body, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}
