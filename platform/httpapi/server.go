// Package httpapi is the HTTP edge of the process: an echo v4 server with
// request ids, recovery, body limits, deadlines, security headers, CORS,
// cross-origin protection of unsafe requests, no-store for responses with
// personal data, the client address from trusted proxies, request logs,
// metrics, authentication, and application/problem+json errors for every
// failure. Modules register routes through a Router, which tags
// each route with its module for logs and metrics.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/remote"
	"github.com/shopmonolith/shop/platform/tracing"
)

// Server is the HTTP edge.
type Server struct {
	// Echo serves the requests. Its middleware is put together once, in
	// New (see composed): middleware added later with Echo.Use would not
	// run; a route's own goes with the route (Router.Add).
	Echo      *echo.Echo
	Validator *Validator

	cfg     config.HTTP
	cookie  string
	log     *slog.Logger
	health  *health.State
	metrics *metrics.Metrics
	tracer  trace.TracerProvider
	docs    *docs
	opsAddr atomic.Value // string

	internal     http.Handler
	internalAddr atomic.Value // string
	edgeKeys     remote.Keys  // verify the requests forwarded here

	forwardOnce sync.Once
	transport   http.RoundTripper // to the processes forwarded routes go to
}

// composed is the middleware m, in order, put together once: echo wraps
// the handler in each of its middlewares on every request, a closure each,
// where this one wraps nothing and calls the matched route's handler
// (c.Handler(), the handler echo passes it) at the end of the chain.
func composed(m ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := chainOf(func(c echo.Context) error { return c.Handler()(c) }, m...)
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

// chainOf wraps h in the middleware m, the first outermost.
func chainOf(h echo.HandlerFunc, m ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return h
}

// New builds the echo instance with the whole middleware chain. authn may be
// nil (no authentication); it is usually the identity module. tp traces
// requests (nil: not traced).
func New(cfg config.Config, log *slog.Logger, h *health.State, m *metrics.Metrics, authn auth.Authenticator, tp trace.TracerProvider) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler(log)
	s := &Server{Echo: e, Validator: NewValidator(), cfg: cfg.HTTP, cookie: cfg.Auth.CookieName, log: log, health: h, metrics: m,
		tracer: tracing.Or(tp), docs: &docs{}}
	e.IPExtractor = forwardedClientOr(clientIP(cfg.HTTP.TrustedProxies, log))

	chain := []echo.MiddlewareFunc{
		s.begin(cfg.HTTP.RequestTimeout),
		s.observe,
		s.trustForwarded,
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				log.ErrorContext(c.Request().Context(), "panic", slog.String("error", err.Error()), slog.String("stack", string(stack)))
				return err
			},
		}),
		securityHeaders,
		noStore(cfg.Auth.CookieName),
	}
	if len(cfg.HTTP.CORSOrigins) > 0 {
		chain = append(chain, middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:     cfg.HTTP.CORSOrigins,
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders:     []string{echo.HeaderContentType, echo.HeaderAuthorization, "Idempotency-Key"},
			AllowCredentials: true,
			MaxAge:           600,
		}))
	}
	chain = append(chain,
		crossOrigin(cfg.HTTP.CORSOrigins, log),
		bodyLimit(cfg.HTTP.BodyLimitBytes),
		deadlineErrors)
	if authn != nil {
		chain = append(chain, s.authenticate(authn))
	}
	e.Use(composed(chain...))

	e.GET("/healthz", echo.WrapHandler(http.HandlerFunc(h.Live)))
	e.GET("/readyz", echo.WrapHandler(http.HandlerFunc(h.Ready)))
	// In production /metrics is never public: config.Validate requires the
	// operators' listener there.
	if cfg.HTTP.OpsAddr == "" && cfg.Env != config.EnvProduction {
		e.GET("/metrics", echo.WrapHandler(m.Handler()))
	}
	s.Router("platform").GET(OpenAPIPath, s.serveOpenAPI).Doc(Op{
		ID: "getOpenAPIDocument", Summary: "This document: the OpenAPI 3.1 description of the HTTP API",
		Access:    AccessPublic,
		Responses: []Response{{Status: http.StatusOK, Body: map[string]any{}}},
	})
	return s
}

