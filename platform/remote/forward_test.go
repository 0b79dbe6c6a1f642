package remote_test

import (
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/remote"
)

func TestForwardedTokens(t *testing.T) {
	t.Parallel()
	edge := remote.DevKeys(secret, remote.EdgeCaller)
	owner := remote.DevKeys(secret, "catalog") // verifies; signs as catalog only
	now := time.Now()
	f := remote.Forwarded{Module: "catalog", Method: "POST", Path: "/api/products", Client: "203.0.113.7"}
	sign := func(keys remote.Keys, f remote.Forwarded, at time.Time) string {
		t.Helper()
		token, err := remote.SignForwarded(keys, f, time.Minute, at)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	if _, err := remote.SignForwarded(owner, f, time.Minute, now); !errs.Is(err, errs.KindInternal) {
		t.Errorf("signing without the edge key: %v, want internal", err)
	}
	good := sign(edge, f, now)
	client, err := remote.VerifyForwarded(owner, good, "catalog", "POST", "/api/products", now)
	if err != nil || client != f.Client {
		t.Fatalf("a valid token: client %q, %v; want %q", client, err, f.Client)
	}

	assertion := func() string { // a user assertion is no forwarded token
		t.Helper()
		a, err := remote.AssertUser(remote.DevKeys(secret, remote.IdentityModule), shopper, time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name, token, module, method, path string
	}{
		{"another module's route", good, "inventory", "POST", "/api/products"},
		{"another method", good, "catalog", "DELETE", "/api/products"},
		{"another path", good, "catalog", "POST", "/api/categories"},
		{"expired", sign(edge, f, now.Add(-2*time.Minute)), "catalog", "POST", "/api/products"},
		{"forged", sign(remote.DevKeys("another secret", remote.EdgeCaller), f, now), "catalog", "POST", "/api/products"},
		{"a user assertion", assertion(), "catalog", "POST", "/api/products"},
		{"garbage", "not.a-token", "catalog", "POST", "/api/products"},
	}
	for _, tt := range tests {
		if _, err := remote.VerifyForwarded(owner, tt.token, tt.module, tt.method, tt.path, now); !errs.Is(err, errs.KindUnauthenticated) {
			t.Errorf("%s: %v, want unauthenticated", tt.name, err)
		}
	}
}
