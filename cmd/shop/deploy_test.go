package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// The deployment artefacts (Dockerfile, compose.yaml, everything under
// .deploy/) name settings, ports, paths and modules of this binary; this
// test reads every one of them and fails where one names what the binary
// does not know or serve, or leaves a module out.
func TestDeploymentArtefactsMatchTheBinary(t *testing.T) {
	t.Parallel()
	repo, err := artefactFiles(os.DirFS("../.."))
	if err != nil {
		t.Fatal(err)
	}
	srv := startListeners(t)
	for _, problem := range checkArtefacts(t, repo, srv) {
		t.Error(problem)
	}
}

// Each artefact broken in one way is caught, with a message that names
// what is wrong: the check above is not blind.
func TestDeploymentCheckCatchesBrokenArtefacts(t *testing.T) {
	t.Parallel()
	repo, err := artefactFiles(os.DirFS("../.."))
	if err != nil {
		t.Fatal(err)
	}
	srv := startListeners(t)
	const (
		overlay = ".deploy/kubernetes/overlays/split-catalog/"
		base    = ".deploy/kubernetes/base/"
	)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"unknown setting", "compose.yaml", "SHOP_HTTP_DRAIN_DELAY: 5s", "SHOP_HTTP_DRAIN: 5s", "SHOP_HTTP_DRAIN: a setting the binary does not know"},
		{"unknown setting in the image", "Dockerfile", "ENV SHOP_HTTP_ADDR=:8080", "ENV SHOP_HTTP_PORT=8080 SHOP_HTTP_ADDR=:8080", "SHOP_HTTP_PORT: a setting the binary does not know"},
		{"invalid setting", "compose.yaml", "SHOP_EVENTS_TRANSPORT: nats", "SHOP_EVENTS_TRANSPORT: kafka", "SHOP_EVENTS_TRANSPORT: must be"},
		{"root image", "Dockerfile", "USER 65532:65532", "USER root", "runs as root"},
		{"no user", "Dockerfile", "USER 65532:65532\n", "", "no USER"},
		{"user the image does not know", ".deploy/image/rootfs.sh", "nonroot:x:65532:65532", "nonroot:x:65533:65533", "no user 65532:65532"},
		{"port not exposed by the binary", "Dockerfile", "EXPOSE 8080 8081 9090", "EXPOSE 8080 8081 9090 7070", "exposes port 7070"},
		{"unknown command", "Dockerfile", `CMD ["serve"]`, `CMD ["run"]`, `command "run"`},
		{"check on a port that is no listener", ".deploy/haproxy/monolith.cfg", "shop-2:8080 check port 9090", "shop-2:8080 check port 9091", "shop-2:8080 check port 9091"},
		{"check path not served", ".deploy/haproxy/split.cfg", "GET /readyz", "GET /ready", "GET /ready: not served"},
		{"checks slower than the drain", ".deploy/haproxy/monolith.cfg", "inter 1s fall 3", "inter 2s fall 3", "longer than"},
		{"checks slower than the default drain", ".deploy/compose.split.yaml", "  SHOP_HTTP_DRAIN_DELAY: 5s\n", "", "longer than its SHOP_HTTP_DRAIN_DELAY 1s"},
		{"probe path not served", base + "deployment.yaml", "httpGet: {path: /readyz, port: ops}", "httpGet: {path: /ready, port: ops}", "/ready: not served"},
		{"probe on a port the pod lacks", overlay + "catalog.yaml", "httpGet: {path: /healthz, port: ops}\n            periodSeconds: 10", "httpGet: {path: /healthz, port: admin}\n            periodSeconds: 10", `port "admin"`},
		{"container port no listener serves", base + "deployment.yaml", "{name: ops, containerPort: 9090}", "{name: ops, containerPort: 9191}", "9191"},
		{"grace period within the drain", base + "deployment.yaml", "terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 25", "grace period 25s"},
		{"compose grace period within the drain", "compose.yaml", "stop_grace_period: 30s", "stop_grace_period: 10s", "grace period 10s"},
		{"module omitted", ".deploy/compose.split.yaml", "SHOP_MODULES: reporting", "SHOP_MODULES: notifications", "reporting: hosted by no process"},
		{"module hosted twice", overlay + "shop-without-catalog.yaml", `{name: SHOP_MODULES, value: "identity,`, `{name: SHOP_MODULES, value: "catalog,identity,`, "catalog: hosted by more than one"},
		{"another module's secret", overlay + "shop-without-catalog.yaml", "            - {name: SHOP_DB_CATALOG_URL, $patch: delete}\n", "", "SHOP_DB_CATALOG_URL"},
		{"secret of another module", base + "deployment.yaml", "secretKeyRef: {name: shop-identity, key: database-url}", "secretKeyRef: {name: shop-catalog, key: database-url}", "SHOP_DB_IDENTITY_URL: from Secret shop-catalog"},
		{"module URL on a port no Service has", overlay + "shop-without-catalog.yaml", "catalog=http://shop-catalog-internal:8081", "catalog=http://shop-catalog-internal:8080", "shop-catalog-internal:8080"},
		{"module URL at a process not hosting it", ".deploy/compose.split.yaml", "SHOP_MODULE_URLS: identity=http://identity:8081,inventory=http://inventory:8081", "SHOP_MODULE_URLS: identity=http://catalog:8081,inventory=http://inventory:8081", "identity=http://catalog:8081"},
		{"no migration step", ".deploy/compose.split.yaml", `command: ["migrate", "up"]`, `command: ["migrate", "status"]`, "no migrate up"},
		{"no disruption budget", overlay + "catalog.yaml", "  name: shop-catalog\nspec:\n  minAvailable: 1", "  name: shop-catalog\nspec:\n  minAvailable: 0", "PodDisruptionBudget"},
		{"no resource requests", overlay + "catalog.yaml", "requests: {cpu: 100m, memory: 128Mi}", "limits2: {}", "resource requests"},
		{"artefact nobody reads", ".deploy/kubernetes/stray.yaml", "", "kind: ConfigMap\n", "stray.yaml: read by no check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			broken := fstest.MapFS{}
			maps.Copy(broken, repo)
			f, ok := broken[tc.file]
			switch {
			case !ok && tc.old == "":
				broken[tc.file] = &fstest.MapFile{Data: []byte(tc.new)}
			case !ok || !bytes.Contains(f.Data, []byte(tc.old)):
				t.Fatalf("%s does not hold %q", tc.file, tc.old)
			default:
				broken[tc.file] = &fstest.MapFile{Data: bytes.Replace(f.Data, []byte(tc.old), []byte(tc.new), 1)}
			}
			problems := checkArtefacts(t, broken, srv)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; problems:\n%s", tc.want, strings.Join(problems, "\n"))
			}
		})
	}
}

