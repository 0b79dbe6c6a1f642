package main

import (
	"bytes"
	"cmp"
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
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/topology"
)

// binary is the shop built once for every end-to-end test in this package.
var binary string

func TestMain(m *testing.M) {
	if dir := os.Getenv(natsStoreEnv); dir != "" {
		os.Exit(serveNATS(dir))
	}
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
	if err := chooseTopology(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// e2eTopology is the topology startShop runs: SHOP_E2E_TOPOLOGY, one of
// topology.Names (default monolith). monolith is one process; tests that
// build a shop of their own run it so.
var e2eTopology, monolith topology.Topology

// binaryModules are the binary's modules, as it lists them.
var binaryModules []topology.Module

func chooseTopology() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	modules, err := topology.ModulesOf(ctx, binary)
	if err != nil {
		return err
	}
	binaryModules = modules
	if monolith, err = topology.Named(topology.Monolith, modules, true); err != nil {
		return err
	}
	name := cmp.Or(os.Getenv("SHOP_E2E_TOPOLOGY"), topology.Monolith)
	if e2eTopology, err = topology.Named(name, modules, true); err != nil {
		return fmt.Errorf("SHOP_E2E_TOPOLOGY: %w", err)
	}
	return nil
}

const (
	adminEmail    = "root@shop.test"
	adminPassword = "correct horse battery staple"
)

// shop is a running shop on a fresh database: the binary's processes of a
// topology (one, unless the test asked for another), which tests reach at
// the front process.
type shop struct {
	t       *testing.T
	base    string
	dbURL   string
	topo    topology.Topology // zero: one process hosting what its environment says
	nats    string            // the NATS server of a topology of several processes
	cluster *topology.Cluster
	logs    *lockedBuffer
	lines   *lineFeed
	release func() // gives back the connections held while the processes run
	// reserved: the test reserved the shop's connections, at its start, for
	// as long as it runs (else each start holds them until the processes exit)
	reserved bool
	// partial: the shop hosts only some modules (SHOP_MODULES), so its API
	// description is not the whole shop's, which responses are checked against
	partial bool
	// catalogLogin is catalog's own login (SHOP_DB_CATALOG_URL) once
	// moveCatalog moved it to a database of its own: every start of the
	// process hosting catalog runs on it
	catalogLogin string
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
		// No load balancer to wait for: a test shop stops at once.
		"SHOP_HTTP_DRAIN_DELAY=0s",
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

// groupConns is the budget of one process of a topology: the owner's and
// LISTEN connections, and shopConns' three per module it hosts; an edge
// gets the least the configuration accepts.
func groupConns(g topology.Group) int32 {
	if g.Edge() {
		return database.OwnerConns + database.ListenConns + database.MinModuleConns
	}
	return database.OwnerConns + database.ListenConns + 3*int32(len(g.Modules))
}

// groupHeld is the most a process of a topology holds: its budget, but an
// edge has no module to give a share to, and holds no more than the
// owner's and LISTEN connections.
func groupHeld(g topology.Group) int32 {
	if g.Edge() {
		return database.OwnerConns + database.ListenConns
	}
	return groupConns(g)
}

// topologyConns is the most every process of a topology holds.
func topologyConns(tp topology.Topology) int32 {
	var n int32
	for _, g := range tp.Groups {
		n += groupHeld(g)
	}
	return n
}

// e2eConns is the budget of a shop startShop starts.
func e2eConns() int32 {
	if !e2eTopology.Distributed() {
		return shopConns
	}
	return topologyConns(e2eTopology)
}

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
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	return dbtest.Hold(ctx, n)
}

// startShop runs `shop serve` on a fresh database, in the topology of
// SHOP_E2E_TOPOLOGY, and waits until every process is ready.
func startShop(t *testing.T, extraEnv ...string) *shop {
	t.Helper()
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: e2eTopology}
	s.start(extraEnv...)
	return s
}

