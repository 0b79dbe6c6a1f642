package identitymodule_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// httpServer serves the identity routes behind the real HTTP edge.
func httpServer(t *testing.T, secure bool) *httptest.Server {
	t.Helper()
	ts, _ := httpShop(t, func(a *config.Auth) { a.CookieSecure = &secure })
	return ts
}

// httpShop is httpServer with settings of the test's choosing, and the
// module behind it. The server stands behind a trusted proxy: a call's
// clientIP, sent as X-Forwarded-For, is the client address.
func httpShop(t *testing.T, edit func(*config.Auth)) (*httptest.Server, *identitymodule.Module) {
	t.Helper()
	cfg := testConfig(t, edit)
	mod := newModule(t, dbtestDatabases(t), cfg, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), mod.Authenticator(), nil)
	srv.Echo.IPExtractor = echo.ExtractIPFromXFFHeader()
	mod.Routes(srv.Router("identity"))
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return ts, mod
}

type call struct {
	method, path, body, token string
	cookie                    *http.Cookie
	contentType               string
	clientIP                  string
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
	if c.clientIP != "" {
		req.Header.Set("X-Forwarded-For", c.clientIP)
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

	res, body := do(t, ts, call{method: "POST", path: "/api/identity/register", body: reg})
	wantStatus(t, res, body, http.StatusAccepted)

	login := `{"email":"` + email + `","password":"` + password + `"}`
	res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	wantStatus(t, res, sess, http.StatusOK)
	user, _ := sess["user"].(map[string]any)
	if user["email"] != email || user["role"] != "customer" || user["id"] == "" || user["created_at"] == nil {
		t.Errorf("registered user %v", user)
	}
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
	res, body = do(t, ts, call{method: "GET", path: "/api/identity/me", token: token})
	wantStatus(t, res, body, http.StatusUnauthorized)
}

// signUp registers a new customer and returns the body that signs them in.
func signUp(t *testing.T, ts *httptest.Server, prefix string) (login string) {
	t.Helper()
	email := identitytest.Email(prefix)
	res, body := do(t, ts, call{method: "POST", path: "/api/identity/register", body: `{"email":"` + email + `","password":"` + password + `","name":"Ada"}`})
	wantStatus(t, res, body, http.StatusAccepted)
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

// TestHTTPLogout: logout revokes the presented session and clears the
// cookie only when the cookie was it. Without a session it changes nothing,
// and sets no cookie: a cross-site form, which carries no cookie, cannot
// sign the browser out.
func TestHTTPLogout(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	login := signUp(t, ts, "out")
	open := func() (string, *http.Cookie) {
		res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
		wantStatus(t, res, sess, http.StatusOK)
		return sess["token"].(string), sessionCookie(t, res)
	}
	bearer, _ := open()
	_, cookie := open()
	cases := []struct {
		name        string
		c           call
		clearCookie bool
		revoked     call // a call with the presented session, now refused
	}{
		{"no session", call{}, false, call{}},
		{"malformed bearer token", call{token: "bogus"}, false, call{}},
		{"bearer token", call{token: bearer}, false, call{token: bearer}},
		{"cookie", call{cookie: cookie}, true, call{cookie: cookie}},
		{"revoked cookie again", call{cookie: cookie}, true, call{}},
	}
	for _, tc := range cases {
		tc.c.method, tc.c.path = "POST", "/api/identity/logout"
		res, body := do(t, ts, tc.c)
		wantStatus(t, res, body, http.StatusNoContent)
		cookies := res.Header.Values("Set-Cookie")
		switch {
		case tc.clearCookie && (len(cookies) != 1 || sessionCookie(t, res).MaxAge >= 0 || sessionCookie(t, res).Value != ""):
			t.Errorf("%s: Set-Cookie %v, want the session cookie cleared", tc.name, cookies)
		case !tc.clearCookie && len(cookies) != 0:
			t.Errorf("%s: Set-Cookie %v, want none", tc.name, cookies)
		}
		if tc.revoked.token != "" || tc.revoked.cookie != nil {
			tc.revoked.method, tc.revoked.path = "GET", "/api/identity/me"
			res, body := do(t, ts, tc.revoked)
			wantStatus(t, res, body, http.StatusUnauthorized)
		}
	}
}

// TestHTTPRegisterDoesNotRevealAccounts: a new address and a taken one get
// the same status and body (no id of the existing user); the account of the
// taken address is unchanged.
func TestHTTPRegisterDoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	email := identitytest.Email("twice")
	answer := func(name, pw string) (int, map[string]any) {
		res, body := do(t, ts, call{method: "POST", path: "/api/identity/register",
			body: `{"email":" ` + strings.ToUpper(email) + `","password":"` + pw + `","name":"` + name + `"}`})
		return res.StatusCode, body
	}
	newStatus, newBody := answer("Ada", password)
	takenStatus, takenBody := answer("Eve", "eve's own password")
	if newStatus != http.StatusAccepted || takenStatus != newStatus {
		t.Fatalf("statuses %d (new) and %d (taken), want both 202", newStatus, takenStatus)
	}
	if !reflect.DeepEqual(newBody, takenBody) {
		t.Errorf("bodies differ: new %v, taken %v", newBody, takenBody)
	}
	if keys := slices.Sorted(maps.Keys(newBody)); !slices.Equal(keys, []string{"email", "message"}) || newBody["email"] != email {
		t.Errorf("body %v, want only the normalised email and a message", newBody)
	}
	res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: `{"email":"` + email + `","password":"` + password + `"}`})
	wantStatus(t, res, sess, http.StatusOK)
	if u, _ := sess["user"].(map[string]any); u["name"] != "Ada" {
		t.Errorf("the account after a repeated sign-up: %v", u)
	}
}

