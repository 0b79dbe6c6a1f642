package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/remote"
)

// MountInternal sets the handler of the internal endpoints (remote.Server:
// the modules this process hosts, as other processes call them), and the
// keys that verify the requests other processes forward here. Run serves
// it under remote.PathPrefix on SHOP_HTTP_INTERNAL_ADDR only: never on the
// public listener, which answers 404 there like for any unknown path.
func (s *Server) MountInternal(h http.Handler, keys remote.Keys) { s.internal, s.edgeKeys = h, keys }

// serveInternal opens the internal listener: /internal/ for the processes
// that call the modules hosted here, /healthz and /readyz, which their
// start-up check and their load balancer ask, and every public route, with
// the public listener's middleware, for the processes that forward them
// here. It drains with the public listener: readiness fails first, then
// stop waits for the calls in flight.
func (s *Server) serveInternal() (stop func(context.Context) error, err error) {
	mux := http.NewServeMux()
	if s.internal != nil {
		mux.Handle(remote.PathPrefix, s.internal)
	}
	mux.HandleFunc("GET /healthz", s.health.Live)
	mux.HandleFunc("GET /readyz", s.health.Ready)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Echo.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), internalKey{}, true)))
	}))
	srv, errc, err := s.listenAside("internal", s.cfg.InternalAddr, mux, &s.internalAddr)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			return fmt.Errorf("internal shutdown: %w", err)
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}

// InternalAddr is the bound address of the internal listener once Run
// opened it; empty when SHOP_HTTP_INTERNAL_ADDR is.
func (s *Server) InternalAddr() string {
	a, _ := s.internalAddr.Load().(string)
	return a
}

// internalKey marks the requests of the internal listener: only there is a
// forwarded request's token believed.
type internalKey struct{}

// forwardedClientKey carries the client address a valid forwarded token
// states.
type forwardedClientKey struct{}

// trustForwarded believes the client address of a request another process
// forwarded here (remote.VerifyForwarded) on the internal listener only:
// the owner's per-IP limits then count the client, not the forwarding
// process. A token that does not verify is refused (401), so that a
// misconfigured edge is noticed rather than making every client share its
// address; a request forwarded to a process that forwards its route too is
// refused (503) rather than sent round. Anywhere else the header is
// dropped unread: the public listener never believes it.
func (s *Server) trustForwarded(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		token := r.Header.Get(remote.HeaderForwarded)
		if token == "" {
			return next(c)
		}
		r.Header.Del(remote.HeaderForwarded)
		route, known := s.docs.lookup(r.Method, c.Path())
		internal, _ := r.Context().Value(internalKey{}).(bool)
		switch {
		case !internal || !known: // not believed; an unknown route is 404 or 405
			return next(c)
		case route.forwarded:
			return errs.E(errs.KindUnavailable, "a request for module %s was forwarded to a process that does not host it: check SHOP_MODULE_URLS", route.module)
		case s.edgeKeys == nil:
			return errs.E(errs.KindUnauthenticated, "this process takes no forwarded requests")
		}
		client, err := remote.VerifyForwarded(s.edgeKeys, token, route.module, r.Method, r.URL.Path, time.Now())
		if err != nil {
			return err
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), forwardedClientKey{}, client)))
		return next(c)
	}
}

// forwardedClientOr returns the client address a forwarded request's
// valid token states (see trustForwarded), else what extract says.
func forwardedClientOr(extract echo.IPExtractor) echo.IPExtractor {
	return func(r *http.Request) string {
		if client, ok := r.Context().Value(forwardedClientKey{}).(string); ok && client != "" {
			return client
		}
		return extract(r)
	}
}
