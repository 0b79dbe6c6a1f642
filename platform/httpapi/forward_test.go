package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/remote"
)

const edgeSecret = "forward test secret"

// seen is what the owner's handler saw of a forwarded request.
type seen struct {
	Method, Path, Query, Body, Host, Cookie, Key, Client, RequestID, User, XFF, Proto string
}

type thingID struct {
	ID string `path:"id"`
}

// declareThings registers module things' routes with h behind each: the
// module's own handlers at its owner, none at an edge (which forwards).
func declareThings(r *httpapi.Router, h echo.HandlerFunc) {
	r.POST("/things/:id", h).Doc(httpapi.Op{ID: "postThing", Summary: "Post a thing", Access: httpapi.AccessOptions, Input: thingID{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: seen{}}}})
	r.GET("/things/:id", h).Doc(httpapi.Op{ID: "getThing", Summary: "Get a thing", Access: httpapi.AccessOptions, Input: thingID{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: seen{}}}})
}

// owner runs module things on its public and internal listeners; it
// answers what it saw, a 409 for thing "taken", and waits out the deadline
// for thing "slow".
func owner(t *testing.T) (srv *httpapi.Server, public, internal string) {
	t.Helper()
	cfg := testConfig(t, map[string]string{"SHOP_HTTP_ADDR": "127.0.0.1:0", "SHOP_HTTP_INTERNAL_ADDR": "127.0.0.1:0"})
	srv = httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), tokenAuthenticator(), nil)
	srv.MountInternal(http.NotFoundHandler(), remote.DevKeys(edgeSecret, "things"))
	declareThings(srv.Router("things"), func(c echo.Context) error {
		switch c.Param("id") {
		case "taken":
			return errs.E(errs.KindConflict, "thing taken")
		case "slow":
			<-c.Request().Context().Done()
			return c.Request().Context().Err()
		}
		r := c.Request()
		body, _ := io.ReadAll(r.Body)
		cookie, _ := r.Cookie("shop_session")
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Host: r.Host,
			Key: r.Header.Get("Idempotency-Key"), Client: c.RealIP(), RequestID: r.Header.Get(echo.HeaderXRequestID),
			XFF: r.Header.Get("X-Forwarded-For"), Proto: r.Header.Get("X-Forwarded-Proto")}
		if cookie != nil {
			s.Cookie = cookie.Value
		}
		if p, ok := auth.FromContext(r.Context()); ok {
			s.User = p.UserID
		}
		return c.JSON(http.StatusOK, s)
	})
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { listening <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-listening:
		return srv, "http://" + a.String(), "http://" + srv.InternalAddr()
	case err := <-done:
		t.Fatalf("owner: %v", err)
	}
	return nil, "", ""
}

// edge serves module things by forwarding to ownerURL. It trusts the
// loopback proxy's X-Forwarded-For, and its authenticator fails the test:
// the owner checks sessions of forwarded routes, not the edge.
func edge(t *testing.T, ownerURL string, env map[string]string) *httptest.Server {
	t.Helper()
	base := map[string]string{"SHOP_HTTP_TRUSTED_PROXIES": "127.0.0.1", "SHOP_HTTP_REQUEST_TIMEOUT": "5s"}
	for k, v := range env {
		base[k] = v
	}
	cfg := testConfig(t, base)
	authn := &fakeAuthenticator{authenticate: func(context.Context, string) (auth.Principal, error) {
		t.Error("the edge authenticated a forwarded request")
		return auth.Principal{}, errs.E(errs.KindUnavailable, "no identity here")
	}}
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), authn, nil)
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	declareThings(srv.ForwardRouter("things", u, remote.DevKeys(edgeSecret, remote.EdgeCaller)), nil)
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return ts
}

func send(t *testing.T, method, url, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func TestForwardingKeepsTheRequest(t *testing.T) {
	t.Parallel()
	_, _, internal := owner(t)
	e := edge(t, internal, nil)

	resp, raw := send(t, "POST", e.URL+"/things/7?x=1&y=2", `{"n":1}`, "Content-Type: application/json",
		"Cookie: shop_session=customer-token", "Idempotency-Key: key-1", "X-Forwarded-For: 203.0.113.9",
		"X-Forwarded-Proto: https", "X-Request-Id: req-42")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("forwarded POST = %d %s", resp.StatusCode, raw)
	}
	var got seen
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.URL, "http://")
	want := seen{Method: "POST", Path: "/things/7", Query: "x=1&y=2", Body: `{"n":1}`, Host: host, Cookie: "customer-token",
		Key: "key-1", Client: "203.0.113.9", RequestID: "req-42", User: "u-customer", XFF: "203.0.113.9, 127.0.0.1", Proto: "https"}
	if got != want {
		t.Errorf("the owner saw\n%+v\nwant\n%+v", got, want)
	}
	if v := resp.Header.Values("X-Frame-Options"); len(v) != 1 {
		t.Errorf("X-Frame-Options %q: the edge's headers and the owner's both sent", v)
	}
	if id := resp.Header.Get(echo.HeaderXRequestID); id != "req-42" {
		t.Errorf("X-Request-Id %q, want req-42", id)
	}

	// The owner's refusals pass through as they are.
	resp, raw = send(t, "GET", e.URL+"/things/taken", "")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(raw), "thing taken") {
		t.Errorf("owner's conflict through the edge = %d %s", resp.StatusCode, raw)
	}
}

