package remote_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopmonolith/shop/platform/remote"
)

const secret = "remote test secret"

// The test topology: module "caller" calls module "callee", which its
// descriptor allows (callee is among caller's dependencies).
var callers = remote.AllowedCallers(map[string][]string{"caller": {"callee"}})

// args and results of the test methods.
type args struct {
	N int `json:"n"`
}

type results struct {
	N int `json:"n"`
}

// serve starts an internal endpoint server hosting "callee" with methods.
func serve(t *testing.T, methods map[string]remote.Method) *httptest.Server {
	t.Helper()
	srv := remote.NewServer(remote.ServerConfig{Keys: remote.DevKeys(secret, "callee"), Callers: callers},
		remote.Service{Module: "callee", Methods: methods})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// start serves h on loopback and returns its URL.
func start(t testing.TB, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// client returns a client calling as "caller" (which also hosts identity,
// so that it can vouch for users) to the server at url.
func client(t *testing.T, url string, edit func(*remote.ClientConfig)) *remote.Client {
	t.Helper()
	cfg := remote.ClientConfig{
		Caller:     "caller",
		Endpoints:  map[string]string{"callee": url},
		Keys:       remote.DevKeys(secret, "caller", remote.IdentityModule),
		Registerer: prometheus.NewRegistry(),
		Options:    remote.Options{BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond},
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := remote.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call calls method with n and returns the result.
func call(ctx context.Context, c *remote.Client, method string, idempotent bool, n int) (int, error) {
	var r results
	err := c.Call(ctx, "callee", method, idempotent, args{N: n}, &r)
	return r.N, err
}

// returning is a method that answers with fn's results.
func returning(fn func(ctx context.Context, n int) (int, error)) remote.Method {
	return func(ctx context.Context, decode func(any) error) (any, error) {
		var a args
		if err := decode(&a); err != nil {
			return nil, err
		}
		n, err := fn(ctx, a.N)
		return results{N: n}, err
	}
}

// keysWith overrides some modules' keys of base with those of other.
type keysWith struct {
	base, other remote.Keys
	modules     []string
}

func (k keysWith) pick(module string) remote.Keys {
	for _, m := range k.modules {
		if m == module {
			return k.other
		}
	}
	return k.base
}

func (k keysWith) Private(module string) (ed25519.PrivateKey, bool) {
	return k.pick(module).Private(module)
}
func (k keysWith) Public(module string) (ed25519.PublicKey, bool) {
	return k.pick(module).Public(module)
}

// PairKey works the key out with the keys of the module on side.
func (k keysWith) PairKey(caller, callee string, side remote.Side) ([]byte, bool) {
	local := caller
	if side == remote.AsCallee {
		local = callee
	}
	return k.pick(local).PairKey(caller, callee, side)
}

// rewrite serves target with the module of the path replaced: a token
// meant for one module presented to another.
func rewrite(t *testing.T, target http.Handler, from, to string) string {
	t.Helper()
	return start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/internal/"+from+"/", "/internal/"+to+"/", 1)
		target.ServeHTTP(w, r)
	}))
}
