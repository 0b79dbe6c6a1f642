package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shopmonolith/shop/platform/metrics"
)

// Invented methods share one label value, so clients cannot grow the registry.
func TestUnknownMethodsShareOneSeries(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	for _, method := range []string{"FOOBAR", "BAZ", "GET", "PURGE"} {
		m.ObserveHTTP("catalog", "/api/products", method, 404, time.Millisecond)
	}
	want := `
# HELP shop_http_requests_total HTTP requests handled, by module, route, method and status code.
# TYPE shop_http_requests_total counter
shop_http_requests_total{code="404",method="GET",module="catalog",route="/api/products"} 1
shop_http_requests_total{code="404",method="OTHER",module="catalog",route="/api/products"} 3
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "shop_http_requests_total"); err != nil {
		t.Fatal(err)
	}
}
