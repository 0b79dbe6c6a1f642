package events

import (
	"testing"
	"time"
)

func TestBackoffGrowsIsCappedAndJittered(t *testing.T) {
	t.Parallel()
	base, ceiling := 100*time.Millisecond, 3*time.Second
	cases := []struct {
		attempt int
		want    time.Duration // before jitter
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 3 * time.Second}, // 3.2s capped
		{40, 3 * time.Second},
	}
	for _, c := range cases {
		lo, hi := c.want, time.Duration(0)
		for range 500 {
			d := backoff(base, ceiling, c.attempt)
			if d < c.want/2 || d > c.want {
				t.Fatalf("backoff(attempt %d) = %s, want within [%s, %s]", c.attempt, d, c.want/2, c.want)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Jitter spreads retries: 500 draws cover most of the range.
		if hi-lo < c.want/4 {
			t.Errorf("backoff(attempt %d) spans only [%s, %s]: no jitter", c.attempt, lo, hi)
		}
	}
}