// artefactFiles reads the deployment artefacts of the repository at root.
func artefactFiles(root fs.FS) (fstest.MapFS, error) {
	files := fstest.MapFS{}
	add := func(name string) error {
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		files[name] = &fstest.MapFile{Data: b}
		return nil
	}
	for _, name := range []string{"Dockerfile", "compose.yaml", ".dockerignore"} {
		if err := add(name); err != nil {
			return nil, err
		}
	}
	err := fs.WalkDir(root, ".deploy", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return add(name)
	})
	return files, err
}

// listeners is a running HTTP edge of the shop with all three listeners,
// asked whether it serves a path on one of them.
type listeners map[string]string // listener setting → base URL

func startListeners(t *testing.T) listeners {
	t.Helper()
	cfg, err := config.Load(mapEnv("SHOP_HTTP_ADDR=127.0.0.1:0", "SHOP_HTTP_OPS_ADDR=127.0.0.1:0", "SHOP_HTTP_INTERNAL_ADDR=127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	public := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { public <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case a := <-public:
		return listeners{
			"SHOP_HTTP_ADDR":          "http://" + a.String(),
			"SHOP_HTTP_OPS_ADDR":      "http://" + srv.OpsAddr(),
			"SHOP_HTTP_INTERNAL_ADDR": "http://" + srv.InternalAddr(),
		}
	case err := <-done:
		t.Fatalf("server: %v", err)
	}
	return nil
}

// serves reports whether GET path on the listener of setting is answered
// by a route, rather than 404 or 405.
func (l listeners) serves(setting, path string) (bool, error) {
	resp, err := http.Get(l[setting] + path)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed, nil
}

var listenerSettings = []string{"SHOP_HTTP_ADDR", "SHOP_HTTP_INTERNAL_ADDR", "SHOP_HTTP_OPS_ADDR"}

// process is one shop container an artefact runs.
type process struct {
	where    string            // artefact and service, for messages
	group    string            // the replicas of one process share it
	names    []string          // host names other processes reach it by (compose)
	env      map[string]string // the image's ENV beneath the artefact's
	secrets  map[string]string // setting → the Secret it is read from (Kubernetes)
	args     []string          // the command (the image's CMD when none)
	ports    map[string]int    // declared container ports (by name; compose: none)
	probes   []probe
	grace    time.Duration
	graceSet bool
	drain    *time.Duration    // SHOP_HTTP_DRAIN_DELAY as the binary reads it (its default when unset); nil when refused
	requests bool              // resource requests declared (Kubernetes)
	labels   map[string]string // pod labels (Kubernetes)
	hosted   []string          // the modules it hosts, once checked
}

type probe struct{ kind, port, path string }

func (p *process) serving() bool { return len(p.args) == 0 || p.args[0] == "serve" }

// listenerPort is the port a listener setting gives; 0 when unset.
func (p *process) listenerPort(setting string) int {
	_, port, err := net.SplitHostPort(p.env[setting])
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// listenerOn names the listener setting serving port; "" when none does.
func (p *process) listenerOn(port int) string {
	for _, s := range listenerSettings {
		if port != 0 && p.listenerPort(s) == port {
			return s
		}
	}
	return ""
}

// deployment is what one compose file or one kustomization runs.
type deployment struct {
	name      string
	processes []*process
	services  []service    // Kubernetes Services
	lb        []lbServer   // HAProxy's servers
	pdbs      []labelMatch // PodDisruptionBudgets' selectors (minAvailable > 0)
	migrates  bool         // runs migrate up
}

type service struct {
	name     string
	selector map[string]string
	ports    map[int]string // port → targetPort (name or number)
}

type labelMatch map[string]string

func (m labelMatch) matches(labels map[string]string) bool {
	for k, v := range m {
		if labels[k] != v {
			return false
		}
	}
	return len(m) > 0
}

type lbServer struct {
	where            string
	host             string
	port, checkPort  int
	checkPath        string
	inter            time.Duration
	fall             int
	balancesInternal bool
}

// checker gathers the problems of the artefacts in files.
type checker struct {
	t        *testing.T
	files    fstest.MapFS
	read     map[string]bool
	srv      listeners
	modules  []string
	known    []string
	keys     map[string]string // shop keys' settings: example values of the call keys
	problems []string
	image    map[string]string // the image's ENV
	cmd      []string          // the image's CMD
}

func (c *checker) bad(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) file(name string) []byte {
	c.read[name] = true
	f, ok := c.files[name]
	if !ok {
		c.bad("%s: missing", name)
		return nil
	}
	return f.Data
}

func checkArtefacts(t *testing.T, files fstest.MapFS, srv listeners) []string {
	t.Helper()
	modules, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	var keys bytes.Buffer
	if err := runKeys(nil, &keys); err != nil {
		t.Fatal(err)
	}
	c := &checker{t: t, files: files, read: map[string]bool{}, srv: srv, modules: modules,
		known: append(config.Names(), config.ModuleNames(modules)...), keys: map[string]string{}}
	for _, line := range strings.Split(keys.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			c.keys[k] = v
		}
	}
	c.read[".dockerignore"] = true // the build context, exercised by make image
	c.dockerfile()
	for _, name := range []string{"compose.yaml", ".deploy/compose.split.yaml"} {
		c.deployment(c.compose(name), name == "compose.yaml")
	}
	c.deployment(c.kustomize(".deploy/kubernetes/base"), true)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if dir, ok := strings.CutSuffix(name, "/kustomization.yaml"); ok && strings.HasPrefix(dir, ".deploy/kubernetes/overlays/") {
			c.deployment(c.kustomize(dir), false)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !c.read[name] {
			c.bad("%s: read by no check (teach TestDeploymentArtefactsMatchTheBinary to read it)", name)
		}
	}
	return c.problems
}

// dockerfile checks the image: non-root, exposing the listeners' ports,
// running /shop with a command it knows; its ENV is beneath every process.
func (c *checker) dockerfile() {
	type stage struct {
		user       string
		env        map[string]string
		expose     []int
		entrypoint []string
		cmd        []string
	}
	stages := map[string]*stage{}
	var cur, last *stage
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(c.file("Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if n := len(lines); n > 0 && strings.HasSuffix(lines[n-1], "\\") {
			lines[n-1] = strings.TrimSuffix(lines[n-1], "\\") + " " + line
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	for _, line := range lines {
		instr, rest, _ := strings.Cut(line, " ")
		f := strings.Fields(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			s := &stage{env: map[string]string{}}
			if from, ok := stages[f[0]]; ok { // a stage built on another inherits its settings
				*s = *from
				s.env = maps.Clone(from.env)
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = s
			}
			cur, last = s, s
		case "USER":
			cur.user = rest
		case "ENV":
			for _, kv := range f {
				k, v, _ := strings.Cut(kv, "=")
				cur.env[k] = v
			}
		case "EXPOSE":
			for _, p := range f {
				n, _ := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				cur.expose = append(cur.expose, n)
			}
		case "ENTRYPOINT", "CMD":
			var list []string
			if err := yaml.Unmarshal([]byte(rest), &list); err != nil {
				c.bad("Dockerfile: %s is not an exec form list: %v", instr, err)
			}
			if strings.ToUpper(instr) == "CMD" {
				cur.cmd = list
			} else {
				cur.entrypoint = list
			}
		}
	}
	if last == nil {
		c.bad("Dockerfile: no stage")
		return
	}
	rootfs := c.file(".deploy/image/rootfs.sh") // the runtime image's files beside /shop
	for _, name := range []string{"runtime", "runtime-local"} {
		s, ok := stages[name]
		if !ok {
			c.bad("Dockerfile: no stage %s", name)
			continue
		}
		where := "Dockerfile stage " + name
		user, _, _ := strings.Cut(s.user, ":")
		switch user {
		case "":
			c.bad("%s: no USER: the image would run as root", where)
		case "0", "root":
			c.bad("%s: runs as root (USER %s)", where, s.user)
		default:
			if !bytes.Contains(rootfs, []byte(":x:"+s.user+":")) { // passwd's name:x:uid:gid:
				c.bad("%s: USER %s, yet .deploy/image/rootfs.sh writes no user %s in /etc/passwd", where, s.user, s.user)
			}
		}
		if !slices.Equal(s.entrypoint, []string{"/shop"}) {
			c.bad("%s: ENTRYPOINT %q, want [\"/shop\"]", where, s.entrypoint)
		}
		c.command(where, s.cmd)
		img := &process{where: where, env: s.env}
		c.settings(img)
		for _, port := range s.expose {
			if img.listenerOn(port) == "" && port != internalPort {
				c.bad("%s: exposes port %d, which no listener of the image's settings serves (nor the internal one, :%d)", where, port, internalPort)
			}
		}
		for _, l := range listenerSettings {
			if p := img.listenerPort(l); p != 0 && !slices.Contains(s.expose, p) {
				c.bad("%s: %s=%s is not exposed", where, l, s.env[l])
			}
		}
	}
	if last != stages["runtime"] {
		c.bad("Dockerfile: the last stage (what docker build builds) is not runtime")
	}
	c.image, c.cmd = stages["runtime"].env, stages["runtime"].cmd
}

// internalPort is where every artefact puts the internal listener.
const internalPort = 8081

// command checks a process's arguments name a command of the binary.
func (c *checker) command(where string, args []string) {
	if len(args) == 0 {
		return
	}
	err := run(context.Background(), append(slices.Clone(args[:1]), "--help"), &bytes.Buffer{}, &bytes.Buffer{}, mapEnv())
	if err != errHelpShown {
		c.bad("%s: command %q is not one of the binary's (%v)", where, args[0], err)
	}
}

// settings checks that every setting a process is given is one the binary
// knows.
func (c *checker) settings(p *process) {
	for _, name := range slices.Sorted(maps.Keys(p.env)) {
		if !slices.Contains(c.known, name) {
			c.bad("%s: %s: a setting the binary does not know", p.where, name)
		}
	}
}

// example gives a value for a setting an artefact leaves to a secret or to
// the operator (${VAR}): the call keys of one shop keys run, a module's own
// login, or a password.
func (c *checker) example(setting string) string {
	if v, ok := c.keys[setting]; ok {
		return v
	}
	for _, m := range c.modules {
		if setting == config.ModuleDBURLName(m) {
			return "postgres://shop_" + m + ":example-password@postgres:5432/shop"
		}
	}
	if setting == "DATABASE_URL" {
		return "postgres://postgres:example-password@postgres:5432/shop"
	}
	return "example-secret-0123456789"
}

// interpolation is compose's ${VAR}, ${VAR:-default}, ${VAR:?error}.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}`)

func (c *checker) interpolate(setting, value string) string {
	if m := interpolation.FindStringSubmatch(value); m != nil && m[0] == value && m[2] != "-" {
		return c.example(setting)
	}
	return interpolation.ReplaceAllStringFunc(value, func(s string) string {
		m := interpolation.FindStringSubmatch(s)
		if m[2] == "-" {
			return m[3]
		}
		return "example-password"
	})
}

// deployment checks the processes one artefact runs, together.
func (c *checker) deployment(tp deployment, monolith bool) {
	if tp.name == "" {
		return
	}
	groups := map[string][]string{} // hosted modules → a process of the group
	for _, p := range tp.processes {
		c.process(tp, p)
		if p.serving() {
			key := strings.Join(p.hosted, ",")
			groups[key] = append(groups[key], p.where)
		}
	}
	for _, m := range c.modules {
		var by []string
		for key, where := range groups {
			if slices.Contains(strings.Split(key, ","), m) {
				by = append(by, where[0])
			}
		}
		slices.Sort(by)
		switch {
		case len(by) == 0:
			c.bad("%s: %s: hosted by no process", tp.name, m)
		case len(by) > 1:
			c.bad("%s: %s: hosted by more than one kind of process (%s): a module runs in one place", tp.name, m, strings.Join(by, ", "))
		}
	}
	if monolith && len(groups) != 1 {
		c.bad("%s: a monolith, yet its processes host different modules", tp.name)
	}
	if !tp.migrates {
		c.bad("%s: no migrate up step", tp.name)
	}
	c.moduleURLs(tp)
	c.loadBalancer(tp)
	c.services(tp)
}

// process checks one process: its settings as the binary loads them,
// its ports, probes and grace period.
func (c *checker) process(tp deployment, p *process) {
	c.settings(p)
	c.command(p.where, p.args)
	lookup := func(name string) (string, bool) { v, ok := p.env[name]; return v, ok }
	var e env
	var err error
	if p.serving() {
		e, err = serveSettings(lookup)
	} else {
		e, err = settings(lookup)
	}
	if err != nil {
		c.bad("%s: the binary refuses these settings: %v", p.where, err)
	} else {
		p.drain = &e.cfg.HTTP.DrainDelay
	}
	// What it hosts, read as the binary reads SHOP_MODULES, even from
	// settings it refuses.
	var t config.Topology
	for m := range strings.SplitSeq(p.env["SHOP_MODULES"], ",") {
		if m = strings.TrimSpace(m); m != "" {
			t.Modules = append(t.Modules, m)
		}
	}
	p.hosted = []string{}
	for _, m := range c.modules {
		if t.Hosts(m) {
			p.hosted = append(p.hosted, m)
		}
	}
	for setting, secret := range p.secrets {
		for _, m := range c.modules {
			if (setting == config.ModuleDBURLName(m) || setting == config.CallKeyName(m)) && secret != "shop-"+m {
				c.bad("%s: %s: from Secret %s, not %s's own Secret shop-%s", p.where, setting, secret, m, m)
			}
		}
	}
	for name, port := range p.ports {
		if p.listenerOn(port) == "" {
			c.bad("%s: container port %s (%d) is not the port of a listener (%s)", p.where, name, port, strings.Join(listenerSettings, ", "))
		}
	}
	if p.ports != nil {
		for _, l := range listenerSettings {
			if port := p.listenerPort(l); port != 0 && !slices.Contains(slices.Collect(maps.Values(p.ports)), port) {
				c.bad("%s: %s's port %d is not declared", p.where, l, port)
			}
		}
		if !p.requests {
			c.bad("%s: no resource requests", p.where)
		}
	}
	for _, pr := range p.probes {
		port, ok := p.ports[pr.port]
		if !ok {
			port, _ = strconv.Atoi(pr.port)
		}
		listener := p.listenerOn(port)
		if listener == "" {
			c.bad("%s: %s probe on port %q, which no listener serves", p.where, pr.kind, pr.port)
			continue
		}
		c.served(p.where+": "+pr.kind+" probe", listener, pr.path)
	}
	if p.serving() && p.ports != nil {
		for kind, want := range map[string]string{"readiness": "/readyz", "liveness": "/healthz"} {
			if !slices.ContainsFunc(p.probes, func(pr probe) bool { return pr.kind == kind && pr.path == want }) {
				c.bad("%s: no %s probe on %s", p.where, kind, want)
			}
		}
	}
	if p.serving() && err == nil {
		drain := e.cfg.HTTP.DrainDelay + e.cfg.HTTP.ShutdownTimeout
		switch {
		case !p.graceSet:
			c.bad("%s: no termination grace period: the default may cut the drain (SHOP_HTTP_DRAIN_DELAY + SHOP_HTTP_SHUTDOWN_TIMEOUT = %s)", p.where, drain)
		case p.grace <= drain:
			c.bad("%s: termination grace period %s, not longer than SHOP_HTTP_DRAIN_DELAY + SHOP_HTTP_SHUTDOWN_TIMEOUT = %s", p.where, p.grace, drain)
		}
	}
}

// served checks the binary answers GET path on listener.
func (c *checker) served(where, listener, path string) {
	ok, err := c.srv.serves(listener, path)
	switch {
	case err != nil:
		c.t.Fatalf("ask the listener %s for %s: %v", listener, path, err)
	case !ok:
		c.bad("%s: GET %s: not served on %s", where, path, listener)
	}
}

// reach finds the processes a host:port of a URL or a load balancer reaches,
// and the port it reaches them on.
func (c *checker) reach(tp deployment, host string, port int) ([]*process, int) {
	var found []*process
	for _, p := range tp.processes {
		if slices.Contains(p.names, host) {
			found = append(found, p)
		}
	}
	if found != nil {
		return found, port
	}
	for _, s := range tp.services {
		target, ok := s.ports[port]
		if s.name != host || !ok {
			continue
		}
		for _, p := range tp.processes {
			if labelMatch(s.selector).matches(p.labels) {
				found = append(found, p)
				if n, ok := p.ports[target]; ok {
					port = n
				} else {
					port, _ = strconv.Atoi(target)
				}
			}
		}
	}
	return found, port
}

// moduleURLs checks each SHOP_MODULE_URLS address reaches the internal
// listener of processes hosting that module.
func (c *checker) moduleURLs(tp deployment) {
	for _, p := range tp.processes {
		var urls config.ModuleURLs
		if err := urls.UnmarshalText([]byte(p.env["SHOP_MODULE_URLS"])); err != nil {
			continue // reported with the settings
		}
		for _, m := range slices.Sorted(maps.Keys(urls)) {
			u, err := url.Parse(urls[m])
			if err != nil {
				continue
			}
			port, _ := strconv.Atoi(u.Port())
			targets, at := c.reach(tp, u.Hostname(), port)
			if len(targets) == 0 {
				c.bad("%s: SHOP_MODULE_URLS %s=%s: reaches no process (no service %s with port %d)", p.where, m, urls[m], u.Host, port)
			}
			for _, target := range targets {
				switch {
				case target.listenerOn(at) != "SHOP_HTTP_INTERNAL_ADDR":
					c.bad("%s: SHOP_MODULE_URLS %s=%s: reaches %s on port %d, not its internal listener", p.where, m, urls[m], target.where, at)
				case !slices.Contains(target.hosted, m):
					c.bad("%s: SHOP_MODULE_URLS %s=%s: reaches %s, which does not host %s", p.where, m, urls[m], target.where, m)
				}
			}
		}
	}
}

// loadBalancer checks HAProxy's servers are processes' listeners, checked
// on a path they serve, and taken out within their drain delay.
func (c *checker) loadBalancer(tp deployment) {
	for _, s := range tp.lb {
		targets, _ := c.reach(tp, s.host, s.port)
		if len(targets) != 1 {
			c.bad("%s: server %s: no process of that name", s.where, s.host)
			continue
		}
		p := targets[0]
		if l := p.listenerOn(s.port); l != "SHOP_HTTP_ADDR" {
			c.bad("%s: server %s:%d: not %s's public listener (%s)", s.where, s.host, s.port, p.where, p.env["SHOP_HTTP_ADDR"])
		}
		check := p.listenerOn(s.checkPort)
		if check == "" {
			c.bad("%s: server %s:%d check port %d: no listener of %s", s.where, s.host, s.port, s.checkPort, p.where)
			continue
		}
		c.served(s.where+": option httpchk", check, s.checkPath)
		if taken := s.inter * time.Duration(s.fall); p.drain != nil && taken >= *p.drain {
			c.bad("%s: server %s is taken out after %s (inter × fall), longer than its SHOP_HTTP_DRAIN_DELAY %s: it would get requests after its listener closed", s.where, s.host, taken, *p.drain)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// services checks each Service reaches pods on a declared port, and each
// serving Deployment has a PodDisruptionBudget.
func (c *checker) services(tp deployment) {
	for _, s := range tp.services {
		for port, target := range s.ports {
			targets, at := c.reach(tp, s.name, port)
			if len(targets) == 0 {
				c.bad("%s: Service %s selects no pod", tp.name, s.name)
			}
			for _, p := range targets {
				if p.listenerOn(at) == "" {
					c.bad("%s: Service %s port %d → %s: no listener of %s", tp.name, s.name, port, target, p.where)
				}
			}
		}
	}
	for _, p := range tp.processes {
		if p.labels != nil && p.serving() && !slices.ContainsFunc(tp.pdbs, func(m labelMatch) bool { return m.matches(p.labels) }) {
			c.bad("%s: no PodDisruptionBudget (minAvailable ≥ 1) covers it", p.where)
		}
	}
}

// compose reads a compose file: the services built from the Dockerfile
// are shop processes; HAProxy's configuration comes from its volume.
func (c *checker) compose(name string) deployment {
	var doc struct {
		Services map[string]struct {
			Build           any               `yaml:"build"`
			Image           string            `yaml:"image"`
			Command         []string          `yaml:"command"`
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Volumes         []string          `yaml:"volumes"`
			DependsOn       any               `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(c.file(name), &doc); err != nil {
		c.bad("%s: %v", name, err)
		return deployment{}
	}
	tp := deployment{name: name}
	for _, svc := range slices.Sorted(maps.Keys(doc.Services)) {
		s := doc.Services[svc]
		switch {
		case s.Build != nil:
			p := &process{where: name + " service " + svc, names: []string{svc}, env: maps.Clone(c.image), args: s.Command}
			if p.args == nil {
				p.args = c.cmd
			}
			for k, v := range s.Environment {
				p.env[k] = c.interpolate(k, v)
			}
			if s.StopGracePeriod != "" {
				p.grace, p.graceSet = parseDuration(c, p.where, s.StopGracePeriod), true
			}
			if slices.Equal(p.args, []string{"migrate", "up"}) {
				tp.migrates = true
			} else if deps, _ := s.DependsOn.(map[string]any); fmt.Sprint(deps["migrate"]) != "map[condition:service_completed_successfully]" {
				c.bad("%s: does not wait for the migrate service (depends_on: migrate: condition: service_completed_successfully)", p.where)
			}
			tp.processes = append(tp.processes, p)
		case strings.HasPrefix(s.Image, "haproxy:"):
			for _, v := range s.Volumes {
				src, dst, _ := strings.Cut(v, ":")
				if strings.HasPrefix(dst, "/usr/local/etc/haproxy/haproxy.cfg") {
					cfg := path.Clean(path.Join(path.Dir(name), src))
					tp.lb = append(tp.lb, c.haproxy(cfg)...)
				}
			}
		}
	}
	if tp.lb == nil {
		c.bad("%s: no HAProxy with a configuration", name)
	}
	return tp
}

func parseDuration(c *checker, where, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		c.bad("%s: %q is not a duration", where, s)
	}
	return d
}

// haproxy reads the servers of an HAProxy configuration, with their checks.
func (c *checker) haproxy(name string) []lbServer {
	var servers []lbServer
	var path string
	inter, fall := 2*time.Second, 3 // HAProxy's defaults
	number := func(fields []string, key string) (string, bool) {
		if i := slices.Index(fields, key); i >= 0 && i+1 < len(fields) {
			return fields[i+1], true
		}
		return "", false
	}
	for line := range strings.Lines(string(c.file(name))) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch {
		case len(f) >= 4 && f[0] == "option" && f[1] == "httpchk":
			path = f[len(f)-1]
		case f[0] == "default-server":
			if v, ok := number(f, "inter"); ok {
				inter = parseDuration(c, name, v)
			}
			if v, ok := number(f, "fall"); ok {
				fall, _ = strconv.Atoi(v)
			}
		case f[0] == "server" && len(f) >= 3:
			host, port, _ := net.SplitHostPort(f[2])
			s := lbServer{where: name + ": " + strings.Join(f, " "), host: host, checkPath: path, inter: inter, fall: fall}
			s.port, _ = strconv.Atoi(port)
			s.checkPort = s.port
			if v, ok := number(f, "port"); ok {
				s.checkPort, _ = strconv.Atoi(v)
			}
			if !slices.Contains(f, "check") || path == "" {
				c.bad("%s: not health-checked (check, and option httpchk GET /readyz)", s.where)
			}
			servers = append(servers, s)
		}
	}
	return servers
}

// kustomize reads a kustomization as kustomize builds it, for what these
// artefacts use: resources (files and directories) and strategic merge
// patches. Anything else is a problem, so that the check never reads less
// than what a cluster gets.
func (c *checker) kustomize(dir string) deployment {
	objects := c.build(dir)
	tp := deployment{name: dir}
	for _, o := range objects {
		kind, _ := o["kind"].(string)
		name := dig[string](o, "metadata", "name")
		where := dir + " " + kind + " " + name
		switch kind {
		case "Deployment", "Job":
			pod := dig[map[string]any](o, "spec", "template", "spec")
			labels := map[string]string{}
			for k, v := range dig[map[string]any](o, "spec", "template", "metadata", "labels") {
				labels[k] = fmt.Sprint(v)
			}
			grace, graceSet := pod["terminationGracePeriodSeconds"].(int)
			for _, ct := range dig[[]any](pod, "containers") {
				ctr, _ := ct.(map[string]any)
				if dig[string](ctr, "image") != "shop" {
					continue
				}
				p := &process{where: where, env: maps.Clone(c.image), secrets: map[string]string{}, ports: map[string]int{},
					grace: time.Duration(grace) * time.Second, graceSet: graceSet}
				if kind == "Deployment" {
					p.labels = labels
				}
				for _, a := range dig[[]any](ctr, "args") {
					p.args = append(p.args, fmt.Sprint(a))
				}
				if p.args == nil {
					p.args = c.cmd
				}
				for _, e := range dig[[]any](ctr, "env") {
					ev, _ := e.(map[string]any)
					n := dig[string](ev, "name")
					if ref := dig[map[string]any](ev, "valueFrom", "secretKeyRef"); ref != nil {
						p.secrets[n] = dig[string](ref, "name")
						p.env[n] = c.example(n)
						continue
					}
					p.env[n] = fmt.Sprint(ev["value"])
				}
				for _, pt := range dig[[]any](ctr, "ports") {
					pm, _ := pt.(map[string]any)
					n, _ := pm["containerPort"].(int)
					p.ports[cmpOr(dig[string](pm, "name"), strconv.Itoa(n))] = n
				}
				for _, kind := range []string{"readiness", "liveness", "startup"} {
					if get := dig[map[string]any](ctr, kind+"Probe", "httpGet"); get != nil {
						p.probes = append(p.probes, probe{kind: kind, port: fmt.Sprint(get["port"]), path: dig[string](get, "path")})
					}
				}
				p.requests = len(dig[map[string]any](ctr, "resources", "requests")) > 0
				if kind == "Job" {
					if slices.Equal(p.args, []string{"migrate", "up"}) {
						tp.migrates = true
					}
					p.ports = nil
				}
				tp.processes = append(tp.processes, p)
			}
		case "Service":
			s := service{name: name, selector: map[string]string{}, ports: map[int]string{}}
			for k, v := range dig[map[string]any](o, "spec", "selector") {
				s.selector[k] = fmt.Sprint(v)
			}
			for _, pt := range dig[[]any](o, "spec", "ports") {
				pm, _ := pt.(map[string]any)
				port, _ := pm["port"].(int)
				s.ports[port] = fmt.Sprint(pm["targetPort"])
			}
			tp.services = append(tp.services, s)
		case "PodDisruptionBudget":
			if n, _ := dig[map[string]any](o, "spec")["minAvailable"].(int); n > 0 {
				m := labelMatch{}
				for k, v := range dig[map[string]any](o, "spec", "selector", "matchLabels") {
					m[k] = fmt.Sprint(v)
				}
				tp.pdbs = append(tp.pdbs, m)
			}
		default:
			c.bad("%s: kind %s is not checked (teach TestDeploymentArtefactsMatchTheBinary to read it)", where, kind)
		}
	}
	return tp
}

// build returns the objects of a kustomization directory.
func (c *checker) build(dir string) []map[string]any {
	var k map[string]any
	if err := yaml.Unmarshal(c.file(dir+"/kustomization.yaml"), &k); err != nil {
		c.bad("%s: %v", dir, err)
		return nil
	}
	var objects []map[string]any
	for key, v := range k {
		switch key {
		case "apiVersion", "kind", "images":
		case "resources":
			for _, r := range v.([]any) {
				res := path.Clean(path.Join(dir, fmt.Sprint(r)))
				if _, ok := c.files[res+"/kustomization.yaml"]; ok {
					objects = append(objects, c.build(res)...)
				} else {
					objects = append(objects, c.objects(res)...)
				}
			}
		case "patches":
		default:
			c.bad("%s/kustomization.yaml: %s is not understood by the check (teach TestDeploymentArtefactsMatchTheBinary to read it)", dir, key)
		}
	}
	for _, p := range dig[[]any](k, "patches") {
		pm, _ := p.(map[string]any)
		if len(pm) != 1 || pm["path"] == nil {
			c.bad("%s/kustomization.yaml: only patches by path are understood: %v", dir, pm)
			continue
		}
		for _, patch := range c.objects(path.Join(dir, fmt.Sprint(pm["path"]))) {
			i := slices.IndexFunc(objects, func(o map[string]any) bool {
				return o["kind"] == patch["kind"] && dig[string](o, "metadata", "name") == dig[string](patch, "metadata", "name")
			})
			if i < 0 {
				c.bad("%s: patch of %v %v: no such object", dir, patch["kind"], dig[string](patch, "metadata", "name"))
				continue
			}
			objects[i] = mergePatch(objects[i], patch).(map[string]any)
		}
	}
	return objects
}

func (c *checker) objects(file string) []map[string]any {
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(c.file(file)))
	for {
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			if !errors.Is(err, io.EOF) {
				c.bad("%s: %v", file, err)
			}
			return out
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// mergeKeys are the keys strategic merge patches merge these lists by.
var mergeKeys = map[string]string{"containers": "name", "env": "name", "ports": "containerPort"}

// mergePatch applies a strategic merge patch: maps merge, lists of
// mergeKeys merge by key (an element with $patch: delete removes its
// match), other values are replaced.
func mergePatch(dst, patch any) any {
	pm, ok := patch.(map[string]any)
	dm, ok2 := dst.(map[string]any)
	if !ok || !ok2 {
		return patch
	}
	out := maps.Clone(dm)
	for k, pv := range pm {
		key, byKey := mergeKeys[k]
		dl, isList := out[k].([]any)
		if !byKey || !isList {
			out[k] = mergePatch(out[k], pv)
			continue
		}
		list := slices.Clone(dl)
		for _, pe := range pv.([]any) {
			pem, _ := pe.(map[string]any)
			i := slices.IndexFunc(list, func(e any) bool { em, _ := e.(map[string]any); return em[key] == pem[key] })
			switch {
			case pem["$patch"] == "delete" && i >= 0:
				list = slices.Delete(list, i, i+1)
			case i >= 0:
				list[i] = mergePatch(list[i], pe)
			default:
				list = append(list, pe)
			}
		}
		out[k] = list
	}
	return out
}

// dig walks nested maps by keys; the zero value when a step is missing.
func dig[T any](m map[string]any, keys ...string) T {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	t, _ := v.(T)
	return t
}
