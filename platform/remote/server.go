package remote

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/problem"
	"github.com/shopmonolith/shop/platform/tracing"
)

// PathPrefix is where the internal endpoints are mounted. It is never a
// public route: the edge refuses it from outside.
const PathPrefix = "/internal/"

// maxBody bounds a call's arguments.
const maxBody = 8 << 20

// Method serves one method of a module's API: it decodes the arguments
// with decode, calls the API and returns the results to encode. The
// generated <module>remote.Methods builds one per API method.
type Method func(ctx context.Context, decode func(args any) error) (results any, err error)

// Service is the internal endpoints of one module: its name and its
// methods by name.
type Service struct {
	Module  string
	Methods map[string]Method
}

// ServerConfig builds a Server.
type ServerConfig struct {
	// Keys verify call tokens (every module's public key) and user
	// assertions (identity's).
	Keys Keys
	// Callers lists, per hosted module, the modules that may call it (see
	// AllowedCallers).
	Callers map[string][]string
	Log     *slog.Logger
	// Tracer makes a server span of every call served; none when nil.
	Tracer trace.TracerProvider
	// Now is the clock of tokens; time.Now when nil.
	Now func() time.Time
	// Status answers the edge's StatusMethod call of a hosted module: what
	// the process knows of the module (platform/ops). When nil the method
	// is not served.
	Status func(ctx context.Context, module string) (any, error)
	// AssertionTTL is how long the user assertions the server signs for
	// an edge's identity.Authenticate are valid; DefaultOptions.TokenTTL
	// when zero.
	AssertionTTL time.Duration
}

// Server is the http.Handler of the internal endpoints of the modules a
// process hosts: POST /internal/<module>/<Method>. Mount it on its own
// listener or under PathPrefix only, never among the public routes.
type Server struct {
	keys     Keys
	callers  map[string][]string
	services map[string]Service
	log      *slog.Logger
	tracer   trace.Tracer
	now      func() time.Time
	ttl      time.Duration
	status   func(ctx context.Context, module string) (any, error)
	// assertions are the user assertions the server signed for the edge
	// or verified on calls.
	assertions assertions
}

