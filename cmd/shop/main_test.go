package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// binary is the shop built once for every end-to-end test in this package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "shop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build shop:", err)
		return 1
	}
	return m.Run()
}

const (
	adminEmail    = "root@shop.test"
	adminPassword = "correct horse battery staple"
)

// shop is a running shop binary on a fresh database.
type shop struct {
	t       *testing.T
	base    string
	dbURL   string
	cmd     *exec.Cmd
	logs    *lockedBuffer
	lines   *lineFeed
	done    chan error
	exited  bool
	exitErr error
	// reserved: the test reserved the shop's connections, at its start, for
	// as long as it runs (else each start holds them until the process exits)
	reserved bool
	// partial: the shop hosts only some modules (SHOP_MODULES), so its API
	// description is not the whole shop's, which responses are checked against
	partial bool
}

// lineFeed lets a test wait for a log line without polling.
type lineFeed struct {
	mu      sync.Mutex
	waiters []lineWaiter
}

type lineWaiter struct {
	match func(string) bool
	ch    chan string
}

func (f *lineFeed) publish(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.match(line) {
			w.ch <- line
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

// await returns a channel that receives the first later line matching.
func (f *lineFeed) await(match func(string) bool) <-chan string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan string, 1)
	f.waiters = append(f.waiters, lineWaiter{match: match, ch: ch})
	return ch
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// shopEnv is the environment every test shop starts with; an empty dbURL
// sets no DATABASE_URL (the modules log in with their own URLs).
func shopEnv(dbURL string, extra ...string) []string {
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbURL,
		"SHOP_HTTP_ADDR=127.0.0.1:0",
		"SHOP_LOG_FORMAT=json",
		"SHOP_BOOTSTRAP_ADMIN_EMAIL=" + adminEmail,
		"SHOP_BOOTSTRAP_ADMIN_PASSWORD=" + adminPassword,
		"SHOP_HTTP_BODY_LIMIT_BYTES=65536",
		"SHOP_DB_MAX_CONNS=" + strconv.Itoa(shopConns),
		// Every customer of a test shop signs up from loopback.
		"SHOP_AUTH_REGISTER_PER_IP=100000",
	}, extra...)
	if dbURL == "" {
		env = slices.DeleteFunc(env, func(kv string) bool { return kv == "DATABASE_URL=" })
	}
	return env
}

// shopConns is a test shop's connection budget: three connections per
// module (the least serve accepts with two event workers), taken from the
// budget tests share (dbtest.Hold) while it runs.
const shopConns = 27

// connBudget is the SHOP_DB_MAX_CONNS a process started with env gets.
func connBudget(t *testing.T, env []string) int32 {
	t.Helper()
	n := int64(-1)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SHOP_DB_MAX_CONNS="); ok {
			var err error
			if n, err = strconv.ParseInt(v, 10, 32); err != nil {
				t.Fatalf("SHOP_DB_MAX_CONNS=%q", v)
			}
		}
	}
	if n < 0 {
		t.Fatal("a test shop's environment must set SHOP_DB_MAX_CONNS")
	}
	return int32(n)
}

// holdConns takes n connections of the budget tests share.
func holdConns(n int32) (release func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return dbtest.Hold(ctx, n)
}

// startShop runs `shop serve` on a fresh database and waits until it listens.
func startShop(t *testing.T, extraEnv ...string) *shop {
	t.Helper()
	s := &shop{t: t, dbURL: dbtest.NewURL(t)}
	s.start(extraEnv...)
	return s
}

// start runs the binary on s's database; a stopped shop can be started again.
func (s *shop) start(extraEnv ...string) {
	t := s.t
	t.Helper()
	if s.logs == nil {
		s.logs = &lockedBuffer{}
	}
	s.lines = &lineFeed{}
	s.exited, s.exitErr = false, nil
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Env = shopEnv(s.dbURL, extraEnv...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The process's connections count in the shared test budget until it
	// has exited.
	release := func() {}
	if !s.reserved {
		if release, err = holdConns(connBudget(t, s.cmd.Env)); err != nil {
			t.Fatal(err)
		}
	} else if n := connBudget(t, s.cmd.Env); n > shopConns {
		t.Fatalf("SHOP_DB_MAX_CONNS=%d is more than the %d reserved", n, shopConns)
	}
	if err := s.cmd.Start(); err != nil {
		release()
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	s.done = make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.logs.Write(append(line, '\n'))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "http server listening" {
				addr <- rec.Addr
			}
			s.lines.publish(string(line))
		}
		close(addr)
		// Wait only after the last line was read: os/exec closes the pipe.
		err := s.cmd.Wait()
		release()
		s.done <- err
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("shop logs:\n%s", s.logs.String())
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("shop exited before listening; logs:\n%s", s.logs.String())
		}
		s.base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("shop did not start listening; logs:\n%s", s.logs.String())
	}
}

// stop sends SIGTERM and waits for a clean exit; stopping twice is fine.
func (s *shop) stop() error {
	if s.exited {
		return s.exitErr
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	return s.wait(30 * time.Second)
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *shop) kill() {
	if s.exited {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.wait(30 * time.Second)
}

func (s *shop) wait(limit time.Duration) error {
	select {
	case err := <-s.done:
		s.exited, s.exitErr = true, err
		return err
	case <-time.After(limit):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("shop did not exit within %s", limit)
	}
}

// response is what a call returned.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// call sends a request; body may be nil, a string (sent as is) or a value
// (sent as JSON). Options add headers as "Name: value".
func (s *shop) call(method, path, token string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	s.conform(method, path, r)
	return r
}

// must asserts the status of a call and returns it.
func (s *shop) must(status int, r response) response {
	s.t.Helper()
	if r.Status != status {
		s.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// login returns a session token.
func (s *shop) login(email, password string) string {
	s.t.Helper()
	r := s.must(http.StatusOK, s.call("POST", "/api/identity/login", "", map[string]any{"email": email, "password": password}))
	var out struct {
		Token string `json:"token"`
	}
	r.json(s.t, &out)
	if out.Token == "" {
		s.t.Fatalf("login returned no token: %s", r.Body)
	}
	return out.Token
}

// register creates a customer and returns a session token.
func (s *shop) register(email string) string {
	s.t.Helper()
	s.must(http.StatusAccepted, s.call("POST", "/api/identity/register", "", map[string]any{
		"email": email, "password": "a long enough password", "name": "Test Customer"}))
	return s.login(email, "a long enough password")
}
