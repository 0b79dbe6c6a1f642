// Package problem writes and reads RFC 9457 problem documents
// (application/problem+json), the one error format of every HTTP answer the
// shop gives: at the public edge (platform/httpapi) and at the internal
// endpoints other modules call (platform/remote). It also owns the mapping
// between error kinds and HTTP statuses, both ways, so that an error kind
// survives a network hop. It links no web framework: a process that only
// calls modules remotely needs it without echo.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// ContentType is the media type of every error response (RFC 9457).
const ContentType = "application/problem+json"

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

// KindOfStatus maps an HTTP status back to an error kind (for answers that
// carry no kind, such as a proxy's).
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

// New returns the problem document of a status and kind.
func New(status int, kind errs.Kind, detail string) Problem {
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

// From converts an error into a problem document. The *errs.Error it
// returns carries the Retry-After to send (nil when there is none); internal
// reports whether the error is unexpected and must be logged (its message is
// never shown).
//
// A database refusing a connection for capacity, one that cannot be reached
// or dropped the connection, and a request whose deadline passed (often
// while waiting for a pooled connection) are the shop's momentary limits,
// not the client's fault nor a bug: 503 with Retry-After, whatever kind a
// module wrapped them in (a lost connection only when none did: see
// errs.Unreachable). They are still reported internal, so that operators see the budget is too small or
// the database away.
func From(err error) (p Problem, e *errs.Error, internal bool) {
	switch {
	case errs.Overloaded(err):
		return New(http.StatusServiceUnavailable, errs.KindUnavailable, "the shop is busy; try again shortly"), busy(), true
	case errs.Unreachable(err):
		return New(http.StatusServiceUnavailable, errs.KindUnavailable, "the shop cannot reach its data right now; try again shortly"), busy(), true
	case errors.Is(err, context.DeadlineExceeded):
		return New(http.StatusServiceUnavailable, errs.KindUnavailable, "the request took too long; try again"), busy(), true
	case errors.Is(err, context.Canceled):
		return New(499, errs.KindUnavailable, "the request was cancelled"), nil, false
	}
	if !errors.As(err, &e) {
		return New(http.StatusInternalServerError, errs.KindInternal, "an unexpected error occurred"), nil, true
	}
	status := StatusOf(e.Kind)
	if e.Kind == errs.KindInternal {
		return New(status, e.Kind, "an unexpected error occurred"), e, true
	}
	p = New(status, e.Kind, e.Message)
	p.Errors = e.Fields
	return p, e, false
}

// busy carries the Retry-After of momentary capacity limits.
func busy() *errs.Error {
	return &errs.Error{Kind: errs.KindUnavailable, RetryAfter: errs.BusyRetryAfter}
}

// Write writes p as the response, with a Retry-After header (whole seconds,
// rounded up) when retryAfter is positive.
func Write(w http.ResponseWriter, r *http.Request, p Problem, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(p.Status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(p)
}

// Read rebuilds the error a problem response stands for: an *errs.Error of
// the document's kind (or, when the body is no problem document, of the
// kind of the status), with its message, field errors and Retry-After.
func Read(resp *http.Response, body []byte) *errs.Error {
	e := &errs.Error{Kind: KindOfStatus(resp.StatusCode), Message: http.StatusText(resp.StatusCode)}
	var p Problem
	if strings.HasPrefix(resp.Header.Get("Content-Type"), ContentType) && json.Unmarshal(body, &p) == nil && p.Kind != "" {
		e.Kind = errs.ParseKind(p.Kind)
		e.Message = p.Detail
		e.Fields = p.Errors
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