// NewServer serves the given modules' internal endpoints.
func NewServer(cfg ServerConfig, services ...Service) *Server {
	s := &Server{keys: cfg.Keys, callers: cfg.Callers, services: map[string]Service{}, log: cfg.Log, now: cfg.Now, ttl: cfg.AssertionTTL, status: cfg.Status,
		tracer: tracing.Tracer(cfg.Tracer)}
	if s.ttl <= 0 {
		s.ttl = DefaultOptions.TokenTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, svc := range services {
		s.services[svc.Module] = svc
	}
	return s
}

// AllowedCallers turns each module's dependencies (the descriptors'
// DependsOn, by module) into the callers each module accepts: a module may
// call only what it depends on. Identity also accepts the edge
// (EdgeCaller), which the server lets call Authenticate only.
func AllowedCallers(dependsOn map[string][]string) map[string][]string {
	out := map[string][]string{IdentityModule: {EdgeCaller}}
	for caller, callees := range dependsOn {
		for _, callee := range callees {
			if !slices.Contains(out[callee], caller) {
				out[callee] = append(out[callee], caller)
			}
		}
	}
	for _, callers := range out {
		slices.Sort(callers)
	}
	return out
}

// edgeMethod is the one module API method the edge may call: identity's
// Authenticate, whose answer then carries identity's assertion of the user.
const edgeMethod = "Authenticate"

// StatusMethod is the method every module's internal endpoints serve
// beside its API (when ServerConfig.Status is set), which only the edge
// may call: how the module fares in the process that hosts it, for the
// operators' page of another process. No Go method has its name, so it
// never shadows one of an API.
const StatusMethod = "_status"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := extract(r.Context(), r.Header)
	defer cancel()
	module, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, PathPrefix), "/")
	ctx, span := s.tracer.Start(ctx, module+"."+method, trace.WithSpanKind(trace.SpanKindServer))
	results, issuer, err := s.serve(ctx, r, module, method)
	span.SetAttributes(callAttributes(issuer, module, method)...)
	defer func() { tracing.End(span, err) }()
	if err != nil {
		s.fail(ctx, w, r, err)
		return
	}
	out, err := json.Marshal(results)
	if err != nil {
		s.fail(ctx, w, r, errs.Internal(err, "encode the results of "+module+"."+method))
		return
	}
	if issuer == EdgeCaller && method == edgeMethod {
		var assertion string
		if assertion, err = s.assertSession(out); err != nil {
			s.fail(ctx, w, r, err)
			return
		}
		w.Header().Set(HeaderUser, assertion)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// sessionAnswer is the wire form of identity.Authenticate's results (as
// remotegen writes a method's single result).
type sessionAnswer struct {
	Result auth.Principal `json:"result"`
}

// assertSession signs identity's assertion of the user an edge's call of
// identity.Authenticate found (out is the encoded answer): with it the
// edge's process acts for the user in its own calls to other processes.
func (s *Server) assertSession(out []byte) (string, error) {
	var a sessionAnswer
	if err := json.Unmarshal(out, &a); err != nil || a.Result.UserID == "" {
		return "", errs.E(errs.KindInternal, "%s.%s answered no principal to assert", IdentityModule, edgeMethod)
	}
	return s.assertions.sign(s.keys, a.Result, s.ttl, s.now())
}

// serve runs one call and returns its results and the calling module.
func (s *Server) serve(ctx context.Context, r *http.Request, module, method string) (any, string, error) {
	if r.Method != http.MethodPost {
		return nil, "", errs.E(errs.KindMethodNotAllowed, "internal endpoints take POST")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, "", errs.E(errs.KindTooLarge, "the arguments exceed %d bytes", maxBody)
	case err != nil:
		return nil, "", errs.Wrap(errs.KindMalformed, err, "the arguments could not be read")
	}
	ctx, issuer, err := s.authenticate(ctx, r.Header, module, method, body)
	if err != nil {
		return nil, "", err
	}
	svc, ok := s.services[module]
	serve, found := svc.Methods[method]
	if ok && method == StatusMethod && s.status != nil {
		serve, found = func(ctx context.Context, _ func(any) error) (any, error) { return s.status(ctx, module) }, true
	}
	if !ok || !found {
		return nil, "", errs.E(errs.KindNotFound, "%s has no method %q here", module, method)
	}
	decode := func(args any) error {
		if json.Unmarshal(body, args) != nil {
			return errs.E(errs.KindMalformed, "the arguments are not the JSON %s.%s takes", module, method)
		}
		return nil
	}
	results, err := serve(logging.WithModule(ctx, module), decode)
	return results, issuer, err
}

// authenticate checks the call token (KindUnauthenticated when it is
// missing, malformed, forged, expired, or for another module, method or
// arguments), whether its issuer may call module (KindForbidden), and the
// user assertion if any; it returns ctx acting for the call's principal,
// and the calling module.
func (s *Server) authenticate(ctx context.Context, h http.Header, module, method string, body []byte) (context.Context, string, error) {
	token := h.Get(HeaderCaller)
	if token == "" {
		return ctx, "", errs.E(errs.KindUnauthenticated, "the call carries no caller token")
	}
	now := s.now()
	c, err := verifyMAC(s.keys, token, typeCall, module, now)
	if err != nil {
		return ctx, "", err
	}
	if c.Method != method || c.Body != bodyHash(body) {
		return ctx, "", errs.E(errs.KindUnauthenticated, "the caller token is for another call")
	}
	if !mayCall(s.callers[module], c.Issuer, module, method) {
		return ctx, "", errs.E(errs.KindForbidden, "module %s may not call %s.%s", c.Issuer, module, method)
	}
	assertion := h.Get(HeaderUser)
	switch {
	case c.Service && assertion != "":
		return ctx, "", errs.E(errs.KindUnauthenticated, "a call acts for a user or for its module, not both")
	case c.Service:
		return auth.AsService(ctx, c.Issuer), c.Issuer, nil
	case assertion != "":
		p, err := s.assertions.verify(s.keys, assertion, now)
		if err != nil {
			return ctx, "", err
		}
		return WithUserAssertion(ctx, p, assertion), c.Issuer, nil
	}
	return ctx, c.Issuer, nil
}

// mayCall reports whether issuer may call method of module, whose allowed
// callers are callers: the edge only identity's Authenticate and any
// module's StatusMethod, a module only the modules it depends on, and no
// module StatusMethod.
func mayCall(callers []string, issuer, module, method string) bool {
	if issuer == EdgeCaller {
		return method == StatusMethod || module == IdentityModule && method == edgeMethod && slices.Contains(callers, issuer)
	}
	return method != StatusMethod && slices.Contains(callers, issuer)
}

func (s *Server) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	p, e, internal := problem.From(err)
	p.Instance = r.URL.Path
	p.RequestID = logging.RequestID(ctx)
	if internal {
		s.log.ErrorContext(ctx, "internal call failed", slog.String("error", err.Error()), slog.String("path", r.URL.Path))
	}
	var retryAfter time.Duration
	if e != nil {
		retryAfter = e.RetryAfter
	}
	problem.Write(w, r, p, retryAfter)
}
