package httpapi_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/metrics"
)

// fakeAuthenticator maps tokens to principals through a function field.
type fakeAuthenticator struct {
	authenticate func(ctx context.Context, token string) (auth.Principal, error)
}

var _ auth.Authenticator = (*fakeAuthenticator)(nil)

func (f *fakeAuthenticator) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	return f.authenticate(ctx, token)
}

var principals = map[string]auth.Principal{
	"customer-token": {UserID: "u-customer", Role: auth.RoleCustomer},
	"admin-token":    {UserID: "u-admin", Role: auth.RoleAdmin},
}

func tokenAuthenticator() *fakeAuthenticator {
	return &fakeAuthenticator{authenticate: func(_ context.Context, token string) (auth.Principal, error) {
		if token == "identity-down" {
			return auth.Principal{}, errs.E(errs.KindUnavailable, "identity is down")
		}
		p, ok := principals[token]
		if !ok {
			return auth.Principal{}, errs.E(errs.KindUnauthenticated, "unknown session")
		}
		return p, nil
	}}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type createReq struct {
	Name     string   `json:"name" validate:"required"`
	Quantity int      `json:"quantity" validate:"min=1"`
	Tags     []string `json:"tags" validate:"max=2"`
	Address  struct {
		Zip string `json:"zip" validate:"omitempty,len=5"`
	} `json:"address"`
}

type testServer struct {
	srv  *httpapi.Server
	logs *syncBuffer
}

func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// newServer builds the edge with test routes registered for module "testmod".
func newServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	base := map[string]string{
		"SHOP_HTTP_BODY_LIMIT_BYTES": "1024",
		"SHOP_HTTP_REQUEST_TIMEOUT":  "5s",
		"SHOP_HTTP_CORS_ORIGINS":     "https://shop.example",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg := testConfig(t, base)
	logs := &syncBuffer{}
	log := logging.New(logs, "json", "debug")
	srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), tokenAuthenticator(), nil)

	r := srv.Router("testmod")
	r.GET("/things/:id", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
	})
	r.POST("/things", func(c echo.Context) error {
		var req createReq
		if err := r.Bind(c, &req); err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, req)
	})
	r.GET("/panic", func(echo.Context) error { panic("handler exploded") })
	r.GET("/slow", func(c echo.Context) error {
		<-c.Request().Context().Done() // returns only when the request deadline passes
		return c.Request().Context().Err()
	})
	// A query cut short by the deadline may report only a closed connection.
	r.GET("/slow-bad-conn", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return errs.Internal(driver.ErrBadConn, "insert order")
	})
	r.GET("/slow-conflict", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return errs.E(errs.KindConflict, "already shipped")
	})
	r.GET("/kind/:kind", func(c echo.Context) error {
		return errs.E(errs.ParseKind(c.Param("kind")), "detail for %s", c.Param("kind"))
	})
	r.GET("/internal", func(echo.Context) error {
		return errs.Internal(errors.New("secret connection string"), "load thing")
	})
	r.GET("/refused/:code", func(c echo.Context) error {
		return fmt.Errorf("query: %w", sqlStateError(c.Param("code")))
	})
	r.GET("/refused-in-module/:code", func(c echo.Context) error {
		return errs.Internal(fmt.Errorf("query: %w", sqlStateError(c.Param("code"))), "load thing")
	})
	r.GET("/plain-error", func(echo.Context) error { return errors.New("secret plain failure") })
	r.GET("/ratelimited", func(echo.Context) error {
		return &errs.Error{Kind: errs.KindRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}
	})
	who := func(c echo.Context) error {
		p, ok := auth.FromContext(c.Request().Context())
		if !ok {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.String(http.StatusOK, p.UserID)
	}
	act := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r.Add(m, "/act", act)
	}
	r.GET("/ip", func(c echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })
	r.GET("/public", who)
	r.GET("/me", who, httpapi.RequireUser)
	r.GET("/admin", who, httpapi.RequireRole(auth.RoleAdmin))
	return &testServer{srv: srv, logs: logs}
}

func (s *testServer) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.srv.Echo.ServeHTTP(rec, req)
	return rec
}

func (s *testServer) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	return s.do(t, httptest.NewRequest(http.MethodGet, path, nil))
}

func postJSON(path string, body io.Reader) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, body)
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	return req
}

