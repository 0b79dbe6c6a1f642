package ops

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/remote"
)

// Timeout bounds the wait for a neighbour's status.
const Timeout = time.Second

// Where a module runs, as this process sees it.
const (
	Local    = "local"     // hosted by this process
	Remote   = "remote"    // at a URL of SHOP_MODULE_URLS
	Unplaced = "elsewhere" // hosted by another process this one has no address of
)

// Health states beyond health.Report's.
const (
	Unreachable = "unreachable" // the neighbour did not answer in time
	Unknown     = "unknown"     // nothing here can ask
)

// Config is what Ops reads from the process.
type Config struct {
	Modules []kernel.Descriptor // every module of the binary, dependencies first
	Hosted  []string            // the modules this process hosts
	URLs    map[string]string   // the modules it reaches elsewhere
	// Self describes this process; Address is read at every use, since
	// the internal listener binds after start.
	Instance, Hostname, Version string
	StartedAt                   time.Time
	Address                     func() string

	Health  *health.State
	Bus     *events.Bus
	Metrics *metrics.Metrics
	Keys    remote.Keys
	Tracer  trace.TracerProvider
	Log     *slog.Logger
}

// Ops gathers the report of the ops page.
type Ops struct {
	cfg    Config
	client *remote.Client // nil when no module is reached elsewhere
	beat   *heartbeat
}

// New returns the ops of the process described by cfg.
func New(cfg Config) (*Ops, error) {
	o := &Ops{cfg: cfg}
	if len(cfg.URLs) > 0 {
		c, err := remote.NewClient(remote.ClientConfig{Caller: remote.EdgeCaller, Endpoints: cfg.URLs, Keys: cfg.Keys,
			Registerer: cfg.Metrics.Registry, Tracer: cfg.Tracer})
		if err != nil {
			return nil, fmt.Errorf("ops: status calls: %w", err)
		}
		o.client = c
	}
	o.beat = &heartbeat{self: o.self, dbs: cfg.Bus.Databases, log: cfg.Log}
	return o, nil
}

// Worker is the heartbeat of this process, for the kernel to run.
func (o *Ops) Worker() kernel.Worker { return o.beat }

func (o *Ops) self() Process {
	p := Process{Instance: o.cfg.Instance, Hostname: o.cfg.Hostname, Version: o.cfg.Version, Modules: o.cfg.Hosted, StartedAt: o.cfg.StartedAt}
	if o.cfg.Address != nil {
		p.Address = o.cfg.Address()
	}
	if p.Modules == nil {
		p.Modules = []string{}
	}
	return p
}

// ModuleStatus is one module as the ops page shows it.
type ModuleStatus struct {
	Name  string `json:"name"`
	Where string `json:"where" enum:"local,remote,elsewhere"`
	// Address is where it runs: this process's hostname, or the URL of
	// SHOP_MODULE_URLS.
	Address string `json:"address"`
	// Process is the instance that answered for it (empty when none did).
	Process string        `json:"process"`
	Health  health.Report `json:"health" description:"status ok, degraded, failing or draining (the module's readiness checks and the process's shared ones), unreachable when its process did not answer within 1 s, unknown when no address is known"`
	// Events is its event tables' backlog; null when unknown.
	Events *events.Backlog `json:"events"`
	// P99 is the 99th percentile latency of its routes in its process,
	// since the process started; null before any request.
	P99 *metrics.Latency `json:"p99"`
	// Replicas are the processes that run the module (heartbeats seen
	// within 15 s).
	Replicas []Process `json:"replicas"`
	// Error says why part of the status is missing.
	Error string `json:"error,omitempty"`
}

// Status reports a module hosted here, as the process sees it: the
// module's readiness check and the process's shared ones, its event
// backlog, the p99 of its routes and its replicas. It serves
// remote.StatusMethod too.
func (o *Ops) Status(ctx context.Context, module string) (ModuleStatus, error) {
	self := o.self()
	st := ModuleStatus{Name: module, Where: Local, Address: self.Hostname, Process: self.Instance, Replicas: []Process{}}
	if !slices.Contains(o.cfg.Hosted, module) {
		return st, errs.E(errs.KindNotFound, "module %s is not hosted here", module)
	}
	st.Health = o.cfg.Health.RunSome(ctx, func(check string) bool {
		return check == "module:"+module || !strings.HasPrefix(check, "module:")
	})
	var problems []string
	if b, ok, err := o.cfg.Bus.Backlog(ctx, module); err != nil {
		problems = append(problems, err.Error())
	} else if ok {
		st.Events = &b
	}
	if l, ok, err := o.cfg.Metrics.Quantile(0.99, "shop_http_request_duration_seconds", map[string]string{"module": module}); err != nil {
		problems = append(problems, err.Error())
	} else if ok {
		st.P99 = &l
	}
	if db := o.database(module); db != nil {
		ps, err := replicas(ctx, db)
		if err != nil {
			problems = append(problems, fmt.Sprintf("replicas of %s: %v", module, err))
		}
		st.Replicas = append(st.Replicas, ps...)
	}
	if len(problems) > 0 {
		o.cfg.Log.WarnContext(ctx, "ops status incomplete", slog.String("module", module), slog.String("error", strings.Join(problems, "; ")))
		st.Error = "part of the status could not be read (see the process's log)"
	}
	return st, nil
}

func (o *Ops) database(module string) *database.DB {
	for _, db := range o.cfg.Bus.Databases() {
		if db.Module == module {
			return db
		}
	}
	return nil
}

// remoteStatus asks the process at the module's URL, within Timeout.
func (o *Ops) remoteStatus(ctx context.Context, module string) ModuleStatus {
	ctx, cancel := context.WithTimeout(auth.AsService(ctx, remote.EdgeCaller), Timeout)
	defer cancel()
	var st ModuleStatus
	err := o.client.Call(ctx, module, remote.StatusMethod, true, struct{}{}, &st)
	if err != nil {
		st = ModuleStatus{Name: module, Health: health.Report{Status: Unreachable}, Replicas: []Process{}, Error: err.Error()}
	}
	st.Where, st.Address = Remote, o.cfg.URLs[module]
	return st
}

// statuses reports every module, asking the neighbours at once.
func (o *Ops) statuses(ctx context.Context) []ModuleStatus {
	out := make([]ModuleStatus, len(o.cfg.Modules))
	var wg sync.WaitGroup
	for i, d := range o.cfg.Modules {
		switch _, reached := o.cfg.URLs[d.Name]; {
		case slices.Contains(o.cfg.Hosted, d.Name):
			wg.Go(func() {
				st, err := o.Status(ctx, d.Name)
				if err != nil {
					st.Error = err.Error()
				}
				out[i] = st
			})
		case reached && o.client != nil:
			wg.Go(func() { out[i] = o.remoteStatus(ctx, d.Name) })
		default:
			out[i] = ModuleStatus{Name: d.Name, Where: Unplaced, Health: health.Report{Status: Unknown}, Replicas: []Process{},
				Error: "neither hosted by this process nor addressed in its SHOP_MODULE_URLS"}
		}
	}
	wg.Wait()
	return out
}
