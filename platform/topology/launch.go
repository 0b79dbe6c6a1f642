package topology

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options say how to start a topology's processes.
type Options struct {
	Binary      string   // the shop binary
	Args        []string // the command each process runs; default serve
	DatabaseURL string   // DATABASE_URL of every process; empty sets none (the modules' own URLs, say)
	NATSURL     string   // SHOP_NATS_URL: events between processes; needed when there are several
	// Env is every process's environment, before what the topology sets.
	Env []string
	// ProcessEnv adds settings of one process (its connection budget, say),
	// after what the topology sets; nil adds none.
	ProcessEnv func(Group) []string
	// FrontAddr is the front's public listener (SHOP_HTTP_ADDR), unless
	// Listen sets one; default 127.0.0.1:0. Every other listener is on
	// loopback.
	FrontAddr string
	// Output receives every log line of every process, prefixed with the
	// process's name; nil drops them.
	Output io.Writer
	// OnLine sees every log line as the process wrote it; nil sees none. It
	// must not block: it runs on the goroutine reading the process's output.
	OnLine func(process, line string)
	// ReadyTimeout bounds how long a process may take to answer GET /readyz
	// (default 60 s); StopTimeout how long it may take to exit on SIGTERM
	// before it is killed (default 30 s).
	ReadyTimeout, StopTimeout time.Duration
	// Replicas runs several processes of a group, by the group's name
	// (default one): alike but for their listeners, named <group>-1,
	// <group>-2 …, so that a load balancer in front of them can lose one
	// while it restarts. In a distributed topology the others reach a
	// replicated group's modules through ModuleURLs.
	Replicas map[string]int
	// ModuleURLs are where every process reaches a module, by module name,
	// instead of the internal listener of the process hosting it: a load
	// balancer in front of its replicas.
	ModuleURLs map[string]string
	// Listen fixes the listeners of some processes, by process name, in
	// place of the loopback ports chosen at start: a load balancer in front
	// of them is configured before they start, and a restart listens on the
	// same ones.
	Listen map[string]Listeners
}

// Listeners are the addresses (host:port) a process listens on; an empty
// one is chosen as usual (Ops: none, the operators' routes stay on the
// public listener, unless Options.Env sets one).
type Listeners struct {
	Public   string // SHOP_HTTP_ADDR
	Internal string // SHOP_HTTP_INTERNAL_ADDR, in a distributed topology
	Ops      string // SHOP_HTTP_OPS_ADDR
}