// problem checks the response is a well-formed problem with the given status.
func problem(t *testing.T, rec *httptest.ResponseRecorder, status int) httpapi.Problem {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get(echo.HeaderContentType); ct != httpapi.ProblemContentType {
		t.Errorf("Content-Type = %q, want %q", ct, httpapi.ProblemContentType)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body.String(), err)
	}
	if p.Status != status {
		t.Errorf("problem status = %d, want %d", p.Status, status)
	}
	if p.Kind == "" || p.Detail == "" || p.Type == "" || p.Title == "" {
		t.Errorf("problem lacks kind, detail, type or title: %+v", p)
	}
	rid := rec.Header().Get(echo.HeaderXRequestID)
	if p.RequestID == "" || p.RequestID != rid {
		t.Errorf("problem request_id = %q, X-Request-ID = %q; want equal and set", p.RequestID, rid)
	}
	return p
}

func fieldRules(p httpapi.Problem) map[string]string {
	m := map[string]string{}
	for _, f := range p.Errors {
		m[f.Field] = f.Rule
	}
	return m
}

func TestErrorsAreProblems(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	long := `{"name":"` + strings.Repeat("a", 2048) + `","quantity":1}`
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		kind   string
		fields map[string]string // field → rule, when the problem lists fields
	}{
		{"unknown route", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/nope", nil) }, 404, "not_found", nil},
		{"wrong method", func() *http.Request { return httptest.NewRequest(http.MethodDelete, "/things/1", nil) }, 405, "method_not_allowed", nil},
		{"body over limit with length", func() *http.Request { return postJSON("/things", strings.NewReader(long)) }, 413, "too_large", nil},
		{"body over limit chunked", func() *http.Request {
			req := postJSON("/things", io.MultiReader(strings.NewReader(long))) // not a sized reader: no Content-Length
			if req.ContentLength != -1 {
				t.Fatalf("ContentLength = %d, want -1 (unknown)", req.ContentLength)
			}
			return req
		}, 413, "too_large", nil},
		{"trailing data over limit chunked", func() *http.Request {
			return postJSON("/things", io.MultiReader(strings.NewReader(`{"name":"a","quantity":1}`+strings.Repeat(" ", 2048))))
		}, 413, "too_large", nil},
		{"wrong content type", func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"name":"a","quantity":1}`))
			req.Header.Set(echo.HeaderContentType, "text/plain")
			return req
		}, 415, "unsupported_media_type", nil},
		{"no content type", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"name":"a","quantity":1}`))
		}, 415, "unsupported_media_type", nil},
		{"malformed JSON", func() *http.Request { return postJSON("/things", strings.NewReader(`{"name": nope}`)) }, 400, "malformed", nil},
		{"truncated JSON", func() *http.Request { return postJSON("/things", strings.NewReader(`{"name": "a"`)) }, 400, "malformed", nil},
		{"empty body", func() *http.Request { return postJSON("/things", strings.NewReader("")) }, 400, "malformed", nil},
		{"two JSON values", func() *http.Request {
			return postJSON("/things", strings.NewReader(`{"name":"a","quantity":1} {"name":"b","quantity":1}`))
		}, 400, "malformed", nil},
		{"not an object", func() *http.Request { return postJSON("/things", strings.NewReader(`[1,2]`)) }, 400, "malformed", nil},
		{"unknown field", func() *http.Request {
			return postJSON("/things", strings.NewReader(`{"name":"a","quantity":1,"colour":"red"}`))
		}, 422, "invalid", map[string]string{"colour": "unknown"}},
		{"wrong type", func() *http.Request {
			return postJSON("/things", strings.NewReader(`{"name":"a","quantity":"many"}`))
		}, 422, "invalid", map[string]string{"quantity": "type"}},
		{"wrong nested type", func() *http.Request {
			return postJSON("/things", strings.NewReader(`{"name":"a","quantity":1,"address":{"zip":12345}}`))
		}, 422, "invalid", map[string]string{"address.zip": "type"}},
		{"validation rules", func() *http.Request {
			return postJSON("/things", strings.NewReader(`{"quantity":0,"tags":["a","b","c"],"address":{"zip":"123"}}`))
		}, 422, "invalid", map[string]string{"name": "required", "quantity": "min", "tags": "max", "address.zip": "len"}},
		{"panic", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/panic", nil) }, 500, "internal", nil},
		{"authenticator failure", func() *http.Request {
			req := httptest.NewRequest(http.MethodGet, "/public", nil)
			req.Header.Set(echo.HeaderAuthorization, "Bearer identity-down")
			return req
		}, 503, "unavailable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := problem(t, s.do(t, tt.req()), tt.status)
			if p.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", p.Kind, tt.kind)
			}
			got := fieldRules(p)
			if len(got) != len(tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
			for field, rule := range tt.fields {
				if got[field] != rule {
					t.Errorf("field %q rule = %q, want %q (fields %v)", field, got[field], rule, got)
				}
			}
			for _, f := range p.Errors {
				if f.Message == "" {
					t.Errorf("field %q has no message", f.Field)
				}
			}
		})
	}
}

