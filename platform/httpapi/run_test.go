package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// signalHandler is a slog handler that closes a channel when a record with
// the given message is logged; it lets the test wait for a point inside Run.
type signalHandler struct {
	msg  string
	ch   chan struct{}
	once *sync.Once
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h signalHandler) WithGroup(string) slog.Handler            { return h }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}

type result struct {
	status int
	body   string
	err    error
}

func fetch(client *http.Client, url string) result {
	resp, err := client.Get(url)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), err: err}
}

func TestRunDrainsGracefully(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{
		"SHOP_HTTP_ADDR":             "127.0.0.1:0",
		"SHOP_HTTP_DRAIN_DELAY":      "1s", // only needs to outlast one /readyz round trip
		"SHOP_HTTP_SHUTDOWN_TIMEOUT": "10s",
	})
	draining := make(chan struct{})
	log := slog.New(signalHandler{msg: "draining", ch: draining, once: &sync.Once{}})
	h := health.NewState(time.Second)
	srv := httpapi.New(cfg, log, h, metrics.New(), nil, nil)

	entered, release := make(chan struct{}), make(chan struct{})
	srv.Router("testmod").GET("/block", func(c echo.Context) error {
		close(entered)
		<-release
		return c.String(http.StatusOK, "done")
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()

	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-runErr:
		t.Fatalf("Run returned before listening: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	if r := fetch(client, base+"/readyz"); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d %v", r.status, r.err)
	}

	inflight := make(chan result, 1)
	go func() { inflight <- fetch(client, base+"/block") }()
	select {
	case <-entered:
	case r := <-inflight:
		t.Fatalf("in-flight request ended early: %+v", r)
	}

	cancel()
	<-draining // Run has marked readiness as failing and is in its drain delay

	r := fetch(client, base+"/readyz")
	if r.err != nil {
		t.Fatalf("/readyz while draining: %v (the listener must stay open during the drain delay)", r.err)
	}
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d %s, want 503", r.status, r.body)
	}
	if r := fetch(client, base+"/healthz"); r.err != nil || r.status != http.StatusOK {
		t.Errorf("/healthz while draining = %d %v, want 200", r.status, r.err)
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}

	close(release)
	if r := <-inflight; r.err != nil || r.status != http.StatusOK || r.body != "done" {
		t.Errorf("in-flight request = %d %q %v, want 200 done", r.status, r.body, r.err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts requests after Run returned")
	}
}

func TestRunReportsListenError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, map[string]string{"SHOP_HTTP_ADDR": ln.Addr().String()})
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	called := false
	if err := srv.Run(context.Background(), func(net.Addr) { called = true }); err == nil {
		t.Fatal("Run on a taken address = nil error")
	}
	if called {
		t.Error("ready callback called although listening failed")
	}
}

