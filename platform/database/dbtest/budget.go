//go:build unix

package dbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The shared budget: every test process on this machine that uses the same
// PostgreSQL server takes connections from one pool of SHOP_TEST_DB_CONNS
// (default DefaultTestConns) before it opens them, so that `go test ./...`
// (several test binaries, each with parallel tests) stays under what a shared
// server with the stock max_connections (100) leaves free, also while a shop
// runs against it. Each unit is a lock file under the system's temporary
// folder; a unit is held by an flock, which the kernel releases when the
// holder closes it or dies, so a crashed test binary leaks nothing.
//
// Whoever opens connections reserves their bound first: OpenOwner reserves
// the owner's whole budget (cfg.MaxConns: owner pool, LISTEN and every
// module's share), the end-to-end harness the shop process's
// SHOP_DB_MAX_CONNS. Short-lived administrative connections (CREATE and DROP
// DATABASE) are not counted; they are one per test at a time and leave the
// headroom the default keeps.

// DefaultTestConns is the default of SHOP_TEST_DB_CONNS: 100 connections,
// less 3 reserved for superusers, 32 for a shop with the default budget
// running against the same server, and 9 for administrative ones: two
// end-to-end shops (27 each) at once.
const DefaultTestConns = 56

// reserveTimeout bounds a wait for the budget: a test that waits longer
// than this is stuck (it holds a reservation itself while asking for more
// than is left) and fails with a message instead of hanging the run.
const reserveTimeout = 15 * time.Minute

// TestConns is the shared budget of every test process using this server.
func TestConns() (int32, error) {
	v := os.Getenv("SHOP_TEST_DB_CONNS")
	if v == "" {
		return DefaultTestConns, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("SHOP_TEST_DB_CONNS=%q: want a positive number of connections", v)
	}
	return int32(n), nil
}

// Reserve takes n connections of the shared budget until t ends, waiting
// while others hold them.
func Reserve(t testing.TB, n int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), reserveTimeout)
	defer cancel()
	release, err := Hold(ctx, n)
	if err != nil {
		t.Fatalf("reserve %d test connections: %v", n, err)
	}
	t.Cleanup(release)
}

// Hold takes n connections of the shared budget until release is called
// (for a process started by a test, which gives them back when it exits).
// Calling release again does nothing.
func Hold(ctx context.Context, n int32) (release func(), err error) {
	capacity, err := TestConns()
	if err != nil {
		return nil, err
	}
	if n > capacity {
		return nil, fmt.Errorf("%d connections asked for, the whole budget is SHOP_TEST_DB_CONNS=%d", n, capacity)
	}
	dir, err := budgetDir()
	if err != nil {
		return nil, err
	}
	return hold(ctx, dir, capacity, n)
}

// A request waits in two ways. At first it takes its units all at once or
// none: it never holds some while waiting for the rest, so a test that
// already holds a reservation and asks for more (hold and wait) cannot stop
// requests that fit. A request still unserved after patience claims: it
// keeps the allocator and gathers units as they are given back, for at most
// claimWindow, so that a large request is not starved by a stream of small
// ones; then it gives back what it gathered and lets others in again.
const (
	patience    = 10 * time.Second
	claimWindow = 5 * time.Second
)

// units are the lock files of one budget.
type units struct {
	dir      string
	capacity int32
	// patience and claimWindow (tests shorten them).
	patience, claimWindow time.Duration
	// claims, when set, hears of every claim as it starts.
	claims chan<- struct{}
}

// hold takes n of the capacity units under dir.
func hold(ctx context.Context, dir string, capacity, n int32) (release func(), err error) {
	return units{dir: dir, capacity: capacity, patience: patience, claimWindow: claimWindow}.hold(ctx, n)
}

func (u units) hold(ctx context.Context, n int32) (release func(), err error) {
	start := time.Now()
	for {
		held, err := u.attempt(ctx, n, time.Since(start) >= u.patience)
		if err != nil || int32(len(held)) == n {
			return releaser(held), err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d connections not free after waiting (SHOP_TEST_DB_CONNS=%d): %w", n, u.capacity, ctx.Err())
		case <-time.After(20 * time.Millisecond): // units are given back by other processes; there is nothing to wait on but the files
		}
	}
}

// attempt takes n units under the allocator's lock, all or none; claiming,
// it keeps gathering them for up to claimWindow.
func (u units) attempt(ctx context.Context, n int32, claiming bool) (held []*os.File, err error) {
	// One allocator at a time, across processes: it alone takes units
	// (others only give theirs back).
	alloc, err := lockFile(filepath.Join(u.dir, "alloc"), true)
	if err != nil {
		return nil, err
	}
	defer alloc.Close()
	taken := make([]bool, u.capacity)
	deadline := time.Now().Add(u.claimWindow)
	if claiming && u.claims != nil {
		u.claims <- struct{}{}
	}
	for {
		for i := range u.capacity {
			if int32(len(held)) == n {
				return held, nil
			}
			if taken[i] {
				continue
			}
			f, err := lockFile(filepath.Join(u.dir, strconv.Itoa(int(i))), false)
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			if err != nil {
				releaser(held)()
				return nil, err
			}
			held, taken[i] = append(held, f), true
		}
		if int32(len(held)) == n {
			return held, nil
		}
		if !claiming || time.Now().After(deadline) || ctx.Err() != nil {
			releaser(held)()
			return nil, nil
		}
		time.Sleep(20 * time.Millisecond) // as in hold: only the files tell
	}
}

// releaser closes the held units once.
func releaser(held []*os.File) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, f := range held {
				_ = f.Close()
			}
		})
	}
}

// budgetDir is the folder of the lock files for this server.
func budgetDir() (string, error) {
	u, err := url.Parse(ServerURL())
	if err != nil {
		return "", fmt.Errorf("SHOP_TEST_DATABASE_URL: %w", err)
	}
	sum := sha256.Sum256([]byte(u.Host))
	dir := filepath.Join(os.TempDir(), "shop-test-conns-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("test connection budget: %w", err)
	}
	return dir, nil
}

// lockFile opens and locks a file exclusively; without wait, a lock held
// elsewhere is EWOULDBLOCK. Closing the file releases the lock.
func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("test connection budget: %w", err)
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
