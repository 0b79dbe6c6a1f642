package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/errs"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Kind      string            `json:"kind"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
}

var kindStatus = map[errs.Kind]int{
	errs.KindInternal:         http.StatusInternalServerError,
	errs.KindInvalid:          http.StatusUnprocessableEntity,
	errs.KindNotFound:         http.StatusNotFound,
	errs.KindConflict:         http.StatusConflict,
	errs.KindUnauthenticated:  http.StatusUnauthorized,
	errs.KindForbidden:        http.StatusForbidden,
	errs.KindRateLimited:      http.StatusTooManyRequests,
	errs.KindUnavailable:      http.StatusServiceUnavailable,
	errs.KindTooLarge:         http.StatusRequestEntityTooLarge,
	errs.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	errs.KindMalformed:        http.StatusBadRequest,
	errs.KindMethodNotAllowed: http.StatusMethodNotAllowed,
}

// StatusOf maps an error kind to its HTTP status.
func StatusOf(k errs.Kind) int {
	if s, ok := kindStatus[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// KindOfStatus maps an HTTP status back to an error kind (for remote adapters
// and for errors raised by echo itself).
func KindOfStatus(status int) errs.Kind {
	for k, s := range kindStatus {
		if s == status {
			return k
		}
	}
	switch {
	case status >= 500:
		return errs.KindInternal
	default:
		return errs.KindMalformed
	}
}

// toProblem converts any error into a problem document. It reports whether the
// error is internal and must be logged.
//
// A database refusing a connection for capacity and a request whose deadline
// passed (often while waiting for a pooled connection) are the shop's
// momentary limits, not the client's fault nor a bug: 503 with Retry-After,
// whatever kind a module wrapped them in. They are still logged, so that
// operators see the budget is too small.
func toProblem(err error) (Problem, *errs.Error, bool) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		// Errors raised by echo itself: unknown route, wrong method, body limit.
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		p := newProblem(he.Code, KindOfStatus(he.Code), describeStatus(he.Code, msg))
		return p, nil, he.Code >= 500
	case errs.Overloaded(err):
		return newProblem(http.StatusServiceUnavailable, errs.KindUnavailable, "the shop is busy; try again shortly"), busy(), true
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(http.StatusServiceUnavailable, errs.KindUnavailable, "the request took too long; try again"), busy(), true
	case errors.Is(err, context.Canceled):
		return newProblem(499, errs.KindUnavailable, "the request was cancelled"), nil, false
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return newProblem(http.StatusInternalServerError, errs.KindInternal, "an unexpected error occurred"), nil, true
	}
	status := StatusOf(e.Kind)
	if e.Kind == errs.KindInternal {
		return newProblem(status, e.Kind, "an unexpected error occurred"), e, true
	}
	p := newProblem(status, e.Kind, e.Message)
	p.Errors = e.Fields
	return p, e, false
}

// pastDeadline marks an unexpected error of a request whose deadline has
// passed as the deadline's doing: a query cut short by the deadline often
// reports only a closed connection ("driver: bad connection"), which would
// otherwise be a 500. The central handler turns it into a 503 with
// Retry-After. Errors of other kinds (a conflict, invalid input) stand.
func pastDeadline(err error, ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && errs.KindOf(err) == errs.KindInternal && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	return err
}

// busy carries the Retry-After of momentary capacity limits.
func busy() *errs.Error {
	return &errs.Error{Kind: errs.KindUnavailable, RetryAfter: errs.BusyRetryAfter}
}

func newProblem(status int, kind errs.Kind, detail string) Problem {
	title := http.StatusText(status)
	if title == "" {
		title = "Client Closed Request"
	}
	return Problem{
		Type:   "/problems/" + strings.ReplaceAll(kind.String(), "_", "-"),
		Title:  title,
		Status: status,
		Detail: detail,
		Kind:   kind.String(),
	}
}

func describeStatus(code int, msg string) string {
	switch code {
	case http.StatusNotFound:
		return "no such resource"
	case http.StatusMethodNotAllowed:
		return "this method is not allowed on this resource"
	case http.StatusRequestEntityTooLarge:
		return "the request body is too large"
	}
	return msg
}

// ErrorHandler returns echo's central error handler: every error becomes an
// application/problem+json response; only internal errors are logged.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p, e, internal := toProblem(err)
		ctx := c.Request().Context()
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if internal {
			log.ErrorContext(ctx, "request failed", slog.String("error", err.Error()),
				slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path))
		}
		if e != nil && e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
		WriteProblem(c.Response(), c.Request(), p)
	}
}

// WriteProblem writes p as the response.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	w.Header().Set(echo.HeaderContentType, ProblemContentType)
	w.WriteHeader(p.Status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(p)
}
