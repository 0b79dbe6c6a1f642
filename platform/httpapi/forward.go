package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/problem"
	"github.com/shopmonolith/shop/platform/remote"
)

// ownerRetryAfter is when a client may retry a request whose module's
// process could not be reached.
const ownerRetryAfter = time.Second

// ForwardRouter returns the router on which a module hosted by another
// process declares its routes (its handlers are never called, so the
// module need not be built): each route is documented and measured as if
// it were served here, and served by forwarding the request to owner, the
// base URL of the module's process's internal listener. keys sign each
// forwarded request as the edge, so that the owner believes the client
// address it states (see remote.SignForwarded).
//
// Forwarding keeps the method, path, query, body (streamed), Host and every
// end-to-end header (cookies, Authorization, Idempotency-Key), sends the
// request id, and sets X-Forwarded-For and X-Forwarded-Proto as a proxy
// does; traceparent is that of a client span standing for the forwarded
// request, child of the edge's request span. It is bounded by the request
// timeout (SHOP_HTTP_REQUEST_TIMEOUT):
// an owner that does not answer in time is 504, one that cannot be reached
// or answers 5xx without a problem document (a dead owner behind a load
// balancer) 503 with Retry-After, both problem documents. The owner's own
// answers, errors included, pass through as they are.
func (s *Server) ForwardRouter(module string, owner *url.URL, keys remote.Keys) *Router {
	f := &forwarder{module: module, keys: keys, trusted: s.cfg.TrustedProxies, log: s.log}
	f.proxy = &httputil.ReverseProxy{
		Rewrite:        f.rewrite(owner),
		Transport:      s.tracedTransport(module, s.forwardTransport()),
		ModifyResponse: ownerAnswer,
		ErrorHandler:   recordFailure,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	r := s.Router(module)
	r.forward = f.serve
	return r
}

// forwardTransport is the one transport of every forwarding router: its
// pool of connections to the owners. Timeouts come from the request's
// deadline.
func (s *Server) forwardTransport() http.RoundTripper {
	s.forwardOnce.Do(func() {
		s.transport = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: s.cfg.RequestTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     s.cfg.IdleTimeout,
		}
	})
	return s.transport
}

type forwarder struct {
	module  string
	keys    remote.Keys
	trusted []config.IPRange
	log     *slog.Logger
	proxy   *httputil.ReverseProxy
}

// failureKey carries where ErrorHandler records why the owner gave no
// usable answer.
type failureKey struct{}

func (f *forwarder) serve(c echo.Context) error {
	req := c.Request()
	token, err := remote.SignForwarded(f.keys, remote.Forwarded{Module: f.module, Method: req.Method, Path: req.URL.Path, Client: c.RealIP()},
		remote.DefaultOptions.TokenTTL, time.Now())
	if err != nil {
		return err
	}
	req.Header.Set(remote.HeaderForwarded, token)
	req.Header.Set(echo.HeaderXRequestID, c.Response().Header().Get(echo.HeaderXRequestID))
	// The owner's answer carries the headers of the same middleware chain:
	// the edge's own would be sent twice.
	w := c.Response()
	own := maps.Clone(w.Header())
	clear(w.Header())
	var failure error
	f.proxy.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), failureKey{}, &failure)))
	if failure == nil {
		return nil
	}
	if w.Committed { // cut off mid-answer: nothing more can be said
		return nil
	}
	clear(w.Header())
	maps.Copy(w.Header(), own)
	failure = ownerFailure(f.module, failure)
	f.log.WarnContext(req.Context(), "forwarded request failed", slog.String("module", f.module), slog.String("error", failure.Error()))
	return failure
}

// rewrite sends the request to owner: same path and query, same Host (the
// owner's cross-origin check compares Origin with it), with the address
// of the client appended to X-Forwarded-For as the peer, and the protocol
// the client used (as a trusted proxy reported it, or this listener's).
func (f *forwarder) rewrite(owner *url.URL) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		pr.SetURL(owner)
		pr.Out.Host = pr.In.Host
		fromProxy := fromProxy(pr.In, f.trusted)
		if fromProxy {
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		}
		pr.SetXForwarded()
		if proto := pr.In.Header.Get("X-Forwarded-Proto"); fromProxy && proto != "" {
			pr.Out.Header.Set("X-Forwarded-Proto", proto)
		}
	}
}

// ownerAnswer refuses a 5xx answer that is no problem document: not the
// owner's (which answers every error with one) but a load balancer's or a
// dying process's.
func ownerAnswer(resp *http.Response) error {
	if resp.StatusCode >= 500 && !strings.HasPrefix(resp.Header.Get(echo.HeaderContentType), problem.ContentType) {
		return fmt.Errorf("the owner answered %s", resp.Status)
	}
	return nil
}

func recordFailure(_ http.ResponseWriter, r *http.Request, err error) {
	if slot, ok := r.Context().Value(failureKey{}).(*error); ok {
		*slot = err
	}
}

// gatewayTimeout is a forwarded request whose module's process did not
// answer in time: 504.
type gatewayTimeout struct{ err *errs.Error }

func (e gatewayTimeout) Error() string { return e.err.Error() }
func (e gatewayTimeout) Unwrap() error { return e.err }

// ownerFailure is what the client is told when the owner gave no usable
// answer: 504 when it did not answer in time, 413 when the body was larger
// than the limit, 503 with Retry-After when it could not be reached.
func ownerFailure(module string, err error) error {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return errs.E(errs.KindTooLarge, "the request body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return gatewayTimeout{errs.Wrap(errs.KindUnavailable, err, "the %s module did not answer in time; try again", module)}
	}
	e := errs.Wrap(errs.KindUnavailable, err, "the %s module cannot answer right now; try again shortly", module)
	e.RetryAfter = ownerRetryAfter
	return e
}
