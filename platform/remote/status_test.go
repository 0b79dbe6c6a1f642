package remote_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/remote"
)

// StatusMethod is served for every hosted module, to the edge only: a
// module that may call the module's API may not ask its status, and the
// edge may call no other method of it.
func TestStatusMethodIsTheEdges(t *testing.T) {
	t.Parallel()
	srv := remote.NewServer(remote.ServerConfig{
		Keys: remote.DevKeys(secret, "callee"), Callers: callers,
		Status: func(ctx context.Context, module string) (any, error) {
			if p, _ := auth.FromContext(ctx); p != auth.Service(remote.EdgeCaller) {
				return nil, errs.E(errs.KindForbidden, "status asked as %+v", p)
			}
			return map[string]string{"module": module}, nil
		},
	}, remote.Service{Module: "callee", Methods: map[string]remote.Method{"Double": returning(func(_ context.Context, n int) (int, error) { return 2 * n, nil })}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	asEdge := func(c *remote.ClientConfig) {
		c.Caller, c.Keys = remote.EdgeCaller, remote.DevKeys(secret, remote.EdgeCaller)
	}

	var got map[string]string
	err := client(t, ts.URL, asEdge).Call(auth.AsService(context.Background(), remote.EdgeCaller), "callee", remote.StatusMethod, true, struct{}{}, &got)
	if err != nil || got["module"] != "callee" {
		t.Fatalf("the edge's status call: %v, %v", got, err)
	}
	if _, err := call(context.Background(), client(t, ts.URL, asEdge), "Double", false, 1); !errs.Is(err, errs.KindForbidden) {
		t.Errorf("the edge calling an API method: %v, want forbidden", err)
	}
	err = client(t, ts.URL, nil).Call(context.Background(), "callee", remote.StatusMethod, true, struct{}{}, &got)
	if !errs.Is(err, errs.KindForbidden) {
		t.Errorf("a calling module asking the status: %v, want forbidden", err)
	}
	if n, err := call(context.Background(), client(t, ts.URL, nil), "Double", false, 2); err != nil || n != 4 {
		t.Errorf("the calling module's own call: %d, %v", n, err)
	}
}
