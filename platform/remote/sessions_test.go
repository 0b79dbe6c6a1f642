package remote_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/remote"
)

var shopper = auth.Principal{UserID: "u-7", Email: "shopper@example.com", Role: auth.RoleCustomer, SessionID: "s-7"}

// identityServer hosts a fake identity whose Authenticate knows the token
// "good" (as identity.Authenticate's wire form has it) and a User method
// the edge may not call.
func identityServer(t *testing.T) *remote.Server {
	t.Helper()
	type token struct {
		Token string `json:"token"`
	}
	type answer struct {
		Result auth.Principal `json:"result"`
	}
	methods := map[string]remote.Method{
		"Authenticate": func(ctx context.Context, decode func(any) error) (any, error) {
			var a token
			if err := decode(&a); err != nil {
				return nil, err
			}
			if a.Token != "good" {
				return nil, errs.E(errs.KindUnauthenticated, "unknown session")
			}
			return answer{Result: shopper}, nil
		},
		"User": func(context.Context, func(any) error) (any, error) { return answer{Result: shopper}, nil },
	}
	return remote.NewServer(remote.ServerConfig{Keys: remote.DevKeys(secret, remote.IdentityModule), Callers: remote.AllowedCallers(nil)},
		remote.Service{Module: remote.IdentityModule, Methods: methods})
}

func sessions(t *testing.T, url string) *remote.Sessions {
	t.Helper()
	s, err := remote.NewSessions(remote.ClientConfig{
		Endpoints: map[string]string{remote.IdentityModule: url}, Keys: remote.DevKeys(secret, remote.EdgeCaller),
		Registerer: prometheus.NewRegistry(), Options: remote.Options{Attempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A process without identity learns who holds a session, and its calls to
// other processes then act for that user with identity's assertion.
func TestSessionsAtARemoteIdentity(t *testing.T) {
	t.Parallel()
	s := sessions(t, start(t, identityServer(t)))

	ctx, err := s.WithSession(context.Background(), "good")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := auth.FromContext(ctx); !ok || p != shopper {
		t.Fatalf("principal %+v, want %+v", p, shopper)
	}
	seen := make(chan auth.Principal, 1)
	// The edge's process holds no identity key: the call can only act for
	// the user with the assertion identity sent.
	neighbour := client(t, serve(t, map[string]remote.Method{"WhoAmI": whoAmI(seen)}).URL,
		func(c *remote.ClientConfig) { c.Keys = remote.DevKeys(secret, "caller", remote.EdgeCaller) })
	if _, err := call(ctx, neighbour, "WhoAmI", false, 0); err != nil {
		t.Fatalf("a call acting for the user: %v", err)
	}
	if p := <-seen; p != shopper {
		t.Errorf("the neighbour saw %+v, want %+v", p, shopper)
	}

	if _, err := s.Authenticate(context.Background(), "revoked"); !errs.Is(err, errs.KindUnauthenticated) {
		t.Errorf("an unknown token: %v, want unauthenticated", err)
	}
}

func TestSessionsWhenIdentityCannotAnswer(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close() // nothing listens there any more
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sessions(t, ts.URL).Authenticate(ctx, "good"); !errs.Is(err, errs.KindUnavailable) {
		t.Errorf("identity down: %v, want unavailable", err)
	}
}

// The edge may call identity's Authenticate and nothing else.
func TestEdgeCallsAuthenticateOnly(t *testing.T) {
	t.Parallel()
	url := start(t, identityServer(t))
	edge := client(t, url, func(c *remote.ClientConfig) {
		c.Caller, c.Keys = remote.EdgeCaller, remote.DevKeys(secret, remote.EdgeCaller)
		c.Endpoints = map[string]string{remote.IdentityModule: url, "callee": url}
	})
	var r struct{}
	if err := edge.Call(context.Background(), remote.IdentityModule, "User", true, struct{}{}, &r); !errs.Is(err, errs.KindForbidden) {
		t.Errorf("edge calls identity.User: %v, want forbidden", err)
	}
	calleeURL := serve(t, map[string]remote.Method{"WhoAmI": whoAmI(make(chan auth.Principal, 1))}).URL
	edge = client(t, calleeURL, func(c *remote.ClientConfig) {
		c.Caller, c.Keys = remote.EdgeCaller, remote.DevKeys(secret, remote.EdgeCaller)
	})
	if _, err := call(context.Background(), edge, "WhoAmI", false, 0); !errs.Is(err, errs.KindForbidden) {
		t.Errorf("edge calls another module: %v, want forbidden", err)
	}
}
