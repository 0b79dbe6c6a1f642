package topology

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shopmonolith/shop/platform/health"
)

// Process is one process of a cluster. It can be stopped, killed and
// started again (Cluster.Restart) on the same internal address.
type Process struct {
	name         string // the group's, or <group>-<n> for one of its replicas
	group        Group
	cluster      *Cluster
	internalAddr string    // "" in a one-process topology
	listen       Listeners // fixed by Options.Listen

	mu  sync.Mutex
	cur *run // the latest start
}

// run is one start of a process: from exec to exit.
type run struct {
	cmd    *exec.Cmd
	public chan string   // the public listener's address, once
	done   chan struct{} // closed once the process has exited
	err    error         // how it exited, once done

	mu   sync.Mutex
	tail []string // the last lines it wrote, for errors
}

// tailLines is how many of its last log lines a failed process's error
// carries.
const tailLines = 20

// Name is the process's name in the topology (its log prefix).
func (p *Process) Name() string { return p.name }

// Modules lists the modules the process hosts; none for the edge.
func (p *Process) Modules() []string { return slices.Clone(p.group.Modules) }

// Internal is the base URL of the process's internal listener; "" in a
// one-process topology.
func (p *Process) Internal() string {
	if p.internalAddr == "" {
		return ""
	}
	return "http://" + p.internalAddr
}

// URL is the base URL of the process's public listener in its latest start
// (a restart may listen elsewhere, except the front on a fixed address).
func (p *Process) URL() string {
	r := p.latest()
	select {
	case addr := <-r.public:
		r.public <- addr
		return "http://" + addr
	default:
		return ""
	}
}

// Env is the environment the process runs with.
func (p *Process) Env() []string { return slices.Clone(p.latest().cmd.Env) }

// PID is the process id of its latest start.
func (p *Process) PID() int { return p.latest().cmd.Process.Pid }

// Done is closed once the latest start has exited.
func (p *Process) Done() <-chan struct{} { return p.latest().done }

func (p *Process) latest() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

func (p *Process) running() bool {
	select {
	case <-p.latest().done:
		return false
	default:
		return true
	}
}

// start runs the binary for the process's group; env replaces the common
// environment of Options.Env unless nil.
func (p *Process) start(env []string) error {
	c := p.cluster
	if env == nil {
		env = c.opts.Env
	}
	cmd := exec.Command(c.opts.Binary, c.opts.Args...)
	cmd.Env = c.env(p, env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout // one stream: the lines keep their order
	r := &run{cmd: cmd, public: make(chan string, 1), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name(), err)
	}
	p.mu.Lock()
	p.cur = r
	p.mu.Unlock()
	go p.read(r, stdout)
	return nil
}

// read passes on every line the process writes, notes its public address,
// and waits for it once the output ends.
func (p *Process) read(r *run, out io.Reader) {
	c := p.cluster
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	announced := false
	for sc.Scan() {
		line := sc.Text()
		if c.opts.Output != nil {
			fmt.Fprintf(c.opts.Output, "%-*s | %s\n", c.width, p.Name(), line)
		}
		if c.opts.OnLine != nil {
			c.opts.OnLine(p.Name(), line)
		}
		r.note(line)
		if addr, ok := listening(line, "http server listening"); ok && !announced {
			r.public <- addr
			announced = true
		}
	}
	// Wait only after the last line was read: os/exec closes the pipe.
	r.err = r.cmd.Wait()
	close(r.done)
}

func (r *run) note(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tail = append(r.tail, line)
	if len(r.tail) > tailLines {
		r.tail = r.tail[len(r.tail)-tailLines:]
	}
}

func (r *run) lastLines() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.tail, "\n")
}

// listening returns the addr of a JSON log line with message msg.
func listening(line, msg string) (string, bool) {
	var rec struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != msg {
		return "", false
	}
	return rec.Addr, true
}

// awaitReady waits for the public address, then until GET /readyz answers
// 200; it fails at once when the process exits.
func (p *Process) awaitReady(ctx context.Context) error {
	r := p.latest()
	var base string
	select {
	case addr := <-r.public:
		r.public <- addr
		base = "http://" + addr
	case <-r.done:
		return p.exited(r)
	case <-ctx.Done():
		return fmt.Errorf("%s did not start listening: %w; its last lines:\n%s", p.Name(), ctx.Err(), r.lastLines())
	}
	// Stop waiting as soon as the process exits.
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.done:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	err := health.AwaitReady(waitCtx, &http.Client{}, base)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s is not ready (%v): %w; its last lines:\n%s", p.Name(), err, ctx.Err(), r.lastLines())
	}
	<-r.done
	return p.exited(r)
}

func (p *Process) exited(r *run) error {
	return fmt.Errorf("%s exited (%v); its last lines:\n%s", p.Name(), r.err, r.lastLines())
}

// Stop sends SIGTERM and waits until the process exits, killing it after
// StopTimeout; it returns how the process exited (nil: cleanly). Stopping
// an exited process returns how it exited.
func (p *Process) Stop() error {
	r := p.latest()
	select {
	case <-r.done:
		return r.outcome(p.Name())
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(p.cluster.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r.outcome(p.Name())
	case <-t.C:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed; its last lines:\n%s",
		p.Name(), p.cluster.opts.StopTimeout, r.lastLines())
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	r := p.latest()
	_ = r.cmd.Process.Kill()
	<-r.done
}

func (r *run) outcome(name string) error {
	if r.err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(r.err, &exit) && exit.ExitCode() == -1 {
		// Killed by a signal: say which.
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("%s: %s", name, ws.Signal())
		}
	}
	return fmt.Errorf("%s: %w; its last lines:\n%s", name, r.err, r.lastLines())
}
