package remote

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// The callee's copy of the caller's deadline never ends before the caller's
// own: the time left travels rounded up to the millisecond.
func TestTheCalleesDeadlineEndsNoEarlierThanTheCallers(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{19*time.Millisecond + 900*time.Microsecond, "20"},
		{20 * time.Millisecond, "20"},
		{20*time.Millisecond + time.Microsecond, "21"},
		{300 * time.Microsecond, "1"},
		{-time.Millisecond, "1"},
	} {
		h := http.Header{}
		inject(context.Background(), h, now.Add(tc.left), now)
		if got := h.Get(HeaderTimeout); got != tc.want {
			t.Errorf("%v left: %s = %q, want %q", tc.left, HeaderTimeout, got, tc.want)
		}
	}
}
