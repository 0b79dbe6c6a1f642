// Package eventstest helps tests wait for the outcome of asynchronous event
// delivery without sleeping for a fixed time.
package eventstest

import (
	"testing"
	"time"
)

// Eventually re-checks cond every 20 ms until it holds, and fails the test
// with what when it does not within the limit. It waits for an outcome of
// asynchronous work; it does not pace the work itself.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