// start runs the shop's processes on its database and waits until they
// are ready; after a stop, or a kill of some, it starts the processes that
// are not running again (on the same internal addresses), with extraEnv.
func (s *shop) start(extraEnv ...string) {
	t := s.t
	t.Helper()
	if s.logs == nil {
		s.logs = &lockedBuffer{}
		t.Cleanup(func() {
			_ = s.stop()
			if t.Failed() {
				t.Logf("shop logs:\n%s", s.logs.String())
			}
		})
	}
	s.lines = &lineFeed{}
	env := shopEnv(s.dbURL, extraEnv...)
	if s.release == nil {
		s.hold(env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.cluster != nil {
		if err := s.cluster.Restart(ctx, env, s.cluster.Processes()...); err != nil {
			t.Fatal(err)
		}
	} else {
		c, err := topology.Start(ctx, s.topology(), s.options(env))
		if err != nil {
			s.release()
			s.release = nil
			t.Fatal(err)
		}
		s.cluster = c
		if s.movesCatalog() {
			s.moveCatalog(ctx)
		}
	}
	s.base = s.cluster.Front().URL()
}

// topology is what the shop runs: one process unless the test chose
// another.
func (s *shop) topology() topology.Topology {
	if s.topo.Groups == nil {
		return monolith
	}
	return s.topo
}

func (s *shop) options(env []string) topology.Options {
	tp := s.topology()
	if tp.Distributed() && s.nats == "" {
		s.nats = natstest.Start(s.t).URL()
	}
	return topology.Options{Binary: binary, DatabaseURL: s.dbURL, NATSURL: s.nats, Env: env,
		ProcessEnv: func(g topology.Group) []string {
			own := s.ownLogins(g)
			if !tp.Distributed() {
				return own // the budget of the test's environment
			}
			return append([]string{fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", groupConns(g))}, own...)
		},
		OnLine: func(process, line string) {
			if tp.Distributed() {
				line = process + linePrefix + line
			}
			s.logs.Write([]byte(line + "\n"))
			s.lines.publish(line)
		}}
}

// linePrefix separates the name of the process that wrote a line from the
// line, in a topology of several processes.
const linePrefix = " | "

// processOf names the process that wrote a line of the shop's logs.
func (s *shop) processOf(line string) string {
	if name, _, ok := strings.Cut(line, linePrefix); ok && s.topology().Distributed() {
		return name
	}
	return s.topology().Front().Name
}

// hold takes the connections of every process of the shop from the budget
// tests share, until the shop has stopped; a shop whose test reserved them
// checks that they suffice.
func (s *shop) hold(env []string) {
	t := s.t
	t.Helper()
	n := connBudget(t, env)
	if tp := s.topology(); tp.Distributed() {
		n = topologyConns(tp)
	}
	if s.reserved {
		if n > e2eConns() {
			t.Fatalf("the shop needs %d connections, more than the %d reserved", n, e2eConns())
		}
		s.release = func() {}
		return
	}
	if p, ok := testPools.Load(t); ok {
		s.release = p.(*connPool).take(t, n)
		return
	}
	release, err := holdConns(n)
	if err != nil {
		t.Fatal(err)
	}
	s.release = release
}

// testPools are the connections tests that run several shops reserved for
// all of them at once (reserveShops).
var testPools sync.Map // *testing.T → *connPool

// reserveShops reserves, before the test starts any, the connections of
// every shop it runs at the same time: each shop then takes its share from
// the test's pool, never from the budget tests share. A test that held one
// shop's connections while waiting for another's could wait for good on a
// test doing the same.
func reserveShops(t *testing.T, n int32) {
	t.Helper()
	dbtest.Reserve(t, n)
	testPools.Store(t, &connPool{free: n})
	t.Cleanup(func() { testPools.Delete(t) })
}

// connPool is what is left of a test's reservation.
type connPool struct {
	mu   sync.Mutex
	free int32
}

// take takes n connections of the pool until release is called; the test
// fails when its reservation does not cover them.
func (p *connPool) take(t *testing.T, n int32) (release func()) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > p.free {
		t.Fatalf("a shop needs %d connections, %d of the test's reservation are left", n, p.free)
	}
	p.free -= n
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.free += n
		})
	}
}

// stop stops every process (SIGTERM) and returns how those that did not
// exit cleanly ended; stopping twice is fine.
func (s *shop) stop() error {
	if s.cluster == nil {
		return nil
	}
	err := s.cluster.Stop()
	s.stopped()
	return err
}

// kill kills every process (SIGKILL).
func (s *shop) kill() {
	if s.cluster == nil {
		return
	}
	s.cluster.Kill()
	s.stopped()
}

// env is the environment the front process runs with.
func (s *shop) env() []string { return s.cluster.Front().Env() }

// killProcess kills one process of the shop (SIGKILL); start runs it again.
func (s *shop) killProcess(name string) {
	s.t.Helper()
	p := s.cluster.Process(name)
	if p == nil {
		s.t.Fatalf("the shop has no process %q", name)
	}
	p.Kill()
}

// stopped gives the connections back once no process runs.
func (s *shop) stopped() {
	if s.release != nil {
		s.release()
		s.release = nil
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
	r, err := s.send(20*time.Second, method, path, token, body, headers...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send sends a request as call does, giving up after timeout; it returns
// the error of a request that got no answer.
func (s *shop) send(timeout time.Duration, method, path, token string, body any, headers ...string) (response, error) {
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
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	s.conform(method, path, r)
	return r, nil
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
