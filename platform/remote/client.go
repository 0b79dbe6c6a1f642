package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/problem"
	"github.com/shopmonolith/shop/platform/tracing"
)

// Options are the settings of calls to each neighbour (callee module).
// Zero fields take the defaults of DefaultOptions.
type Options struct {
	// Timeout bounds a call whose context has no deadline.
	Timeout time.Duration
	// Attempts is how often an idempotent method is tried at most.
	Attempts int
	// BackoffBase and BackoffMax bound the wait before a retry: capped
	// exponential (base, 2×base, …, max) with full jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// BreakerFailures consecutive failures (transport errors and 5xx
	// answers) open a neighbour's circuit; while it is open, calls fail at
	// once with KindUnavailable, for BreakerOpen, then one trial call may
	// close it again.
	BreakerFailures uint32
	BreakerOpen     time.Duration
	// BreakerSlowCall is how long a call must have waited for its
	// deadline to pass to count as a failure of the neighbour: a caller
	// that gives up sooner (the cart waits half a second for prices, then
	// shows the last known ones) says it is in a hurry, not that the
	// neighbour is failing, and would otherwise open the circuit of a
	// neighbour that is merely busy, for every caller in the process.
	BreakerSlowCall time.Duration
	// MaxInFlight bounds the calls in flight to one neighbour; a call
	// beyond it waits for a slot until its deadline, then fails with
	// KindUnavailable and errs.BusyRetryAfter.
	MaxInFlight int
	// TokenTTL is how long a call token (and a user assertion this process
	// mints) is valid.
	TokenTTL time.Duration
}

// DefaultOptions are the settings a zero Options field takes.
var DefaultOptions = Options{
	Timeout:         10 * time.Second,
	Attempts:        3,
	BackoffBase:     50 * time.Millisecond,
	BackoffMax:      time.Second,
	BreakerFailures: 5,
	BreakerOpen:     5 * time.Second,
	BreakerSlowCall: time.Second,
	MaxInFlight:     64,
	TokenTTL:        time.Minute,
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	pick := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&o.Timeout, d.Timeout)
	pick(&o.BackoffBase, d.BackoffBase)
	pick(&o.BackoffMax, d.BackoffMax)
	pick(&o.BreakerOpen, d.BreakerOpen)
	pick(&o.BreakerSlowCall, d.BreakerSlowCall)
	pick(&o.TokenTTL, d.TokenTTL)
	if o.Attempts <= 0 {
		o.Attempts = d.Attempts
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = d.BreakerFailures
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = d.MaxInFlight
	}
	return o
}

// ClientConfig builds a Client.
type ClientConfig struct {
	// Caller is the module whose code makes the calls: their tokens are its.
	Caller string
	// Endpoints maps each callee module to the base URL of a process
	// hosting it (a load balancer's in production), without /internal/.
	Endpoints map[string]string
	Keys      Keys
	Options   Options
	// HTTP sends the requests; when nil, a client of its own whose
	// transport keeps a connection open to each neighbour for every call
	// that may be in flight to it (see newTransport).
	HTTP *http.Client
	// Registerer receives the metrics; none are registered when nil.
	Registerer prometheus.Registerer
	// Tracer makes a client span of every call; none when nil.
	Tracer trace.TracerProvider
	// Now is the clock of tokens; time.Now when nil.
	Now func() time.Time
}

// Client calls modules hosted in other processes for one calling module.
// The generated <module>remote.NewClient turns it into the callee's API.
type Client struct {
	caller    string
	endpoints map[string]string
	keys      Keys
	opts      Options
	http      *http.Client
	now       func() time.Time
	metrics   *instruments
	tracer    trace.Tracer
	// assertions are the user assertions the client signed (a process
	// hosting identity) or verified (Sessions).
	assertions assertions

	mu         sync.Mutex
	neighbours map[string]*neighbour
}

// newTransport returns the transport of calls to neighbours with opts
// (zero fields take DefaultOptions): it keeps as many idle connections per
// neighbour as opts.MaxInFlight lets calls be in flight to it, so that a
// burst of calls finds its connections open again the next time rather
// than closing all but two of them and dialling anew (http.DefaultTransport
// keeps two per host), and it asks for no compression: the answers are
// small and cross a data centre, where compressing costs more CPU than it
// saves time. It goes through no proxy; timeouts come from each call's
// deadline.
func newTransport(opts Options) *http.Transport {
	opts = opts.withDefaults()
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: opts.MaxInFlight,
		IdleConnTimeout:     idleConnTimeout,
		DisableCompression:  true,
	}
}

// idleConnTimeout closes a connection to a neighbour left idle this long:
// before the neighbour's server does (SHOP_HTTP_IDLE_TIMEOUT, 60 s by
// default), so that a call is seldom sent on a connection the other end is
// closing at that moment, which fails a call that is not retried.
const idleConnTimeout = 30 * time.Second

