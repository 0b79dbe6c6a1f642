package tracing_test

import (
	"testing"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/tracing"
)

// The endpoints keep the OTLP exporter specification's meaning: the traces
// endpoint is taken as it is, the base endpoint gets /v1/traces.
func TestEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  config.Tracing
		want string
	}{
		{config.Tracing{}, ""},
		{config.Tracing{Endpoint: "http://collector:4318"}, "http://collector:4318/v1/traces"},
		{config.Tracing{Endpoint: "https://collector:4318/otlp/"}, "https://collector:4318/otlp/v1/traces"},
		{config.Tracing{TracesEndpoint: "http://collector:4318/custom"}, "http://collector:4318/custom"},
		{config.Tracing{Endpoint: "http://a:4318", TracesEndpoint: "http://b:4318/t"}, "http://b:4318/t"},
	}
	for _, tt := range tests {
		if got, err := tracing.Endpoint(tt.cfg); err != nil || got != tt.want {
			t.Errorf("Endpoint(%+v) = %q, %v; want %q", tt.cfg, got, err, tt.want)
		}
	}
}

func TestServiceName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg    config.Tracing
		hosted []string
		all    bool
		want   string
	}{
		{config.Tracing{}, []string{"identity", "catalog"}, true, "shop"},
		{config.Tracing{}, []string{"orders"}, false, "shop-orders"},
		{config.Tracing{}, []string{"catalog", "inventory"}, false, "shop-catalog-inventory"},
		{config.Tracing{}, nil, false, "shop-edge"},
		{config.Tracing{ServiceName: "checkout"}, []string{"orders"}, false, "checkout"},
	}
	for _, tt := range tests {
		if got := tracing.ServiceName(tt.cfg, tt.hosted, tt.all); got != tt.want {
			t.Errorf("ServiceName(%+v, %v, %v) = %q, want %q", tt.cfg, tt.hosted, tt.all, got, tt.want)
		}
	}
}
