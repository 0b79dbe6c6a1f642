package kernel_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

// events records what the kernel did, in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// fakeModule is a Module with function fields; nil fields do nothing.
type fakeModule struct {
	desc  kernel.Descriptor
	ev    *events
	start func(ctx context.Context) error
	check func(ctx context.Context) error
}

var _ kernel.Module = (*fakeModule)(nil)

func (m *fakeModule) Descriptor() kernel.Descriptor { return m.desc }

func (m *fakeModule) Routes(r *httpapi.Router) {
	m.ev.add("routes " + r.Module())
	r.GET("/"+m.desc.Name, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
}

func (m *fakeModule) Check(ctx context.Context) error {
	if m.check != nil {
		return m.check(ctx)
	}
	return nil
}

func (m *fakeModule) Start(ctx context.Context) error {
	m.ev.add("start " + m.desc.Name)
	if m.start != nil {
		return m.start(ctx)
	}
	return nil
}

func (m *fakeModule) Stop(context.Context) error {
	m.ev.add("stop " + m.desc.Name)
	return nil
}

func newKernel(t *testing.T, ev *events, failStart string) (*kernel.Kernel, *health.State) {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		if name == "SHOP_HTTP_ADDR" {
			return "127.0.0.1:0", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := health.NewState(time.Second)
	srv := httpapi.New(cfg, log, h, metrics.New(), nil, nil)
	mod := func(name string, deps ...string) *fakeModule {
		m := &fakeModule{desc: kernel.Descriptor{Name: name, DependsOn: deps}, ev: ev}
		if name == failStart {
			m.start = func(context.Context) error { return errors.New("no luck") }
		}
		if name == "cart" {
			m.check = func(context.Context) error { return errors.New("cart not ready") }
		}
		return m
	}
	k, err := kernel.New(srv, h, log, nil, mod("cart", "catalog"), mod("catalog", "identity"), mod("identity"))
	if err != nil {
		t.Fatal(err)
	}
	return k, h
}

func TestKernelRegistersRoutesAndChecksInOrder(t *testing.T) {
	t.Parallel()
	ev := &events{}
	k, h := newKernel(t, ev, "")
	if got, want := ev.list(), []string{"routes identity", "routes catalog", "routes cart"}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	rep := h.Run(context.Background())
	if rep.Checks["module:identity"] != "ok" || rep.Checks["module:cart"] != "cart not ready" {
		t.Errorf("readiness checks = %v", rep.Checks)
	}
	if !k.Graph().Has("catalog") || k.Server() == nil {
		t.Error("Graph or Server missing")
	}
}

func TestKernelRunStartsAndStopsInOrder(t *testing.T) {
	t.Parallel()
	ev := &events{}
	k, _ := newKernel(t, ev, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	var addr net.Addr
	err := k.Run(ctx, func(a net.Addr) {
		addr = a
		// Run serves only after this callback returns: request from elsewhere.
		go func() {
			defer close(served)
			defer cancel()
			client := &http.Client{Timeout: 10 * time.Second}
			resp, err := client.Get("http://" + a.String() + "/catalog")
			if err != nil {
				t.Errorf("GET /catalog: %v", err)
				return
			}
			resp.Body.Close()
			ev.add("served " + resp.Status)
		}()
	})
	<-served
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if addr == nil {
		t.Fatal("onListen not called")
	}
	want := []string{
		"routes identity", "routes catalog", "routes cart",
		"start identity", "start catalog", "start cart",
		"served 204 No Content",
		"stop cart", "stop catalog", "stop identity",
	}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("events =\n%v\nwant\n%v", got, want)
	}
}

func TestKernelRunStopsStartedModulesWhenStartFails(t *testing.T) {
	t.Parallel()
	ev := &events{}
	k, _ := newKernel(t, ev, "catalog")
	listened := false
	err := k.Run(context.Background(), func(net.Addr) { listened = true })
	if err == nil || !strings.Contains(err.Error(), "start module catalog") || !strings.Contains(err.Error(), "no luck") {
		t.Fatalf("Run = %v, want the start failure of catalog", err)
	}
	if listened {
		t.Error("HTTP server started although a module failed to start")
	}
	want := []string{"routes identity", "routes catalog", "routes cart", "start identity", "start catalog", "stop identity"}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

// fakeWorker records its start and stop, and the time its stop was given.
type fakeWorker struct {
	ev       *events
	deadline time.Time
	bounded  bool
}

func (w *fakeWorker) Start(context.Context) error {
	w.ev.add("start worker")
	return nil
}

func (w *fakeWorker) Stop(ctx context.Context) error {
	w.ev.add("stop worker")
	w.deadline, w.bounded = ctx.Deadline()
	return nil
}

// The event bus stops as a worker and times what it does at stop by the
// deadline of its context: it waits for handlers in progress, and gives a
// call handler's lease back while there is time left to write it. So a
// worker stops before the modules, with the stop's deadline.
func TestKernelStopsWorkersFirstWithTheStopDeadline(t *testing.T) {
	t.Parallel()
	ev := &events{}
	k, _ := newKernel(t, ev, "")
	w := &fakeWorker{ev: ev}
	k.AddWorker(w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := k.Run(ctx, func(net.Addr) { cancel() }); err != nil {
		t.Fatalf("Run = %v", err)
	}
	stopped := time.Now()
	want := []string{
		"routes identity", "routes catalog", "routes cart",
		"start identity", "start catalog", "start cart", "start worker",
		"stop worker", "stop cart", "stop catalog", "stop identity",
	}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("events =\n%v\nwant\n%v", got, want)
	}
	if !w.bounded {
		t.Fatal("the worker's stop context has no deadline")
	}
	if left := w.deadline.Sub(stopped); left <= 0 || left > 15*time.Second {
		t.Errorf("the worker's stop deadline is %v after Run returned, want within the 15 s stop time", left)
	}
}

// edge is what a kernel runs behind: the HTTP server, readiness and a log.
func edge(t *testing.T) (*httpapi.Server, *health.State, *slog.Logger) {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := health.NewState(time.Second)
	srv := httpapi.New(cfg, log, h, metrics.New(), nil, nil)
	return srv, h, log
}

func TestKernelRejectsBadGraph(t *testing.T) {
	t.Parallel()
	srv, h, log := edge(t)
	ev := &events{}
	_, err := kernel.New(srv, h, log, nil, &fakeModule{desc: kernel.Descriptor{Name: "a", DependsOn: []string{"b"}}, ev: ev})
	if err == nil {
		t.Fatal("kernel.New accepted an unknown dependency")
	}
	if len(ev.list()) != 0 {
		t.Errorf("routes registered for an invalid graph: %v", ev.list())
	}
}

// A process hosting part of the modules runs them on their remote
// dependencies: only the hosted modules get routes and checks.
func TestKernelRunsModulesWhoseDependenciesAreRemote(t *testing.T) {
	t.Parallel()
	srv, h, log := edge(t)
	ev := &events{}
	cart := &fakeModule{desc: kernel.Descriptor{Name: "cart", DependsOn: []string{"catalog"}}, ev: ev}
	if _, err := kernel.New(srv, h, log, nil, cart); err == nil || !strings.Contains(err.Error(), `"catalog"`) {
		t.Fatalf("kernel.New without the remote catalog = %v, want an error naming catalog", err)
	}
	k, err := kernel.New(srv, h, log, []string{"catalog"}, cart)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.list(), []string{"routes cart"}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if rep := h.Run(context.Background()); len(rep.Checks) != 1 || rep.Checks["module:cart"] != "ok" {
		t.Errorf("readiness checks = %v, want the cart's alone", rep.Checks)
	}
	if k.Graph().Has("catalog") {
		t.Error("the remote catalog is in the kernel's graph")
	}
}
