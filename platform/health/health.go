// Package health serves liveness (/healthz) and readiness (/readyz).
// Readiness fails as soon as shutdown begins, so a load balancer stops sending
// new requests while in-flight ones finish.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// State holds the readiness checks and the draining flag.
type State struct {
	draining atomic.Bool
	timeout  time.Duration
	log      *slog.Logger

	mu       sync.RWMutex
	checks   map[string]Check
	degraded map[string]bool // checks whose failure degrades the process without failing readiness
}

// NewState returns a State whose checks each get timeout to answer.
func NewState(timeout time.Duration) *State {
	return &State{timeout: timeout, log: slog.New(slog.DiscardHandler), checks: map[string]Check{}, degraded: map[string]bool{}}
}

// WithLogger makes failing checks log their errors to log.
func (s *State) WithLogger(log *slog.Logger) *State {
	s.log = log
	return s
}

// Add registers a named readiness check.
func (s *State) Add(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// AddDegradable registers a named check of a dependency whose outage the
// process absorbs (it delays work but loses none, and every replica shares
// it): while it fails, readiness still answers 200, with status "degraded"
// and the check named, so a load balancer keeps the replica while operators
// see the state.
func (s *State) AddDegradable(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
	s.degraded[name] = true
}

// Drain marks the process as shutting down: readiness fails from now on.
func (s *State) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *State) Draining() bool { return s.draining.Load() }

// Report is the outcome of the readiness checks: the status ("ok",
// "degraded", "failing", or "draining" once shutdown began) and each
// check's result ("ok" or its error).
type Report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Live answers 200 while the process runs.
func (s *State) Live(w http.ResponseWriter, _ *http.Request) {
	write(w, http.StatusOK, Report{Status: "ok"})
}

// Ready answers 200 when every check passes, or only degradable ones fail
// ("degraded"), and the process is not draining.
// A failing check is named but its error is only logged: readiness is public
// and error texts can describe the infrastructure.
func (s *State) Ready(w http.ResponseWriter, r *http.Request) {
	if s.Draining() {
		write(w, http.StatusServiceUnavailable, Report{Status: "draining"})
		return
	}
	rep := s.Run(r.Context())
	status := http.StatusOK
	if rep.Status == "failing" {
		status = http.StatusServiceUnavailable
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, result := range rep.Checks {
		if result == "ok" {
			continue
		}
		s.log.WarnContext(r.Context(), "readiness check failing", slog.String("check", name), slog.String("error", result))
		rep.Checks[name] = "failing"
		if s.degraded[name] {
			rep.Checks[name] = "degraded"
		}
	}
	write(w, status, rep)
}

// Run executes every check concurrently.
func (s *State) Run(ctx context.Context) Report {
	return s.RunSome(ctx, func(string) bool { return true })
}

// RunSome executes the checks whose names keep accepts, concurrently, and
// reports "draining" once Drain was called, whatever they say.
func (s *State) RunSome(ctx context.Context, keep func(name string) bool) Report {
	rep := s.run(ctx, keep)
	if s.Draining() {
		rep.Status = "draining"
	}
	return rep
}

func (s *State) run(ctx context.Context, keep func(name string) bool) Report {
	s.mu.RLock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		if keep(n) {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()
	sort.Strings(names)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	results := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		s.mu.RLock()
		check := s.checks[n]
		s.mu.RUnlock()
		wg.Go(func() {
			results[i] = "ok"
			if err := check(ctx); err != nil {
				results[i] = err.Error()
			}
		})
	}
	wg.Wait()
	rep := Report{Status: "ok", Checks: map[string]string{}}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, n := range names {
		rep.Checks[n] = results[i]
		switch {
		case results[i] == "ok":
		case !s.degraded[n]:
			rep.Status = "failing"
		case rep.Status == "ok":
			rep.Status = "degraded"
		}
	}
	return rep
}

func write(w http.ResponseWriter, status int, rep Report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}