// The owner's internal listener believes the client address of a request
// forwarded with a valid token only; its public listener never does.
func TestForwardedClientAddressNeedsTheEdgeToken(t *testing.T) {
	t.Parallel()
	_, public, internal := owner(t)
	token := func(keys remote.Keys, path string) string {
		tok, err := remote.SignForwarded(keys, remote.Forwarded{Module: "things", Method: "GET", Path: path, Client: "198.51.100.1"},
			time.Minute, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	edgeKeys := remote.DevKeys(edgeSecret, remote.EdgeCaller)
	client := func(base string, headers ...string) (int, string) {
		resp, raw := send(t, "GET", base+"/things/1", "", headers...)
		var s seen
		_ = json.Unmarshal(raw, &s)
		return resp.StatusCode, s.Client
	}
	tests := []struct {
		name    string
		base    string
		headers []string
		status  int
		client  string
	}{
		{"made-up X-Forwarded-For", internal, []string{"X-Forwarded-For: 198.51.100.1"}, http.StatusOK, "127.0.0.1"},
		{"valid token", internal, []string{remote.HeaderForwarded + ": " + token(edgeKeys, "/things/1")}, http.StatusOK, "198.51.100.1"},
		{"token on the public listener", public, []string{remote.HeaderForwarded + ": " + token(edgeKeys, "/things/1")}, http.StatusOK, "127.0.0.1"},
		{"forged token", internal, []string{remote.HeaderForwarded + ": " + token(remote.DevKeys("other", remote.EdgeCaller), "/things/1")}, http.StatusUnauthorized, ""},
		{"token of another request", internal, []string{remote.HeaderForwarded + ": " + token(edgeKeys, "/things/2")}, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		if status, got := client(tt.base, tt.headers...); status != tt.status || got != tt.client {
			t.Errorf("%s: %d, client %q; want %d, %q", tt.name, status, got, tt.status, tt.client)
		}
	}
}

// An owner that cannot answer is a problem document from the edge, within
// the request timeout: 503 with Retry-After when it is down or a gateway
// answers for it, 504 when it does not answer in time.
func TestForwardingFailures(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(gateway.Close)
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() { // accepts and never answers
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	_, _, slowOwner := owner(t)

	const timeout = 500 * time.Millisecond
	env := map[string]string{"SHOP_HTTP_REQUEST_TIMEOUT": timeout.String()}
	tests := []struct {
		name, owner, path string
		status            int
		retryAfter        bool
	}{
		{"owner down", down.URL, "/things/1", http.StatusServiceUnavailable, true},
		{"a gateway's 502", gateway.URL, "/things/1", http.StatusServiceUnavailable, true},
		{"owner never answers", "http://" + hang.Addr().String(), "/things/1", http.StatusGatewayTimeout, false},
		{"owner slower than the deadline", slowOwner, "/things/slow", http.StatusGatewayTimeout, false},
	}
	for _, tt := range tests {
		start := time.Now()
		resp, raw := send(t, "GET", edge(t, tt.owner, env).URL+tt.path, "")
		elapsed := time.Since(start)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != httpapi.ProblemContentType {
			t.Errorf("%s: %d %s %s, want %d problem", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"), raw, tt.status)
		}
		if got := resp.Header.Get("Retry-After") != ""; got != tt.retryAfter {
			t.Errorf("%s: Retry-After %q", tt.name, resp.Header.Get("Retry-After"))
		}
		if elapsed > timeout+2*time.Second {
			t.Errorf("%s: answered after %s, past the %s timeout", tt.name, elapsed, timeout)
		}
	}
}

// An edge's API description is the owner's: the routes are declared from
// the same code.
func TestForwardedRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	ownerSrv, _, internal := owner(t)
	e := edge(t, internal, nil)
	resp, raw := send(t, "GET", e.URL+httpapi.OpenAPIPath, "")
	want, err := ownerSrv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(raw) != string(want) {
		t.Errorf("the edge's description differs from the owner's:\n%s\nwant\n%s", raw, want)
	}
}
