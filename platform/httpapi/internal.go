package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/shopmonolith/shop/platform/remote"
)

// MountInternal sets the handler of the internal endpoints (remote.Server:
// the modules this process hosts, as other processes call them). Run serves
// it under remote.PathPrefix on SHOP_HTTP_INTERNAL_ADDR only: never on the
// public listener, which answers 404 there like for any unknown path.
func (s *Server) MountInternal(h http.Handler) { s.internal = h }

// serveInternal opens the internal listener: /internal/ for the processes
// that call the modules hosted here, and /healthz and /readyz, which their
// start-up check and their load balancer ask. It drains with the public
// listener: readiness fails first, then stop waits for the calls in flight.
func (s *Server) serveInternal() (stop func(context.Context) error, err error) {
	mux := http.NewServeMux()
	if s.internal != nil {
		mux.Handle(remote.PathPrefix, s.internal)
	}
	mux.HandleFunc("GET /healthz", s.health.Live)
	mux.HandleFunc("GET /readyz", s.health.Ready)
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
