package remote_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/problem"
	"github.com/shopmonolith/shop/platform/remote"
)

// whoAmI answers with the principal the callee sees.
func whoAmI(seen chan<- auth.Principal) remote.Method {
	return func(ctx context.Context, decode func(any) error) (any, error) {
		p, _ := auth.FromContext(ctx)
		select {
		case seen <- p:
		default: // a test that expected a refusal does not read
		}
		return struct{}{}, nil
	}
}

func TestServiceAuthentication(t *testing.T) {
	t.Parallel()
	seen := make(chan auth.Principal, 1)
	methods := map[string]remote.Method{"WhoAmI": whoAmI(seen)}
	ts := serve(t, methods)
	// The same server also hosting "callee2", to present callee's tokens to.
	both := remote.NewServer(remote.ServerConfig{
		Keys:    remote.DevKeys(secret, "callee", "callee2"),
		Callers: remote.AllowedCallers(map[string][]string{"caller": {"callee", "callee2"}}),
	}, remote.Service{Module: "callee", Methods: methods}, remote.Service{Module: "callee2", Methods: methods})
	misdirected := rewrite(t, both, "callee", "callee2")

	customer := auth.Principal{UserID: "u-1", Email: "u@example.com", Role: auth.RoleCustomer, SessionID: "s-1"}
	asCustomer := auth.WithPrincipal(context.Background(), customer)
	tests := []struct {
		name   string
		url    string
		ctx    context.Context
		edit   func(*remote.ClientConfig)
		want   errs.Kind
		wantOK bool
	}{
		{name: "anonymous call", url: ts.URL, ctx: context.Background(), wantOK: true},
		{name: "expired token", url: ts.URL, ctx: context.Background(), want: errs.KindUnauthenticated,
			edit: func(c *remote.ClientConfig) { c.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) } }},
		{name: "forged token", url: ts.URL, ctx: context.Background(), want: errs.KindUnauthenticated,
			edit: func(c *remote.ClientConfig) { c.Keys = remote.DevKeys("another secret", "caller") }},
		{name: "token for another module", url: misdirected, ctx: context.Background(), want: errs.KindUnauthenticated},
		{name: "caller that does not depend on the callee", url: ts.URL, ctx: context.Background(), want: errs.KindForbidden,
			edit: func(c *remote.ClientConfig) { c.Caller, c.Keys = "intruder", remote.DevKeys(secret, "intruder") }},
		{name: "user assertion forged", url: ts.URL, ctx: asCustomer, want: errs.KindUnauthenticated,
			edit: func(c *remote.ClientConfig) {
				c.Keys = keysWith{base: c.Keys, other: remote.DevKeys("another secret", remote.IdentityModule), modules: []string{remote.IdentityModule}}
			}},
		{name: "user without an assertion in a process not hosting identity", url: ts.URL, ctx: asCustomer, want: errs.KindUnauthenticated,
			edit: func(c *remote.ClientConfig) { c.Keys = remote.DevKeys(secret, "caller") }},
		{name: "acting as another module", url: ts.URL, ctx: auth.AsService(context.Background(), "orders"), want: errs.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(tt.ctx, client(t, tt.url, tt.edit), "WhoAmI", false, 0)
			if tt.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				if p := <-seen; p != (auth.Principal{}) {
					t.Errorf("callee saw %+v, want no principal", p)
				}
				return
			}
			if !errs.Is(err, tt.want) {
				t.Fatalf("err = %v, want kind %s", err, tt.want)
			}
		})
	}

	t.Run("user asserted by identity", func(t *testing.T) {
		if _, err := call(asCustomer, client(t, ts.URL, nil), "WhoAmI", false, 0); err != nil {
			t.Fatal(err)
		}
		if p := <-seen; p != customer {
			t.Errorf("callee saw %+v, want %+v", p, customer)
		}
	})
	t.Run("module acting as itself", func(t *testing.T) {
		if _, err := call(auth.AsService(context.Background(), "caller"), client(t, ts.URL, nil), "WhoAmI", false, 0); err != nil {
			t.Fatal(err)
		}
		if p := <-seen; p != auth.Service("caller") {
			t.Errorf("callee saw %+v, want the caller's service principal", p)
		}
	})
}

