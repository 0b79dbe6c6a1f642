package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/logging"
)

// begin gives a request, first of all, what the rest of the chain and the
// handler find in its context: its id (the X-Request-ID a proxy sent, or
// a new one), sent back in the response's X-Request-ID and carried by its
// log lines, which name the route's module once the route's handler chain
// starts (see Router.Add); its span (see requestSpans); and its deadline,
// timeout from now. One copy of the request carries them all: set one
// middleware after the other, they would copy it three times more. The
// deadline's errors are told apart further in (see deadlineErrors).
func (s *Server) begin(timeout time.Duration) echo.MiddlewareFunc {
	spans := s.requestSpans()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			id := r.Header.Get(echo.HeaderXRequestID)
			if id == "" {
				id = newRequestID()
			}
			c.Response().Header()[requestIDHeader] = []string{id}
			ctx, span := spans.start(c, logging.WithRequest(r.Context(), id))
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			c.SetRequest(r.WithContext(ctx))
			if span == nil {
				return next(c)
			}
			defer span.End()
			err := next(c)
			spans.finish(c, span)
			return err
		}
	}
}

var requestIDHeader = http.CanonicalHeaderKey(echo.HeaderXRequestID)

// requestIDAlphabet and requestIDLength make ids like echo's: 32 letters.
const (
	requestIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	requestIDLength   = 32
)

// newRequestID returns a random request id: requestIDLength letters of
// requestIDAlphabet, each as likely as the others (a random byte past the
// largest multiple of the alphabet's length is skipped).
func newRequestID() string {
	const limit = 256 / len(requestIDAlphabet) * len(requestIDAlphabet)
	var id [requestIDLength]byte
	var random [requestIDLength + requestIDLength/4]byte
	for n := 0; ; {
		_, _ = rand.Read(random[:]) // never fails
		for _, b := range random {
			if int(b) >= limit {
				continue
			}
			id[n] = requestIDAlphabet[int(b)%len(requestIDAlphabet)]
			if n++; n == len(id) {
				return string(id[:])
			}
		}
	}
}

// deadlineErrors marks the errors of the rest of the chain that the
// request's deadline caused (see pastDeadline).
func deadlineErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			return pastDeadline(err, c.Request().Context())
		}
		return nil
	}
}

// observe logs each request and records its metrics once the response is known.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the problem now so the status below is the real one
		}
		// The module of the route's handler chain, once it started (see
		// Router.Add); none when a middleware refused the request first.
		ctx := c.Request().Context()
		module := logging.Module(ctx)
		route := c.Path()
		status := c.Response().Status
		elapsed := time.Since(start)
		s.metrics.ObserveHTTP(module, route, c.Request().Method, status, elapsed)

		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		// Attributes, not key-value arguments, and only when the line is
		// written: a request line costs no allocation of its own when its
		// level is off.
		if !s.log.Enabled(ctx, level) {
			return nil
		}
		s.log.LogAttrs(ctx, level, "request",
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("elapsed", elapsed),
			slog.String("ip", c.RealIP()))
		return nil
	}
}

// contentSecurityPolicy is sent with every response. Scripts come only from
// the shop's own files (no inline script); forms may post only to the shop
// and a <base> element cannot redirect relative URLs elsewhere.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// The security headers of every response, and Strict-Transport-Security of
// those over HTTPS. Each value is one slice shared by every response, set
// into the header map as it is: Header.Set would allocate a slice per header
// and request. Nothing writes into a header's slice in place (Add appends
// past its capacity, so to a copy).
var (
	securityHeaderValues = []struct {
		name  string
		value []string
	}{
		{http.CanonicalHeaderKey(echo.HeaderXXSSProtection), []string{"0"}},
		{http.CanonicalHeaderKey(echo.HeaderXContentTypeOptions), []string{"nosniff"}},
		{http.CanonicalHeaderKey(echo.HeaderXFrameOptions), []string{"DENY"}},
		{http.CanonicalHeaderKey(echo.HeaderContentSecurityPolicy), []string{contentSecurityPolicy}},
		{http.CanonicalHeaderKey(echo.HeaderReferrerPolicy), []string{"strict-origin-when-cross-origin"}},
	}
	hstsName  = http.CanonicalHeaderKey(echo.HeaderStrictTransportSecurity)
	hstsValue = []string{"max-age=31536000; includeSubdomains"}
)

// securityHeaders sets the security headers on every response, before the
// handler runs, so that error responses carry them too.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		for _, sh := range securityHeaderValues {
			h[sh.name] = sh.value[:1:1]
		}
		if c.Scheme() == "https" {
			h[hstsName] = hstsValue[:1:1]
		}
		return next(c)
	}
}

// authenticate resolves a bearer token or the session cookie into a Principal.
// An absent or invalid token leaves the request anonymous; routes that need a
// user say so with RequireUser or RequireRole. A forwarded route is left to
// the process it goes to, which authenticates it itself. An authenticator
// that says more than the principal (auth.ContextAuthenticator) sets the
// request's context.
func (s *Server) authenticate(authn auth.Authenticator) echo.MiddlewareFunc {
	withSession := func(ctx context.Context, token string) (context.Context, error) {
		p, err := authn.Authenticate(ctx, token)
		return auth.WithPrincipal(ctx, p), err
	}
	if ca, ok := authn.(auth.ContextAuthenticator); ok {
		withSession = ca.WithSession
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token := SessionToken(c.Request(), s.cookie)
			if token == "" || s.forwarded(c) {
				return next(c)
			}
			ctx, err := withSession(c.Request().Context(), token)
			switch {
			case err == nil:
				c.SetRequest(c.Request().WithContext(ctx))
			case errs.Is(err, errs.KindUnauthenticated):
			default:
				return err
			}
			return next(c)
		}
	}
}

// forwarded reports whether the request's route is served by forwarding it
// to another process.
func (s *Server) forwarded(c echo.Context) bool {
	r, ok := s.docs.lookup(c.Request().Method, c.Path())
	return ok && r.forwarded
}

// SessionToken returns the bearer token of the Authorization header, or else
// the session cookie's value.
func SessionToken(r *http.Request, cookie string) string {
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	if c, err := r.Cookie(cookie); err == nil {
		return c.Value
	}
	return ""
}

// noStore keeps out of every cache (browser, proxy, CDN) the responses that
// may carry personal data or a token: those to a request with a session
// (a bearer token or the session cookie, valid or not) and those to an
// unsafe method, such as login's, whose body holds the new token. It is set
// before the handler runs, so error responses carry it too. Anonymous reads
// (the catalog) stay cacheable.
func noStore(cookie string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			_, cookieErr := r.Cookie(cookie)
			if r.Header.Get(echo.HeaderAuthorization) != "" || cookieErr == nil || !safeMethod(r.Method) {
				c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			}
			return next(c)
		}
	}
}

// safeMethod reports whether a method only reads (RFC 9110 §9.2.1).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// RequireUser rejects anonymous requests with 401.
func RequireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := auth.RequireUser(c.Request().Context()); err != nil {
			return err
		}
		return next(c)
	}
}

// RequireRole rejects anonymous requests with 401 and other roles with 403.
func RequireRole(role auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if _, err := auth.RequireRole(c.Request().Context(), role); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// bodyLimit answers 413 when the declared length exceeds limit and caps what
// a handler can read when the length is not declared.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return errs.E(errs.KindTooLarge, "the request body is larger than %d bytes", limit)
			}
			if r.Body != http.NoBody { // a request without a body has nothing to cap
				r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			}
			return next(c)
		}
	}
}
