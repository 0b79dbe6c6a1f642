package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/metrics"
)

// The p99 of a module merges its routes' histograms and interpolates within
// the bucket the rank falls in, as histogram_quantile does; another
// module's requests do not count.
func TestQuantileOfAModule(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	if _, ok, err := m.Quantile(0.99, "shop_http_request_duration_seconds", map[string]string{"module": "catalog"}); ok || err != nil {
		t.Fatalf("a quantile before any request: %v, %v", ok, err)
	}
	// 90 fast requests on one route (≤ 1 ms), 10 slow on another (0.5–1 s].
	for range 90 {
		m.ObserveHTTP("catalog", "/api/products", "GET", 200, 500*time.Microsecond)
	}
	for range 10 {
		m.ObserveHTTP("catalog", "/api/products/:id", "GET", 200, 700*time.Millisecond)
	}
	for range 1000 {
		m.ObserveHTTP("orders", "/api/orders", "POST", 201, 5*time.Second)
	}
	l, ok, err := m.Quantile(0.99, "shop_http_request_duration_seconds", map[string]string{"module": "catalog"})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Rank 99 of 100 falls 9/10 into the (0.5, 1] bucket.
	if want := 0.5 + 0.5*9/10; l.Count != 100 || math.Abs(l.Seconds-want) > 1e-9 {
		t.Errorf("p99 = %+v, want %v s over 100 requests", l, want)
	}
	if l, _, _ := m.Quantile(0.5, "shop_http_request_duration_seconds", map[string]string{"module": "catalog"}); l.Seconds > 0.001 {
		t.Errorf("p50 = %v s, want within the first bucket", l.Seconds)
	}
}
