package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/problem"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = problem.ContentType

// Problem is an RFC 9457 problem document.
type Problem = problem.Problem

// StatusOf maps an error kind to its HTTP status.
func StatusOf(k errs.Kind) int { return problem.StatusOf(k) }

// KindOfStatus maps an HTTP status back to an error kind (for remote adapters
// and for errors raised by echo itself).
func KindOfStatus(status int) errs.Kind { return problem.KindOfStatus(status) }

// toProblem converts any error into a problem document (see problem.From,
// which this extends with the errors echo raises itself). It reports whether
// the error is internal and must be logged.
func toProblem(err error) (Problem, *errs.Error, bool) {
	var gt gatewayTimeout
	if errors.As(err, &gt) {
		return problem.New(http.StatusGatewayTimeout, gt.err.Kind, gt.err.Message), gt.err, false
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		// Errors raised by echo itself: unknown route, wrong method, body limit.
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		p := problem.New(he.Code, KindOfStatus(he.Code), describeStatus(he.Code, msg))
		return p, nil, he.Code >= 500
	}
	return problem.From(err)
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
		var retryAfter time.Duration
		if e != nil {
			retryAfter = e.RetryAfter
		}
		problem.Write(c.Response(), c.Request(), p, retryAfter)
	}
}

// WriteProblem writes p as the response.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) { problem.Write(w, r, p, 0) }