// TestHTTPRegisterRateLimited: past the limit a client IP gets 429 with
// Retry-After; another IP still signs up.
func TestHTTPRegisterRateLimited(t *testing.T) {
	t.Parallel()
	ts, _ := httpShop(t, func(a *config.Auth) { a.RegisterPerIP = 2 })
	signUpFrom := func(ip string) *http.Response {
		res, _ := do(t, ts, call{method: "POST", path: "/api/identity/register", clientIP: ip,
			body: `{"email":"` + identitytest.Email("many") + `","password":"` + password + `","name":"Ada"}`})
		return res
	}
	for i := range 2 {
		if res := signUpFrom("203.0.113.5"); res.StatusCode != http.StatusAccepted {
			t.Fatalf("sign-up %d: %d", i+1, res.StatusCode)
		}
	}
	res := signUpFrom("203.0.113.5")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("third sign-up: %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if res := signUpFrom("203.0.113.6"); res.StatusCode != http.StatusAccepted {
		t.Errorf("sign-up from another IP: %d, want 202", res.StatusCode)
	}
}

// TestHTTPLoginSuccessesDoNotLockOut: successful logins from one address
// never reach the per-IP limit; failures do.
func TestHTTPLoginSuccessesDoNotLockOut(t *testing.T) {
	t.Parallel()
	ts, _ := httpShop(t, func(a *config.Auth) { a.LoginPerIP = 3 })
	login := signUp(t, ts, "many")
	for i := range 10 {
		res, body := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login, clientIP: "203.0.113.9"})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("successful login %d: %d %v", i+1, res.StatusCode, body)
		}
	}
	var res *http.Response
	for range 4 {
		res, _ = do(t, ts, call{method: "POST", path: "/api/identity/login", clientIP: "203.0.113.9",
			body: `{"email":"` + identitytest.Email("nobody") + `","password":"12345678"}`})
	}
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("fourth failure: %d, want 429 with Retry-After", res.StatusCode)
	}
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

// signIn signs in with a login body and returns the token and the cookie.
func signIn(t *testing.T, ts *httptest.Server, login string) (string, *http.Cookie) {
	t.Helper()
	res, sess := do(t, ts, call{method: "POST", path: "/api/identity/login", body: login})
	wantStatus(t, res, sess, http.StatusOK)
	return sess["token"].(string), sessionCookie(t, res)
}

func wantMe(t *testing.T, ts *httptest.Server, c call, want int) {
	t.Helper()
	c.method, c.path = "GET", "/api/identity/me"
	res, body := do(t, ts, c)
	wantStatus(t, res, body, want)
}