// Without a valid call token for this very call, or with an expired user
// assertion, the server answers 401 problem+json.
func TestServerRefusesUnauthenticatedRequests(t *testing.T) {
	t.Parallel()
	seen := make(chan auth.Principal, 1)
	ts := serve(t, map[string]remote.Method{"WhoAmI": whoAmI(seen), "Other": whoAmI(seen)})
	keys := remote.DevKeys(secret, "caller", remote.IdentityModule)
	expired, err := remote.AssertUser(keys, auth.Principal{UserID: "u", Role: auth.RoleCustomer}, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	valid := callToken(t) // for WhoAmI with {"n":0}
	tests := []struct {
		name, method, body string
		header             http.Header
		wantOK             bool
	}{
		{name: "the very call", method: "WhoAmI", body: `{"n":0}`, header: http.Header{remote.HeaderCaller: {valid}}, wantOK: true},
		{name: "no token", method: "WhoAmI", body: `{"n":0}`, header: http.Header{}},
		{name: "malformed token", method: "WhoAmI", body: `{"n":0}`, header: http.Header{remote.HeaderCaller: {"not-a-token"}}},
		{name: "assertion as token", method: "WhoAmI", body: `{"n":0}`, header: http.Header{remote.HeaderCaller: {expired}}},
		{name: "token for other arguments", method: "WhoAmI", body: `{"n":1}`, header: http.Header{remote.HeaderCaller: {valid}}},
		{name: "token for another method", method: "Other", body: `{"n":0}`, header: http.Header{remote.HeaderCaller: {valid}}},
		{name: "expired assertion", method: "WhoAmI", body: `{"n":0}`, header: http.Header{remote.HeaderCaller: {valid}, remote.HeaderUser: {expired}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/internal/callee/"+tt.method, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.wantOK {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
				<-seen
				return
			}
			var p problem.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != problem.ContentType || p.Kind != "unauthenticated" {
				t.Errorf("status %d, %s, kind %q; want 401 problem+json unauthenticated", resp.StatusCode, resp.Header.Get("Content-Type"), p.Kind)
			}
		})
	}
}

// callToken returns the call token a real client sends for WhoAmI with
// {"n":0}: it captures one on its way to a recording server.
func callToken(t *testing.T) string {
	t.Helper()
	got := make(chan string, 1)
	rec := rewriteFunc(t, func(w http.ResponseWriter, r *http.Request) bool {
		got <- r.Header.Get(remote.HeaderCaller)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
		return true
	}, "")
	if _, err := call(context.Background(), client(t, rec, nil), "WhoAmI", false, 0); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// A callee calling on for the same user forwards the assertion it got: a
// process that does not host identity acts for the user all the same.
func TestUserAssertionTravelsAlongAChain(t *testing.T) {
	t.Parallel()
	seen := make(chan auth.Principal, 1)
	last := remote.NewServer(remote.ServerConfig{Keys: remote.DevKeys(secret, "last"),
		Callers: remote.AllowedCallers(map[string][]string{"callee": {"last"}})},
		remote.Service{Module: "last", Methods: map[string]remote.Method{"WhoAmI": whoAmI(seen)}})
	lastTS := start(t, last)
	onward := client(t, "", func(c *remote.ClientConfig) {
		c.Caller, c.Keys, c.Endpoints = "callee", remote.DevKeys(secret, "callee"), map[string]string{"last": lastTS}
	})
	ts := serve(t, map[string]remote.Method{"Forward": func(ctx context.Context, decode func(any) error) (any, error) {
		var r struct{}
		return r, onward.Call(ctx, "last", "WhoAmI", false, struct{}{}, &r)
	}})
	customer := auth.Principal{UserID: "u-2", Role: auth.RoleAdmin}
	if _, err := call(auth.WithPrincipal(context.Background(), customer), client(t, ts.URL, nil), "Forward", false, 0); err != nil {
		t.Fatal(err)
	}
	if p := <-seen; p != customer {
		t.Errorf("the last callee saw %+v, want %+v", p, customer)
	}
}
