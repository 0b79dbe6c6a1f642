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

	mu     sync.RWMutex
	checks map[string]Check
}

// NewState returns a State whose checks each get timeout to answer.
func NewState(timeout time.Duration) *State {
	return &State{timeout: timeout, log: slog.New(slog.DiscardHandler), checks: map[string]Check{}}
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

// Drain marks the process as shutting down: readiness fails from now on.
func (s *State) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *State) Draining() bool { return s.draining.Load() }

type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Live answers 200 while the process runs.
func (s *State) Live(w http.ResponseWriter, _ *http.Request) {
	write(w, http.StatusOK, report{Status: "ok"})
}

// Ready answers 200 when every check passes and the process is not draining.
// A failing check is named but its error is only logged: readiness is public
// and error texts can describe the infrastructure.
func (s *State) Ready(w http.ResponseWriter, r *http.Request) {
	if s.Draining() {
		write(w, http.StatusServiceUnavailable, report{Status: "draining"})
		return
	}
	rep := s.Run(r.Context())
	status := http.StatusOK
	if rep.Status != "ok" {
		status = http.StatusServiceUnavailable
		for name, result := range rep.Checks {
			if result != "ok" {
				s.log.WarnContext(r.Context(), "readiness check failing", slog.String("check", name), slog.String("error", result))
				rep.Checks[name] = "failing"
			}
		}
	}
	write(w, status, rep)
}

// Run executes every check concurrently.
func (s *State) Run(ctx context.Context) report {
	s.mu.RLock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
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
	rep := report{Status: "ok", Checks: map[string]string{}}
	for i, n := range names {
		rep.Checks[n] = results[i]
		if results[i] != "ok" {
			rep.Status = "failing"
		}
	}
	return rep
}

func write(w http.ResponseWriter, status int, rep report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}