// neighbour is the per-callee state: its circuit and its in-flight slots.
type neighbour struct {
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
}

// NewClient returns a client calling as cfg.Caller.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Caller == "" || cfg.Keys == nil {
		return nil, errors.New("remote: a client needs its calling module and keys")
	}
	if _, ok := cfg.Keys.Private(cfg.Caller); !ok {
		return nil, fmt.Errorf("remote: no private key of calling module %q", cfg.Caller)
	}
	m, err := newInstruments(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Client{caller: cfg.Caller, endpoints: map[string]string{}, keys: cfg.Keys, opts: cfg.Options.withDefaults(),
		http: cfg.HTTP, now: cfg.Now, metrics: m, tracer: tracing.Tracer(cfg.Tracer), neighbours: map[string]*neighbour{}}
	for module, url := range cfg.Endpoints {
		c.endpoints[module] = strings.TrimSuffix(url, "/")
	}
	if c.http == nil {
		c.http = &http.Client{Transport: newTransport(c.opts)}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func (c *Client) neighbour(callee string) *neighbour {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.neighbours[callee]
	if !ok {
		n = &neighbour{slots: make(chan struct{}, c.opts.MaxInFlight)}
		n.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:         c.caller + "->" + callee,
			Timeout:      c.opts.BreakerOpen,
			ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= c.opts.BreakerFailures },
			IsSuccessful: func(err error) bool { return !neighbourFailed(err) },
			IsExcluded: func(err error) bool {
				return errors.Is(err, context.Canceled) || errors.Is(err, errCallerInAHurry)
			},
		})
		c.neighbours[callee] = n
	}
	return n
}

// Call calls method of module with args (a JSON object of the arguments)
// and decodes the answer into results. Only idempotent methods are retried.
// Errors are *errs.Error of the kind the callee returned; a neighbour that
// cannot be reached, whose circuit is open or that has too many calls in
// flight gives KindUnavailable.
func (c *Client) Call(ctx context.Context, module, method string, idempotent bool, args, results any) error {
	return c.observed(ctx, module, method, idempotent, args, results, nil)
}

// observed is Call with its metrics and its span (whose context the
// requests carry); answer, when not nil, receives the headers of the answer
// that succeeded.
func (c *Client) observed(ctx context.Context, module, method string, idempotent bool, args, results any, answer *http.Header) error {
	start := time.Now()
	ctx, span := c.tracer.Start(ctx, module+"."+method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(callAttributes(c.caller, module, method)...))
	err := c.call(ctx, module, method, idempotent, args, results, answer)
	tracing.End(span, err)
	c.metrics.observe(c.caller, module, method, outcome(err), time.Since(start))
	return err
}

// callAttributes describe a call between modules on its client and server
// spans.
func callAttributes(caller, module, method string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("rpc.system.name", "shop"), attribute.String("rpc.method", module+"/"+method),
		attribute.String("shop.caller", caller), attribute.String("shop.module", module)}
}

// errCallerInAHurry marks a call whose caller's deadline passed before
// Options.BreakerSlowCall: the circuit does not count it.
var errCallerInAHurry = errors.New("the caller's deadline passed early")

// pastDeadline reports whether an attempt failed because the caller's
// deadline passed: its own context's, or the callee's copy of it (a callee
// that gave up on the deadline answers once the caller's has passed).
func pastDeadline(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	deadline, _ := ctx.Deadline()
	return errors.Is(err, context.DeadlineExceeded) || !time.Now().Before(deadline)
}

// hurried is err, marked as errCallerInAHurry for the circuit only.
type hurried struct{ err error }

func (h *hurried) Error() string   { return h.err.Error() }
func (h *hurried) Unwrap() []error { return []error{h.err, errCallerInAHurry} }

// Refusals before any request is sent, for the outcome label.
var (
	errCircuitOpen = errors.New("circuit open")
	errOverloaded  = errors.New("too many calls in flight")
)

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errCircuitOpen):
		return "circuit_open"
	case errors.Is(err, errOverloaded):
		return "overloaded"
	}
	return errs.KindOf(err).String()
}