func (o Options) withDefaults() Options {
	if len(o.Args) == 0 {
		o.Args = []string{"serve"}
	}
	if o.FrontAddr == "" {
		o.FrontAddr = "127.0.0.1:0"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
	return o
}

// Cluster is a started topology: its processes, in start order.
type Cluster struct {
	topo    Topology
	opts    Options
	procs   []*Process
	urls    map[string]string // module → the base URL the processes reach it at
	width   int               // of the longest process name, to align log prefixes
	planned int               // processes, replicas included: they share the cores
}

// Start starts the topology's processes in start order, each on loopback
// with, in a distributed topology, an internal listener on a port chosen
// now (the processes' addresses of one another form cycles: catalog needs
// identity for sessions, which lives in the process that needs catalog),
// and waits until every one answers GET /readyz. A process waits itself
// for the neighbours it needs (SHOP_MODULE_READY_TIMEOUT, set to
// ReadyTimeout). On failure every process started is stopped.
func Start(ctx context.Context, t Topology, o Options) (*Cluster, error) {
	o = o.withDefaults()
	if t.Distributed() && o.NATSURL == "" {
		return nil, fmt.Errorf("topology %s has %d processes: events between them need a NATS URL", t.Name, len(t.Groups))
	}
	c := &Cluster{topo: t, opts: o, urls: map[string]string{}}
	planned, err := c.plan()
	if err != nil {
		return nil, err
	}
	c.planned = len(planned)
	for _, p := range planned {
		if err := p.start(nil); err != nil {
			return nil, errors.Join(err, c.Stop())
		}
		c.procs = append(c.procs, p)
	}
	if err := c.awaitReady(ctx, c.procs); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// plan names the processes of every group, gives each its internal
// address (in a distributed topology), and sets where each module is
// reached.
func (c *Cluster) plan() ([]*Process, error) {
	var procs []*Process
	for _, g := range c.topo.Groups {
		n := max(c.opts.Replicas[g.Name], 1)
		for i := range n {
			p := &Process{name: g.Name, group: g, cluster: c, listen: c.opts.Listen[g.Name]}
			if n > 1 {
				p.name = fmt.Sprintf("%s-%d", g.Name, i+1)
				p.listen = c.opts.Listen[p.name]
			}
			if c.topo.Distributed() {
				p.internalAddr = p.listen.Internal
				if p.internalAddr == "" {
					addr, err := freePort()
					if err != nil {
						return nil, err
					}
					p.internalAddr = addr
				}
			}
			c.width = max(c.width, len(p.name))
			procs = append(procs, p)
		}
		for _, m := range g.Modules {
			switch url, ok := c.opts.ModuleURLs[m]; {
			case ok:
				c.urls[m] = url
			case n > 1 && c.topo.Distributed():
				return nil, fmt.Errorf("group %s runs %d replicas: the others reach %s at an address of Options.ModuleURLs (a load balancer), not one replica's", g.Name, n, m)
			default:
				c.urls[m] = "http://" + procs[len(procs)-1].internalAddr
			}
		}
	}
	return procs, nil
}

// Topology is the topology the cluster runs.
func (c *Cluster) Topology() Topology { return c.topo }

// Processes lists the processes in start order.
func (c *Cluster) Processes() []*Process { return slices.Clone(c.procs) }

// Front is the process clients talk to.
func (c *Cluster) Front() *Process { return c.procs[len(c.procs)-1] }

// Process returns the process called name, or nil.
func (c *Cluster) Process(name string) *Process {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// Host returns the (first) process that hosts module.
func (c *Cluster) Host(module string) *Process {
	for _, p := range c.procs {
		if slices.Contains(p.group.Modules, module) {
			return p
		}
	}
	return nil
}

// Restart starts the exited processes of ps again, with env in place of
// Options.Env (nil keeps it), on the same internal addresses (and the
// listeners Options.Listen fixed), and waits until they are ready.
func (c *Cluster) Restart(ctx context.Context, env []string, ps ...*Process) error {
	var started []*Process
	for _, p := range ps {
		if p.running() {
			continue
		}
		if err := p.start(env); err != nil {
			return err
		}
		started = append(started, p)
	}
	return c.awaitReady(ctx, started)
}

// Stop stops every process, the front first (it stops taking requests
// before its neighbours go): SIGTERM, then SIGKILL for one still running
// after StopTimeout. It returns how each process that did not exit cleanly
// ended; stopping a stopped cluster does nothing.
func (c *Cluster) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.procs))
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		wg.Go(func() { errs[i] = p.Stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Kill kills every process (SIGKILL) and waits until they are gone.
func (c *Cluster) Kill() {
	for _, p := range c.procs {
		p.Kill()
	}
}

// awaitReady waits until each of ps answers GET /readyz on its public
// listener, or one exits.
func (c *Cluster) awaitReady(ctx context.Context, ps []*Process) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReadyTimeout)
	defer cancel()
	for _, p := range ps {
		if err := p.awaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// env is the environment of process p: the common settings, what the
// topology sets, and the process's own.
func (c *Cluster) env(p *Process, common []string) []string {
	g := p.group
	env := slices.Clone(common)
	if c.opts.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+c.opts.DatabaseURL)
	}
	env = append(env, "SHOP_LOG_FORMAT=json")
	addr := "127.0.0.1:0"
	switch {
	case p.listen.Public != "":
		addr = p.listen.Public
	case g.Name == c.topo.Front().Name:
		addr = c.opts.FrontAddr
	}
	env = append(env, "SHOP_HTTP_ADDR="+addr)
	if p.listen.Ops != "" {
		env = append(env, "SHOP_HTTP_OPS_ADDR="+p.listen.Ops)
	}
	if c.topo.Distributed() {
		modules := "none"
		if !g.Edge() {
			modules = strings.Join(g.Modules, ",")
		}
		var urls []string
		for _, m := range c.topo.Needs(g) {
			urls = append(urls, m+"="+c.urls[m])
		}
		env = append(env, "SHOP_MODULES="+modules, "SHOP_MODULE_URLS="+strings.Join(urls, ","),
			"SHOP_HTTP_INTERNAL_ADDR="+p.internalAddr, "SHOP_MODULE_READY_TIMEOUT="+c.opts.ReadyTimeout.String(),
			"SHOP_EVENTS_TRANSPORT=nats", "SHOP_NATS_URL="+c.opts.NATSURL)
		if !slices.ContainsFunc(common, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }) {
			env = append(env, "GOMAXPROCS="+strconv.Itoa(SharedProcs(c.planned)))
		}
	}
	if c.opts.ProcessEnv != nil {
		env = append(env, c.opts.ProcessEnv(g)...)
	}
	return env
}

// SharedProcs is the GOMAXPROCS of each of n Go processes sharing this
// machine's cores: its share of them, at least one. Each process's
// scheduler otherwise keeps as many threads ready as there are cores and
// spins them looking for work, so n co-located processes oversubscribe the
// cores n times and burn CPU on the spinning. Processes given cores of
// their own keep Go's default (GOMAXPROCS in Options.Env overrides it).
func SharedProcs(n int) int { return max(1, runtime.NumCPU()/max(n, 1)) }

// freePort returns a loopback address for a process to listen on later
// (see FreePortRuns). Another program could still take it first; the
// process then fails to start and says so.
func freePort() (string, error) {
	addr, err := FreeAddr()
	if err != nil {
		return "", fmt.Errorf("choose an internal port: %w", err)
	}
	return addr, nil
}
