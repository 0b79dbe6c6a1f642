package remote

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/shopmonolith/shop/platform/logging"
)

// Headers of an internal call besides W3C trace context.
const (
	// HeaderTimeout is the time the caller has left, in milliseconds:
	// relative, so that it does not depend on the two clocks agreeing.
	HeaderTimeout = "Shop-Timeout"
	// HeaderCaller is the call token the calling module made.
	HeaderCaller = "Shop-Caller-Token"
	// HeaderUser is identity's assertion of the user the call acts for.
	HeaderUser = "Shop-User-Assertion"
	// HeaderRequestID is the request id of the call's origin (as the edge
	// names it).
	HeaderRequestID = "X-Request-Id"
)

// propagator carries W3C trace context, as platform/events does in event
// metadata.
var propagator = propagation.TraceContext{}

// inject writes what travels with every call: trace context, request id and
// the time left before the deadline, rounded up to the millisecond so that
// the callee's copy of the deadline never ends before the caller's: a callee
// that gives up on it answers after the caller has given up too.
func inject(ctx context.Context, h http.Header, deadline time.Time, now time.Time) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
	if id := logging.RequestID(ctx); id != "" {
		h.Set(HeaderRequestID, id)
	}
	left := (deadline.Sub(now) + time.Millisecond - 1) / time.Millisecond
	h.Set(HeaderTimeout, strconv.FormatInt(int64(max(left, 1)), 10))
}

// extract restores on the server what inject sent: trace context and
// request id in the context, and the caller's deadline on it. The returned
// cancel must be called.
func extract(ctx context.Context, h http.Header) (context.Context, context.CancelFunc) {
	ctx = propagator.Extract(ctx, propagation.HeaderCarrier(h))
	if id := h.Get(HeaderRequestID); id != "" {
		ctx = logging.WithRequestID(ctx, id)
	}
	if ms, err := strconv.ParseInt(h.Get(HeaderTimeout), 10, 64); err == nil && ms > 0 {
		return context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	}
	return context.WithCancel(ctx)
}