func (c *Client) call(ctx context.Context, module, method string, idempotent bool, args, results any, answer *http.Header) error {
	base, ok := c.endpoints[module]
	if !ok {
		return errs.E(errs.KindInternal, "no endpoint of module %s is configured", module)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	body, err := json.Marshal(args)
	if err != nil {
		return errs.Internal(err, "encode the arguments of "+module+"."+method)
	}
	user, service, err := c.principal(ctx)
	if err != nil {
		return err
	}
	n := c.neighbour(module)
	select {
	case n.slots <- struct{}{}:
		defer func() { <-n.slots }()
	case <-ctx.Done():
		e := errs.Wrap(errs.KindUnavailable, errOverloaded, "%s has too many calls in flight", module)
		e.RetryAfter = errs.BusyRetryAfter
		return e
	}
	url := base + "/internal/" + module + "/" + method
	for attempt := 1; ; attempt++ {
		_, err = n.breaker.Execute(func() (struct{}, error) {
			start := time.Now()
			err := c.attempt(ctx, url, module, method, body, user, service, results, answer)
			if pastDeadline(ctx, err) && time.Since(start) < c.opts.BreakerSlowCall {
				return struct{}{}, &hurried{err}
			}
			return struct{}{}, err
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			e := errs.Wrap(errs.KindUnavailable, errCircuitOpen, "%s is failing; calls to it are suspended", module)
			e.RetryAfter = c.opts.BreakerOpen
			return e
		}
		if err == nil || !idempotent || attempt >= c.opts.Attempts || !retryable(err) || !c.backoff(ctx, attempt) {
			return bare(err)
		}
	}
}

// principal returns what the call says of the context's principal: a user
// assertion for a user, or that the call acts as the calling module.
func (c *Client) principal(ctx context.Context) (assertion string, service bool, err error) {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return "", false, nil
	case p.Role == auth.RoleService:
		if p != auth.Service(c.caller) {
			return "", false, errs.E(errs.KindForbidden, "module %s cannot call as %s", c.caller, p.UserID)
		}
		return "", true, nil
	}
	if a, ok := userAssertion(ctx, p); ok {
		return a, false, nil
	}
	// This process authenticated the user through the identity module it
	// hosts: it speaks for identity.
	a, err := c.assertions.sign(c.keys, p, c.opts.TokenTTL, c.now())
	if err != nil {
		return "", false, errs.E(errs.KindUnauthenticated, "the caller's session carries no assertion of identity")
	}
	return a, false, nil
}

// attempt sends one request. A failed attempt returns an *errs.Error; the
// ones a retry may cure are marked by retryable.
func (c *Client) attempt(ctx context.Context, url, module, method string, body []byte, user string, service bool, results any, answer *http.Header) error {
	now := c.now()
	token, err := callToken(c.keys, call{caller: c.caller, callee: module, method: method, body: body, service: service},
		c.opts.TokenTTL, now)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errs.Internal(err, "build the request to "+url)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderCaller, token)
	if user != "" {
		req.Header.Set(HeaderUser, user)
	}
	deadline, _ := ctx.Deadline()
	inject(ctx, req.Header, deadline, time.Now())
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{errs.Wrap(errs.KindUnavailable, err, "%s cannot be reached", module)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return &transportError{errs.Wrap(errs.KindUnavailable, err, "the answer of %s was cut off", module)}
	}
	if resp.StatusCode != http.StatusOK {
		e := problem.Read(resp, raw)
		if e.Kind == errs.KindInternal {
			e.Err = fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		return &statusError{e, resp.StatusCode}
	}
	if err := json.Unmarshal(raw, results); err != nil {
		return errs.Internal(err, "decode the answer of "+url)
	}
	if answer != nil {
		*answer = resp.Header
	}
	return nil
}

// transportError is a request that got no answer; statusError an answer
// other than 200. Both unwrap to the *errs.Error callers see.
type transportError struct{ err *errs.Error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

type statusError struct {
	err    *errs.Error
	status int
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// bare returns the *errs.Error inside the client's own wrappers: what the
// callee's API would have returned in process.
func bare(err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	return err
}

// neighbourFailed reports whether err says the neighbour is failing (what
// opens its circuit), rather than the call being refused on its merits.
func neighbourFailed(err error) bool {
	var te *transportError
	var se *statusError
	return errors.As(err, &te) || errors.As(err, &se) && se.status >= 500
}

// retryable reports whether a retry may cure err: a request that got no
// answer, or a gateway's or the callee's "not now" (502, 503, 504). Never a
// 4xx, never an internal error.
func retryable(err error) bool {
	var te *transportError
	var se *statusError
	switch {
	case errors.As(err, &te):
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case errors.As(err, &se):
		return se.status == http.StatusBadGateway || se.status == http.StatusServiceUnavailable || se.status == http.StatusGatewayTimeout
	}
	return false
}

// backoff waits before retry attempt+1: capped exponential with full
// jitter. It returns false, at once, when the wait would outlast ctx.
func (c *Client) backoff(ctx context.Context, attempt int) bool {
	ceiling := c.opts.BackoffMax
	if shift := attempt - 1; shift < 30 && c.opts.BackoffBase<<shift < ceiling {
		ceiling = c.opts.BackoffBase << shift
	}
	wait := rand.N(ceiling) + 1
	if deadline, _ := ctx.Deadline(); time.Until(deadline) <= wait {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