// serveOps opens the operators' listener: metrics and health, for the
// scraper and the load balancer, and the runtime's profiles
// (/debug/pprof/), for an operator finding where the CPU goes; not for the
// internet. It stays up until
// the public listener has drained, so readiness keeps answering (failing)
// during the drain.
func (s *Server) serveOps() (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz", s.health.Live)
	mux.HandleFunc("GET /readyz", s.health.Ready)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // the named profiles: heap, goroutine, mutex…
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv, _, err := s.listenAside("ops", s.cfg.OpsAddr, mux, &s.opsAddr)
	if err != nil {
		return nil, err
	}
	return func() { _ = srv.Close() }, nil
}

// listenAside serves mux on a listener of its own (the operators' or the
// internal one), records its bound address in bound, and returns the
// server and the channel its Serve result arrives on.
func (s *Server) listenAside(name, addr string, mux *http.ServeMux, bound *atomic.Value) (*http.Server, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.readTimeout(), IdleTimeout: s.cfg.IdleTimeout,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	bound.Store(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info(name+" server listening", slog.String("addr", ln.Addr().String()))
	return srv, errc, nil
}

// headAsGet serves a HEAD request as the GET of its target, as HTTP asks
// of a server wherever it answers GET; net/http writes no body for the HEAD
// request its response still holds.
func headAsGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.WithContext(r.Context())
			r.Method = http.MethodGet
		}
		h.ServeHTTP(w, r)
	})
}

// readTimeout bounds reading a whole request, body included: its headers'
// time, then the request's deadline, then a second. The deadline (a
// context) does not stop a handler blocked on a body its client stopped
// sending; this does, after the deadline (which starts once the headers are
// read) whatever the headers took, so that the handler's answer is the
// deadline's (503).
func (s *Server) readTimeout() time.Duration {
	return s.cfg.ReadHeaderTimeout + s.cfg.RequestTimeout + time.Second
}

// OpsAddr is the bound address of the operators' listener once Run opened
// it; empty when metrics are served on the public listener.
func (s *Server) OpsAddr() string {
	a, _ := s.opsAddr.Load().(string)
	return a
}

// ListenFunc is told the bound address once the listener is open.
type ListenFunc func(addr net.Addr)

// Router returns the router a module registers its routes on.
func (s *Server) Router(module string) *Router {
	return &Router{e: s.Echo, module: module, validator: s.Validator, cookie: s.cookie, docs: s.docs}
}

// Run serves on the configured address (and the internal endpoints on
// theirs, when set) until ctx ends, then drains: readiness fails at once,
// the listeners close after the drain delay, and in-flight requests get the
// shutdown timeout to finish. ready, if not nil, receives the
// bound address once the listener is open.
func (s *Server) Run(ctx context.Context, ready ListenFunc) error {
	if s.cfg.OpsAddr != "" {
		stop, err := s.serveOps()
		if err != nil {
			return err
		}
		defer stop()
	}
	stopInternal := func(context.Context) error { return nil }
	if s.cfg.InternalAddr != "" {
		stop, err := s.serveInternal()
		if err != nil {
			return err
		}
		stopInternal = stop
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		_ = stopInternal(ctx)
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           headAsGet(s.Echo),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.readTimeout(),
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http server listening", slog.String("addr", ln.Addr().String()))
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, stopInternal(sctx))
	case <-ctx.Done():
	}
	s.health.Drain()
	s.log.Info("draining", slog.Duration("delay", s.cfg.DrainDelay))
	if s.cfg.DrainDelay > 0 {
		t := time.NewTimer(s.cfg.DrainDelay)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// The internal listener drains beside the public one: calls from other
	// processes in flight finish, new ones are refused.
	internalErr := make(chan error, 1)
	go func() { internalErr <- stopInternal(sctx) }()
	if err := errors.Join(srv.Shutdown(sctx), <-internalErr); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("http server stopped")
	return nil
}
