package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/testreport"
	"github.com/shopmonolith/shop/platform/topology"
	"github.com/shopmonolith/shop/platform/tracing"
)

// One checkout in the monolith, composed in this test's process with an
// in-memory exporter: its trace runs from the edge's request span through
// orders' statements, the saga's handlers and the calls they make into
// inventory and payments, to the confirmation email, each handler's span
// under and linked to the span that published its event; the request's
// log line carries the trace id.
func TestTraceOfACheckoutInTheMonolith(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Load(mapEnv(append(fastLogins, "SHOP_HTTP_ADDR=127.0.0.1:0")...))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = dbtest.Config()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter), sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(tracing.Resource("shop", nil)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &lockedBuffer{}
	log := logging.New(logs, "json", "info")
	app := buildTracedMonolith(t, ctx, cfg, log, dbtest.Databases(t, dbtest.NewURL(t)), tp)
	if _, err := app.Identity.API().EnsureAdmin(ctx, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- app.Kernel.Run(ctx, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	s := &shop{t: t}
	select {
	case a := <-addr:
		s.base = "http://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}

	buyOne(s, "TRACE-1")
	traceID := checkCheckoutTrace(t, spansOf(exporter.GetSpans()), func(string) string { return "shop" })
	if got := requestLogTraceID(t, strings.Split(logs.String(), "\n")); got != traceID {
		t.Errorf("the checkout's request log line has trace_id %q, want the trace's %s", got, traceID)
	}
}

// The same checkout with every module in a process of its own behind an
// edge, events over NATS, every process exporting to one OTLP/HTTP
// collector: one trace still runs from the edge through orders, inventory
// and payments to notifications, across the processes (each names itself
// in service.name), and the processes export what they have left when they
// stop.
func TestTraceOfACheckoutAcrossProcesses(t *testing.T) {
	t.Parallel()
	split, err := topology.Named(topology.Split, binaryModules, true)
	if err != nil {
		t.Fatal(err)
	}
	collector := &otlpCollector{}
	srv := httptest.NewServer(collector)
	t.Cleanup(srv.Close)
	reserveShops(t, topologyConns(split))
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: split, partial: true}
	s.start(append(fastLogins, "OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL)...)

	buyOne(s, "TRACE-2")
	// Stopping flushes: every process exports its last spans before it exits.
	if err := s.stop(); err != nil {
		t.Fatalf("the processes did not all exit cleanly: %v", err)
	}
	traceID := checkCheckoutTrace(t, collector.spans(t), func(module string) string { return "shop-" + module })
	var lines []string
	for line := range strings.SplitSeq(s.logs.String(), "\n") {
		if name, rest, ok := strings.Cut(line, linePrefix); ok && name == "edge" {
			lines = append(lines, rest)
		}
	}
	if got := requestLogTraceID(t, lines); got != traceID {
		t.Errorf("the edge's request log line of the checkout has trace_id %q, want the trace's %s", got, traceID)
	}
}

// buyOne has a customer buy a product and waits for the confirmation email.
func buyOne(s *shop, sku string) {
	s.t.Helper()
	admin := s.login(adminEmail, adminPassword)
	product := s.product(admin, sku, 1500, 5)
	customer := s.register(strings.ToLower(sku) + "@example.com")
	s.addToCart(customer, product, 1)
	var placed order
	s.must(http.StatusCreated, s.checkout(customer, "4242 4242 4242 4242")).json(s.t, &placed)
	if o := s.awaitOrder(customer, placed.ID, order.settled); o.Status != "confirmed" {
		s.t.Fatalf("order %s, want confirmed: %v", o.Status, o.steps())
	}
	s.awaitMail(admin, s.userID(customer), "order_confirmed")
}

// span is a finished span as the in-memory exporter or the collector got it.
type span struct {
	trace, id, parent string
	name, service     string
	kind              trace.SpanKind
	attrs             map[string]string
	links             []string // the span ids it links to
}

type spanSet []span

// checkCheckoutTrace asserts the trace of the one checkout in spans and
// returns its id. serviceOf names the service (process) hosting a module,
// or the edge.
func checkCheckoutTrace(t *testing.T, spans spanSet, serviceOf func(module string) string) string {
	t.Helper()
	req := spans.one(t, "the checkout's request span", func(s span) bool {
		return s.kind == trace.SpanKindServer && s.name == "POST /api/orders" && s.service == serviceOf("edge")
	})
	if req.attrs["http.route"] != "/api/orders" || req.attrs["http.response.status_code"] != "201" {
		t.Errorf("request span attributes %v, want http.route /api/orders and status 201", req.attrs)
	}
	in := spans.inTrace(req.trace)
	// Each module's statements are in the trace, made by the module's
	// process, and descend from the request.
	for _, module := range []string{"orders", "inventory", "payments", "notifications"} {
		in.one(t, module+"'s statements", func(s span) bool {
			return s.kind == trace.SpanKindClient && s.attrs["shop.module"] == module && s.attrs["db.query.text"] != "" &&
				s.service == serviceOf(module) && in.descends(s, req.id)
		})
	}
	// Each handler's span is a child of, and linked to, its publisher's.
	handler := func(eventType, subscriber, module string) span {
		t.Helper()
		pub := in.one(t, "publish "+eventType, func(s span) bool {
			return s.kind == trace.SpanKindProducer && s.name == "publish "+eventType && s.service == serviceOf("orders")
		})
		h := in.one(t, subscriber+" handling "+eventType, func(s span) bool {
			return s.kind == trace.SpanKindConsumer && s.name == "handle "+eventType &&
				s.attrs["messaging.consumer.group.name"] == subscriber && s.service == serviceOf(module)
		})
		if h.parent != pub.id || !slices.Contains(h.links, pub.id) {
			t.Errorf("%s's span (parent %s, links %v) is not under and linked to the publisher's span %s", subscriber, h.parent, h.links, pub.id)
		}
		return h
	}
	placed := handler("orders.order_placed.v1", "orders.saga", "orders")
	stocked := handler("orders.order_stock_reserved.v1", "orders.saga", "orders")
	mail := handler("orders.order_confirmed.v1", "notifications.order_emails", "notifications")
	// The saga's steps reach inventory and payments under their handlers'
	// spans; across processes, through a call's client and server spans.
	for _, step := range []struct {
		handler          span
		module, callName string
	}{{placed, "inventory", "inventory.Reserve"}, {stocked, "payments", "payments.Authorize"}} {
		in.one(t, step.module+"'s statements under the saga step", func(s span) bool {
			return s.attrs["shop.module"] == step.module && s.attrs["db.query.text"] != "" && in.descends(s, step.handler.id)
		})
		if serviceOf(step.module) == serviceOf("orders") {
			continue
		}
		client := in.one(t, "the call "+step.callName, func(s span) bool {
			return s.kind == trace.SpanKindClient && s.name == step.callName && s.service == serviceOf("orders") && in.descends(s, step.handler.id)
		})
		in.one(t, step.callName+" served", func(s span) bool {
			return s.kind == trace.SpanKindServer && s.name == step.callName && s.parent == client.id && s.service == serviceOf(step.module)
		})
	}
	in.one(t, "the email's statements", func(s span) bool {
		return s.attrs["shop.module"] == "notifications" && s.parent == mail.id
	})
	var services []string
	for _, s := range in {
		services = append(services, s.service)
	}
	slices.Sort(services)
	services = slices.Compact(services)
	testreport.Print(t, "the checkout's trace: %d spans from %d processes (%s)", len(in), len(services), strings.Join(services, ", "))
	return req.trace
}

// one returns the first span that matches, failing the test when none does.
func (ss spanSet) one(t *testing.T, what string, match func(span) bool) span {
	t.Helper()
	if i := slices.IndexFunc(ss, match); i >= 0 {
		return ss[i]
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.service + ":" + s.name
	}
	t.Fatalf("no span of %s among %d: %v", what, len(ss), names)
	return span{}
}

func (ss spanSet) inTrace(id string) spanSet {
	return slices.DeleteFunc(slices.Clone(ss), func(s span) bool { return s.trace != id })
}

// descends reports whether s is ancestor's descendant (or ancestor itself).
func (ss spanSet) descends(s span, ancestor string) bool {
	byID := map[string]span{}
	for _, x := range ss {
		byID[x.id] = x
	}
	for seen := 0; seen <= len(ss); seen++ {
		if s.id == ancestor {
			return true
		}
		parent, ok := byID[s.parent]
		if !ok {
			return false
		}
		s = parent
	}
	return false
}

// spansOf converts what the in-memory exporter holds.
func spansOf(stubs tracetest.SpanStubs) spanSet {
	out := make(spanSet, 0, len(stubs))
	for _, st := range stubs {
		s := span{trace: st.SpanContext.TraceID().String(), id: st.SpanContext.SpanID().String(), name: st.Name, kind: st.SpanKind,
			attrs: map[string]string{}}
		if st.Parent.IsValid() {
			s.parent = st.Parent.SpanID().String()
		}
		for _, a := range st.Attributes {
			s.attrs[string(a.Key)] = a.Value.Emit()
		}
		for _, l := range st.Links {
			s.links = append(s.links, l.SpanContext.SpanID().String())
		}
		if st.Resource != nil {
			if v, ok := st.Resource.Set().Value("service.name"); ok {
				s.service = v.AsString()
			}
		}
		out = append(out, s)
	}
	return out
}

// otlpCollector is an OTLP/HTTP receiver of traces (protobuf, as the
// exporter sends them): it keeps every span.
type otlpCollector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	failures []string
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := decodeExport(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures = append(c.failures, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.requests = append(c.requests, req)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func decodeExport(r *http.Request) (*coltracepb.ExportTraceServiceRequest, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		return nil, fmt.Errorf("%s %s: not an OTLP/HTTP export of traces", r.Method, r.URL.Path)
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	return req, proto.Unmarshal(raw, req)
}

// spans returns every span the collector got.
func (c *otlpCollector) spans(t *testing.T) spanSet {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) > 0 {
		t.Errorf("the collector refused exports: %v", c.failures)
	}
	var out spanSet
	for _, req := range c.requests {
		for _, rs := range req.GetResourceSpans() {
			service := attrsOf(rs.GetResource().GetAttributes())["service.name"]
			for _, ss := range rs.GetScopeSpans() {
				for _, p := range ss.GetSpans() {
					s := span{trace: hex.EncodeToString(p.GetTraceId()), id: hex.EncodeToString(p.GetSpanId()),
						parent: hex.EncodeToString(p.GetParentSpanId()), name: p.GetName(), service: service,
						kind: trace.SpanKind(p.GetKind()), attrs: attrsOf(p.GetAttributes())}
					for _, l := range p.GetLinks() {
						s.links = append(s.links, hex.EncodeToString(l.GetSpanId()))
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// attrsOf renders OTLP attributes as strings, as attribute.Value.Emit does.
func attrsOf(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetIntValue() != 0:
			out[kv.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
		default:
			out[kv.GetKey()] = v.GetStringValue()
		}
	}
	return out
}

// requestLogTraceID returns the trace_id of the log line of the checkout's
// request among JSON lines.
func requestLogTraceID(t *testing.T, lines []string) string {
	t.Helper()
	for _, line := range lines {
		var l struct {
			Msg, Method, Route string
			TraceID            string `json:"trace_id"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Method == http.MethodPost && l.Route == "/api/orders" {
			return l.TraceID
		}
	}
	t.Fatal("no log line of the checkout's request")
	return ""
}
