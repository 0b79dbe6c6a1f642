package topology

import (
	"testing"
)

// Ports for later are below the ephemeral range, in runs, and never handed
// out twice by one program.
func TestFreePortRunsAreBelowTheEphemeralRangeAndHandedOutOnce(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 20 {
		runs, err := FreePortRuns(2, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range runs {
			for i := range 3 {
				port := p + i
				if port >= ephemeralLow() {
					t.Fatalf("port %d is in the ephemeral range (from %d)", port, ephemeralLow())
				}
				if seen[port] {
					t.Fatalf("port %d handed out twice", port)
				}
				// Whether it is still free is not asserted: another test
				// process may take a port between the probe and a check.
				seen[port] = true
			}
		}
	}
}