func TestValidBodyIsBound(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	rec := s.do(t, postJSON("/things", strings.NewReader(`{"name":"lamp","quantity":2,"tags":["x"],"address":{"zip":"12345"}}`)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, body %s", rec.Code, rec.Body.String())
	}
	var got createReq
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "lamp" || got.Quantity != 2 || got.Address.Zip != "12345" {
		t.Errorf("bound %+v", got)
	}
	// A +json media type with parameters is JSON too.
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"name":"lamp","quantity":1}`))
	req.Header.Set(echo.HeaderContentType, "application/merge-patch+json; charset=utf-8")
	if rec := s.do(t, req); rec.Code != http.StatusCreated {
		t.Errorf("+json body: status = %d, body %s", rec.Code, rec.Body.String())
	}
}

func TestPanicIsLoggedAndServerKeepsServing(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	p := problem(t, s.get(t, "/panic"), http.StatusInternalServerError)
	if strings.Contains(p.Detail, "exploded") {
		t.Errorf("panic value leaked to the client: %q", p.Detail)
	}
	if !strings.Contains(s.logs.String(), "handler exploded") {
		t.Errorf("panic not logged:\n%s", s.logs.String())
	}
	if rec := s.get(t, "/things/1"); rec.Code != http.StatusOK {
		t.Errorf("after a panic: status = %d", rec.Code)
	}
}

func TestRequestTimeoutIs503(t *testing.T) {
	t.Parallel()
	s := newServer(t, map[string]string{"SHOP_HTTP_REQUEST_TIMEOUT": "50ms"})
	rec := s.get(t, "/slow")
	p := problem(t, rec, http.StatusServiceUnavailable)
	if p.Kind != "unavailable" {
		t.Errorf("kind = %q, want unavailable", p.Kind)
	}
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
}

// An unexpected error after the request's deadline passed is the deadline's
// doing (503 with Retry-After); an error of another kind stands.
func TestErrorPastTheDeadlineIs503(t *testing.T) {
	t.Parallel()
	s := newServer(t, map[string]string{"SHOP_HTTP_REQUEST_TIMEOUT": "50ms"})
	rec := s.get(t, "/slow-bad-conn")
	if p := problem(t, rec, http.StatusServiceUnavailable); p.Kind != "unavailable" {
		t.Errorf("kind = %q, want unavailable", p.Kind)
	}
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	problem(t, s.get(t, "/slow-conflict"), http.StatusConflict)
}

// sqlStateError stands for a driver error carrying a SQLSTATE (pgconn.PgError).
type sqlStateError string

func (e sqlStateError) Error() string    { return "server refused: " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestDatabaseAtCapacityIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, path := range []string{"/refused/53300", "/refused/57P03", "/refused-in-module/53300"} {
		t.Run(path, func(t *testing.T) {
			rec := s.get(t, path)
			p := problem(t, rec, http.StatusServiceUnavailable)
			if p.Kind != "unavailable" {
				t.Errorf("kind = %q, want unavailable", p.Kind)
			}
			if got := rec.Header().Get("Retry-After"); got != "2" {
				t.Errorf("Retry-After = %q, want 2", got)
			}
		})
	}
	// Any other database failure stays an internal error.
	problem(t, s.get(t, "/refused/42P01"), http.StatusInternalServerError)
}

func TestKindsMapToStatuses(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	tests := []struct {
		kind   errs.Kind
		status int
	}{
		{errs.KindInvalid, 422},
		{errs.KindNotFound, 404},
		{errs.KindConflict, 409},
		{errs.KindUnauthenticated, 401},
		{errs.KindForbidden, 403},
		{errs.KindRateLimited, 429},
		{errs.KindUnavailable, 503},
		{errs.KindTooLarge, 413},
		{errs.KindUnsupportedMedia, 415},
		{errs.KindMalformed, 400},
		{errs.KindInternal, 500},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			t.Parallel()
			if got := httpapi.StatusOf(tt.kind); got != tt.status {
				t.Errorf("StatusOf(%v) = %d, want %d", tt.kind, got, tt.status)
			}
			if got := httpapi.KindOfStatus(tt.status); got != tt.kind {
				t.Errorf("KindOfStatus(%d) = %v, want %v", tt.status, got, tt.kind)
			}
			p := problem(t, s.get(t, "/kind/"+tt.kind.String()), tt.status)
			if p.Kind != tt.kind.String() {
				t.Errorf("problem kind = %q, want %q", p.Kind, tt.kind)
			}
			if p.Type != "/problems/"+strings.ReplaceAll(tt.kind.String(), "_", "-") {
				t.Errorf("problem type = %q", p.Type)
			}
			wantDetail := "detail for " + tt.kind.String()
			if tt.kind == errs.KindInternal {
				wantDetail = "an unexpected error occurred"
			}
			if p.Detail != wantDetail {
				t.Errorf("detail = %q, want %q", p.Detail, wantDetail)
			}
		})
	}
}

func TestInternalErrorsAreHiddenAndLogged(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/internal", "/plain-error"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, nil)
			rec := s.get(t, path)
			p := problem(t, rec, http.StatusInternalServerError)
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("internal cause leaked: %s", rec.Body.String())
			}
			if p.Kind != "internal" {
				t.Errorf("kind = %q", p.Kind)
			}
			if !strings.Contains(s.logs.String(), "secret") {
				t.Errorf("internal cause not logged:\n%s", s.logs.String())
			}
		})
	}
}

func TestClientErrorsAreNotLoggedAsErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	problem(t, s.get(t, "/kind/not_found"), http.StatusNotFound)
	if strings.Contains(s.logs.String(), "request failed") {
		t.Errorf("a 404 was logged as a failure:\n%s", s.logs.String())
	}
}

func TestRateLimitedCarriesRetryAfter(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	rec := s.get(t, "/ratelimited")
	problem(t, rec, http.StatusTooManyRequests)
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", got)
	}
}

func TestHeadErrorHasNoBody(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	rec := s.do(t, httptest.NewRequest(http.MethodHead, "/nope", nil))
	if rec.Code != http.StatusNotFound || rec.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d body bytes, want 404 and none", rec.Code, rec.Body.Len())
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, path := range []string{"/things/1", "/nope"} {
		rec := s.get(t, path)
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
		}
		for h, v := range want {
			if got := rec.Header().Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", path, h, got, v)
			}
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q", path, csp)
		}
	}
}

// Strict-Transport-Security goes with HTTPS responses only; the headers'
// values, shared by every response, stay as they are when a handler adds
// to one of them.
func TestSecurityHeadersOverHTTPSAndAfterAnAdd(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	s.srv.Router("testmod").GET("/framed", func(c echo.Context) error {
		c.Response().Header().Add(echo.HeaderXFrameOptions, "SAMEORIGIN")
		return c.NoContent(http.StatusNoContent)
	})
	if v := s.get(t, "/framed").Header().Values(echo.HeaderXFrameOptions); !slices.Equal(v, []string{"DENY", "SAMEORIGIN"}) {
		t.Errorf("X-Frame-Options after the handler's Add = %q", v)
	}
	if v := s.get(t, "/things/1").Header().Values(echo.HeaderXFrameOptions); !slices.Equal(v, []string{"DENY"}) {
		t.Errorf("X-Frame-Options of the next response = %q, want only DENY", v)
	}
	if v := s.get(t, "/things/1").Header().Get(echo.HeaderStrictTransportSecurity); v != "" {
		t.Errorf("Strict-Transport-Security over HTTP = %q, want none", v)
	}
	rec := s.do(t, httptest.NewRequest(http.MethodGet, "https://example.com/things/1", nil))
	if v := rec.Header().Get(echo.HeaderStrictTransportSecurity); v != "max-age=31536000; includeSubdomains" {
		t.Errorf("Strict-Transport-Security over HTTPS = %q", v)
	}
	if v := rec.Header().Get(echo.HeaderXXSSProtection); v != "0" {
		t.Errorf("X-XSS-Protection = %q, want 0", v)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	tests := []struct {
		origin string
		want   string
	}{
		{"https://shop.example", "https://shop.example"},
		{"https://evil.example", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/things/1", nil)
		req.Header.Set(echo.HeaderOrigin, tt.origin)
		rec := s.do(t, req)
		if got := rec.Header().Get(echo.HeaderAccessControlAllowOrigin); got != tt.want {
			t.Errorf("origin %s: Access-Control-Allow-Origin = %q, want %q", tt.origin, got, tt.want)
		}
		if tt.want != "" && rec.Header().Get(echo.HeaderAccessControlAllowCredentials) != "true" {
			t.Errorf("origin %s: credentials not allowed", tt.origin)
		}
	}

	// Preflight from the allowed origin.
	req := httptest.NewRequest(http.MethodOptions, "/things", nil)
	req.Header.Set(echo.HeaderOrigin, "https://shop.example")
	req.Header.Set(echo.HeaderAccessControlRequestMethod, http.MethodPost)
	rec := s.do(t, req)
	if rec.Code != http.StatusNoContent || rec.Header().Get(echo.HeaderAccessControlAllowOrigin) != "https://shop.example" {
		t.Errorf("preflight = %d, allow-origin %q", rec.Code, rec.Header().Get(echo.HeaderAccessControlAllowOrigin))
	}
	if !strings.Contains(rec.Header().Get(echo.HeaderAccessControlAllowMethods), http.MethodPost) {
		t.Errorf("preflight allow-methods = %q", rec.Header().Get(echo.HeaderAccessControlAllowMethods))
	}
}

func TestNoCORSWithoutOrigins(t *testing.T) {
	t.Parallel()
	s := newServer(t, map[string]string{"SHOP_HTTP_CORS_ORIGINS": ""})
	req := httptest.NewRequest(http.MethodGet, "/things/1", nil)
	req.Header.Set(echo.HeaderOrigin, "https://shop.example")
	if got := s.do(t, req).Header().Get(echo.HeaderAccessControlAllowOrigin); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q with CORS disabled", got)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	a := s.get(t, "/things/1").Header().Get(echo.HeaderXRequestID)
	b := s.get(t, "/things/1").Header().Get(echo.HeaderXRequestID)
	if a == "" || b == "" || a == b {
		t.Errorf("X-Request-ID = %q then %q, want two distinct ids", a, b)
	}
	for _, id := range []string{a, b} {
		if !regexp.MustCompile(`^[A-Za-z]{32}$`).MatchString(id) {
			t.Errorf("X-Request-ID = %q, want 32 letters", id)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/things/1", nil)
	req.Header.Set(echo.HeaderXRequestID, "from-the-proxy")
	if got := s.do(t, req).Header().Get(echo.HeaderXRequestID); got != "from-the-proxy" {
		t.Errorf("X-Request-ID = %q, want the incoming one", got)
	}
	// The request log line carries the request id and the module.
	var found bool
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"request_id":"from-the-proxy"`) && strings.Contains(line, `"module":"testmod"`) && strings.Contains(line, `"route":"/things/:id"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log line with request_id, module and route:\n%s", s.logs.String())
	}
}

// bearer, cookie and none present a session token, or none, on a request.
func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(echo.HeaderAuthorization, "Bearer "+tok) }
}

func cookie(tok string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "shop_session", Value: tok}) }
}

func none(*http.Request) {}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	tests := []struct {
		name   string
		path   string
		auth   func(*http.Request)
		status int
		body   string // for 200
	}{
		{"bearer reaches authenticator", "/me", bearer("customer-token"), 200, "u-customer"},
		{"lower-case bearer scheme", "/me", func(r *http.Request) { r.Header.Set(echo.HeaderAuthorization, "bearer customer-token") }, 200, "u-customer"},
		{"cookie reaches authenticator", "/me", cookie("admin-token"), 200, "u-admin"},
		{"header wins over cookie", "/me", func(r *http.Request) { bearer("admin-token")(r); cookie("customer-token")(r) }, 200, "u-admin"},
		{"other cookie name ignored", "/me", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "other", Value: "admin-token"}) }, 401, ""},
		{"basic auth is not a session", "/me", func(r *http.Request) { r.SetBasicAuth("u", "admin-token") }, 401, ""},
		{"RequireUser without token", "/me", none, 401, ""},
		{"RequireUser with invalid token", "/me", bearer("forged"), 401, ""},
		{"RequireRole without token", "/admin", none, 401, ""},
		{"RequireRole admin as customer", "/admin", bearer("customer-token"), 403, ""},
		{"RequireRole admin as admin", "/admin", bearer("admin-token"), 200, "u-admin"},
		{"public route anonymous", "/public", none, 200, "anonymous"},
		{"public route with invalid token", "/public", bearer("forged"), 200, "anonymous"},
		{"public route with invalid cookie", "/public", cookie("forged"), 200, "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			tt.auth(req)
			rec := s.do(t, req)
			if tt.status != http.StatusOK {
				problem(t, rec, tt.status)
				return
			}
			if rec.Code != http.StatusOK || rec.Body.String() != tt.body {
				t.Errorf("got %d %q, want 200 %q", rec.Code, rec.Body.String(), tt.body)
			}
		})
	}
}

func TestNilAuthenticatorLeavesRequestsAnonymous(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, nil)
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	srv.Router("m").GET("/me", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, httpapi.RequireUser)
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set(echo.HeaderAuthorization, "Bearer anything")
	rec := httptest.NewRecorder()
	srv.Echo.ServeHTTP(rec, req)
	problem(t, rec, http.StatusUnauthorized)
}

func TestSessionToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		cookie string
		want   string
	}{
		{"bearer", "Bearer abc", "", "abc"},
		{"bearer with spaces", "Bearer   abc  ", "", "abc"},
		{"cookie", "", "xyz", "xyz"},
		{"other scheme blocks cookie", "Basic abc", "xyz", ""},
		{"neither", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set(echo.HeaderAuthorization, tt.header)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "sess", Value: tt.cookie})
			}
			if got := httpapi.SessionToken(req, "sess"); got != tt.want {
				t.Errorf("SessionToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for range 3 {
		if rec := s.get(t, "/things/42"); rec.Code != http.StatusOK {
			t.Fatalf("status = %d", rec.Code)
		}
	}
	s.get(t, "/panic")
	rec := s.get(t, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^shop_http_requests_total\{code="200",method="GET",module="testmod",route="/things/:id"\} 3$`),
		regexp.MustCompile(`(?m)^shop_http_requests_total\{code="500",method="GET",module="testmod",route="/panic"\} 1$`),
		regexp.MustCompile(`(?m)^shop_http_request_errors_total\{method="GET",module="testmod",route="/panic"\} 1$`),
		regexp.MustCompile(`(?m)^shop_http_request_duration_seconds_count\{method="GET",module="testmod",route="/things/:id"\} 3$`),
	}
	for _, re := range want {
		if !re.MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	if strings.Contains(body, `route="/things/42"`) {
		t.Error("route label holds the raw path, not the template")
	}
}

