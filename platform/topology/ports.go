package topology

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Ports that a process is told to listen on only later (an internal
// address its neighbours must know before it starts) are chosen below the
// kernel's ephemeral range: a port of that range could meanwhile become the
// local end of any outgoing connection, and the process would then fail to
// bind it. A port is handed out once per program, so two topologies started
// at once never get the same one.
var (
	handedMu sync.Mutex
	handed   = map[int]bool{}
)

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	low := 32768
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 12000 {
				low = v
			}
		}
	}
	return low
}

// FreePortRuns returns the first ports of n runs of size consecutive
// loopback ports that nothing listens on now, below the ephemeral range,
// none handed out before by this program.
func FreePortRuns(n, size int) ([]int, error) {
	if n <= 0 || size <= 0 {
		return nil, errors.New("FreePortRuns: n and size must be positive")
	}
	const first = 10000
	low := ephemeralLow()
	handedMu.Lock()
	defer handedMu.Unlock()
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	var runs []int
	for attempt := 0; len(runs) < n; attempt++ {
		if attempt == 1000 {
			return nil, fmt.Errorf("no %d runs of %d free loopback ports between %d and %d", n, size, first, low)
		}
		p := first + rand.IntN(low-first-size)
		var run []net.Listener
		for i := range size {
			if handed[p+i] {
				break
			}
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+i))
			if err != nil {
				break
			}
			run = append(run, ln)
		}
		held = append(held, run...)
		if len(run) == size {
			runs = append(runs, p)
			for i := range size {
				handed[p+i] = true
			}
		}
	}
	return runs, nil
}

// FreeAddr returns a loopback address (host:port) that nothing listens on
// now, chosen as FreePortRuns chooses.
func FreeAddr() (string, error) {
	ports, err := FreePortRuns(1, 1)
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(ports[0]), nil
}