// The internal endpoints have a listener of their own, with health and the
// public routes (for the processes that forward them), and are never served
// on the public one; they drain with it: readiness fails while a call in
// flight finishes, then the listener closes.
func TestRunServesTheInternalEndpointsApart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{
		"SHOP_HTTP_ADDR":             "127.0.0.1:0",
		"SHOP_HTTP_INTERNAL_ADDR":    "127.0.0.1:0",
		"SHOP_HTTP_DRAIN_DELAY":      "1s", // only needs to outlast one /readyz round trip
		"SHOP_HTTP_SHUTDOWN_TIMEOUT": "10s",
	})
	draining := make(chan struct{})
	log := slog.New(signalHandler{msg: "draining", ch: draining, once: &sync.Once{}})
	srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), nil, nil)
	srv.Router("testmod").GET("/things", func(c echo.Context) error { return c.String(http.StatusOK, "public") })
	entered, release := make(chan struct{}), make(chan struct{})
	srv.MountInternal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/internal/testmod/Block" {
			close(entered)
			<-release
		}
		_, _ = io.WriteString(w, "internal "+r.URL.Path)
	}), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	var public string
	select {
	case a := <-addrc:
		public = "http://" + a.String()
	case err := <-runErr:
		t.Fatalf("Run returned before listening: %v", err)
	}
	internal := "http://" + srv.InternalAddr()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	for _, tc := range []struct {
		url    string
		status int
		body   string
	}{
		{internal + "/internal/testmod/Get", http.StatusOK, "internal /internal/testmod/Get"},
		{internal + "/readyz", http.StatusOK, ""},
		{internal + "/healthz", http.StatusOK, ""},
		{public + "/internal/testmod/Get", http.StatusNotFound, ""},
		{internal + "/things", http.StatusOK, "public"},
		{internal + "/nothing", http.StatusNotFound, ""},
	} {
		r := fetch(client, tc.url)
		if r.err != nil || r.status != tc.status || (tc.body != "" && r.body != tc.body) {
			t.Errorf("GET %s = %d %q %v, want %d %q", tc.url, r.status, r.body, r.err, tc.status, tc.body)
		}
	}

	inflight := make(chan result, 1)
	go func() { inflight <- fetch(client, internal+"/internal/testmod/Block") }()
	select {
	case <-entered:
	case r := <-inflight:
		t.Fatalf("in-flight call ended early: %+v", r)
	}
	cancel()
	<-draining
	if r := fetch(client, internal+"/readyz"); r.err != nil || r.status != http.StatusServiceUnavailable {
		t.Errorf("internal /readyz while draining = %d %v, want 503", r.status, r.err)
	}
	close(release)
	if r := <-inflight; r.err != nil || r.status != http.StatusOK {
		t.Errorf("in-flight internal call = %d %q %v, want 200", r.status, r.body, r.err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if _, err := client.Get(internal + "/healthz"); err == nil {
		t.Error("the internal listener still accepts calls after Run returned")
	}
}

// A client that stops sending a request's body is cut off: its request
// ends shortly after the request's deadline, with the deadline's 503,
// instead of holding a handler and a connection for good.
func TestARequestWhoseBodyStopsComingEnds(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{
		"SHOP_HTTP_ADDR":                "127.0.0.1:0",
		"SHOP_HTTP_REQUEST_TIMEOUT":     "200ms",
		"SHOP_HTTP_READ_HEADER_TIMEOUT": "100ms",
	})
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	srv.Router("testmod").POST("/body", func(c echo.Context) error {
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	conn, err := net.Dial("tcp", run(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 9 of the 100 bytes announced, then nothing.
	if _, err := io.WriteString(conn, "POST /body HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\": 1, "); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_ = conn.SetReadDeadline(began.Add(10 * time.Second))
	answer, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the request still holds its connection after %s", time.Since(began).Round(time.Millisecond))
	}
	if got := firstLine(answer); got != "HTTP/1.1 503 Service Unavailable" {
		t.Errorf("answer = %q (%v), want the request deadline's 503", got, err)
	}
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\r\n")
	return line
}

// HEAD is answered wherever GET is, with GET's status and headers and no
// body; elsewhere as GET would be (404, 405).
func TestHeadIsAnsweredAsGet(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{"SHOP_HTTP_ADDR": "127.0.0.1:0"})
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	srv.Router("testmod").GET("/thing", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"a": "b"}) })
	srv.Router("testmod").POST("/posted", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	base := "http://" + run(t, srv)
	for path, want := range map[string]int{"/thing": 200, "/healthz": 200, "/nothing": 404, "/posted": 405} {
		res, err := http.Head(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want || len(body) != 0 {
			t.Errorf("HEAD %s = %d with %d bytes, want %d and none", path, res.StatusCode, len(body), want)
		}
		if path == "/thing" && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("HEAD %s: Content-Type %q, want GET's", path, res.Header.Get("Content-Type"))
		}
	}
}

// run runs srv until the test ends and returns its address.
func run(t *testing.T, srv *httpapi.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc, runErr := make(chan net.Addr, 1), make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		<-runErr
	})
	select {
	case a := <-addrc:
		return a.String()
	case err := <-runErr:
		t.Fatalf("Run returned before listening: %v", err)
		return ""
	}
}