// With an ops address, metrics leave the public listener for their own,
// where the runtime's profiles are too (and only there).
func TestMetricsOnTheOpsListener(t *testing.T) {
	t.Parallel()
	s := newServer(t, map[string]string{"SHOP_HTTP_ADDR": "127.0.0.1:0", "SHOP_HTTP_OPS_ADDR": "127.0.0.1:0"})
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		if rec := s.get(t, path); rec.Code != http.StatusNotFound {
			t.Errorf("public %s = %d, want 404", path, rec.Code)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	listening := make(chan struct{})
	go func() { done <- s.srv.Run(ctx, func(net.Addr) { close(listening) }) }()
	<-listening
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/", "/debug/pprof/heap?debug=1"} {
		resp, err := http.Get("http://" + s.srv.OpsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (path == "/metrics" && !strings.Contains(string(body), "go_goroutines")) ||
			(path == "/debug/pprof/heap?debug=1" && !strings.Contains(string(body), "heap profile")) {
			t.Errorf("ops %s = %d %.80s", path, resp.StatusCode, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// In production /metrics is never on the public listener, even if a
// configuration without the operators' listener got past config.Validate;
// in development without one it is.
func TestMetricsAreNeverPublicInProduction(t *testing.T) {
	t.Parallel()
	prod := testConfig(t, map[string]string{
		"SHOP_ENV": "production", "DATABASE_URL": "postgres://db/shop",
		"SHOP_DB_ROLE_SECRET": "a-real-production-secret", "SHOP_HTTP_OPS_ADDR": "127.0.0.1:0",
	})
	prod.HTTP.OpsAddr = ""
	srv := httpapi.New(prod, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	rec := httptest.NewRecorder()
	srv.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("production public /metrics = %d, want 404", rec.Code)
	}
	if rec := newServer(t, nil).get(t, "/metrics"); rec.Code != http.StatusOK {
		t.Errorf("development public /metrics = %d, want 200", rec.Code)
	}
}
