// Package identitymodule is the identity module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package identity) to the domain. Only the composition root (cmd/) imports it.
package identitymodule

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/modules/identity/internal/rest"
	"github.com/shopmonolith/shop/modules/identity/internal/store"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "identity",
		Summary:   "users, passwords, sessions and roles",
		DependsOn: nil,
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil, false) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module and exposes it as the process's
// auth.Authenticator.
var ProviderSet = wire.NewSet(New, ProvideAuthenticator)

// pruneInterval is how often finished sessions and elapsed rate-limit
// windows are deleted.
const pruneInterval = 15 * time.Minute

// Module is the identity module as the kernel runs it.
type Module struct {
	db     *database.DB
	svc    *domain.Service
	api    *api
	log    *slog.Logger
	secure bool

	mu      sync.Mutex
	stop    context.CancelFunc
	stopped chan struct{}
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's database and builds the module; it publishes its
// events through bus.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, bus, time.Now)
}

// newModule is New with a clock, which tests replace.
func newModule(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus, now func() time.Time) (*Module, error) {
	db, err := dbs.Open(ctx, Descriptor().Name)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	policy := domain.Policy{
		SessionTTL:      cfg.Auth.SessionTTL,
		SessionIdle:     cfg.Auth.SessionIdleTimeout,
		LoginWindow:     cfg.Auth.LoginWindow,
		LoginPerAccount: cfg.Auth.LoginPerAccount,
		LoginPerIP:      cfg.Auth.LoginPerIP,
		RegisterWindow:  cfg.Auth.RegisterWindow,
		RegisterPerIP:   cfg.Auth.RegisterPerIP,
	}
	// Each Argon2id run is single-threaded and needs 19 MiB: more at once
	// than CPUs only costs memory.
	params := domain.OWASPParams()
	params.Memory, params.Time = cfg.Auth.Argon2MemoryKiB, cfg.Auth.Argon2Iterations
	hasher := domain.NewHasher(params, runtime.GOMAXPROCS(0))
	repo := store.New(db, now, publisher(bus.Outbox(db)))
	svc, err := domain.NewService(repo, hasher, policy, now)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	secure := cfg.Auth.CookieSecure != nil && *cfg.Auth.CookieSecure
	return &Module{db: db, svc: svc, api: &api{svc: svc}, log: logging.ForModule(log, Descriptor().Name), secure: secure}, nil
}

// ProvideAuthenticator exposes the module as the HTTP edge's authenticator.
func ProvideAuthenticator(m *Module) auth.Authenticator { return m.Authenticator() }

// API returns the module's public API.
func (m *Module) API() identity.API { return m.api }

// Authenticator returns the session-token authenticator.
func (m *Module) Authenticator() auth.Authenticator { return m.api }

// Descriptor describes the module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes registers the /api/identity routes.
func (m *Module) Routes(r *httpapi.Router) {
	rest.Register(r, m.api, m.secure)
}

// Check reports whether the module's database answers.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start launches the pruning of finished sessions and elapsed rate-limit
// windows.
func (m *Module) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		return nil
	}
	ctx, m.stop = context.WithCancel(ctx)
	m.stopped = make(chan struct{})
	go m.pruneLoop(ctx, m.stopped)
	return nil
}

// Stop ends the pruning and waits for it, or for ctx.
func (m *Module) Stop(ctx context.Context) error {
	m.mu.Lock()
	stop, stopped := m.stop, m.stopped
	m.stop = nil
	m.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("identity: stop pruning: %w", ctx.Err())
	}
}

func (m *Module) pruneLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.svc.Prune(ctx); err != nil && ctx.Err() == nil {
				m.log.ErrorContext(ctx, "prune sessions", slog.String("error", err.Error()))
			}
		}
	}
}
