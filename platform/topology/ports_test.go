package topology

import (
	"net"
	"strconv"
	"testing"
)

// Ports for later are below the ephemeral range, free, in runs, and never
// handed out twice by one program.
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
				seen[port] = true
				ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
				if err != nil {
					t.Fatalf("port %d is not free: %v", port, err)
				}
				ln.Close()
			}
		}
	}
}