// TestHTTPSignOutEverywhere: every session of the user ends, the current one
// included, and its cookie is cleared; other users keep theirs.
func TestHTTPSignOutEverywhere(t *testing.T) {
	t.Parallel()
	ts := httpServer(t, false)
	login := signUp(t, ts, "everywhere")
	bearer, _ := signIn(t, ts, login)
	_, cookie := signIn(t, ts, login)
	other, _ := signIn(t, ts, signUp(t, ts, "other"))
	res, body := do(t, ts, call{method: "DELETE", path: "/api/identity/sessions", cookie: cookie})
	wantStatus(t, res, body, http.StatusNoContent)
	if cleared := sessionCookie(t, res); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("cookie %+v not cleared", cleared)
	}
	wantMe(t, ts, call{cookie: cookie}, http.StatusUnauthorized)
	wantMe(t, ts, call{token: bearer}, http.StatusUnauthorized)
	wantMe(t, ts, call{token: other}, http.StatusOK)
}

// TestHTTPChangePassword: the session the change is made in stays, every
// other ends; a wrong current password is 422 naming it and counts as a
// failed login of the account (429 past the limit).
func TestHTTPChangePassword(t *testing.T) {
	t.Parallel()
	ts, _ := httpShop(t, func(a *config.Auth) { a.LoginPerAccount = 2 })
	login := signUp(t, ts, "passwd")
	current, _ := signIn(t, ts, login)
	other, _ := signIn(t, ts, login)
	change := func(cur string) (*http.Response, map[string]any) {
		return do(t, ts, call{method: "PUT", path: "/api/identity/password", token: current,
			body: `{"current_password":"` + cur + `","new_password":"a brand new password"}`})
	}
	res, body := change("not my password")
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
	if errs, _ := body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "current_password" {
		t.Errorf("422 names %v, want current_password", body["errors"])
	}
	res, body = change(password)
	wantStatus(t, res, body, http.StatusNoContent)
	wantMe(t, ts, call{token: current}, http.StatusOK)
	wantMe(t, ts, call{token: other}, http.StatusUnauthorized)

	for range 3 { // the success reset the count: two failures, then the limit
		res, body = change("not my password")
	}
	wantStatus(t, res, body, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// TestHTTPAdminRoutes: an admin ends a user's sessions and changes their
// role (which ends them too); an admin's own role is 409; customers get 403.
func TestHTTPAdminRoutes(t *testing.T) {
	t.Parallel()
	ts, mod := httpShop(t, nil)
	root := identitytest.Email("root")
	if created, err := mod.API().EnsureAdmin(t.Context(), root, password); err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v", created, err)
	}
	admin, _ := signIn(t, ts, `{"email":"`+root+`","password":"`+password+`"}`)
	login := signUp(t, ts, "cust")
	customer, _ := signIn(t, ts, login)
	res, me := do(t, ts, call{method: "GET", path: "/api/identity/me", token: customer})
	wantStatus(t, res, me, http.StatusOK)
	res, adminMe := do(t, ts, call{method: "GET", path: "/api/identity/me", token: admin})
	wantStatus(t, res, adminMe, http.StatusOK)
	id, adminID := me["id"].(string), adminMe["id"].(string)

	for _, c := range []call{
		{method: "DELETE", path: "/api/identity/users/" + adminID + "/sessions"},
		{method: "PUT", path: "/api/identity/users/" + id + "/role", body: `{"role":"admin"}`},
	} {
		c.token = customer
		res, body := do(t, ts, c)
		wantStatus(t, res, body, http.StatusForbidden)
	}

	res, body := do(t, ts, call{method: "DELETE", path: "/api/identity/users/" + id + "/sessions", token: admin})
	wantStatus(t, res, body, http.StatusNoContent)
	wantMe(t, ts, call{token: customer}, http.StatusUnauthorized)

	customer, _ = signIn(t, ts, login)
	res, body = do(t, ts, call{method: "PUT", path: "/api/identity/users/" + id + "/role", token: admin, body: `{"role":"admin"}`})
	wantStatus(t, res, body, http.StatusOK)
	if body["role"] != "admin" || body["id"] != id {
		t.Errorf("role change answered %v", body)
	}
	wantMe(t, ts, call{token: customer}, http.StatusUnauthorized)

	res, body = do(t, ts, call{method: "PUT", path: "/api/identity/users/" + adminID + "/role", token: admin, body: `{"role":"customer"}`})
	wantStatus(t, res, body, http.StatusConflict)
	if detail, _ := body["detail"].(string); !strings.Contains(detail, "own role") {
		t.Errorf("409 detail %q does not say why", detail)
	}
	res, body = do(t, ts, call{method: "PUT", path: "/api/identity/users/" + id + "/role", token: admin, body: `{"role":"root"}`})
	wantStatus(t, res, body, http.StatusUnprocessableEntity)
}
