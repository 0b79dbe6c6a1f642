package modules_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/cartremote"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogremote"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/identityremote"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/inventoryremote"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/notificationsremote"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/orders/ordersremote"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/paymentsremote"
	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/modules/reporting/reportingremote"
	"github.com/shopmonolith/shop/platform/remote"
)

// Every method of every module API has a remote mapping: the generated
// client and endpoints cover the interface's method set exactly. A method
// added to a contract without `make generate` fails here (the client would
// not compile either; the endpoints would silently lack it).
func TestEveryMethodHasARemoteMapping(t *testing.T) {
	t.Parallel()
	mapped := map[string]struct {
		api     reflect.Type
		methods []string
	}{
		"cart":          {reflect.TypeFor[cart.API](), cartremote.MethodNames()},
		"catalog":       {reflect.TypeFor[catalog.API](), catalogremote.MethodNames()},
		"identity":      {reflect.TypeFor[identity.API](), identityremote.MethodNames()},
		"inventory":     {reflect.TypeFor[inventory.API](), inventoryremote.MethodNames()},
		"notifications": {reflect.TypeFor[notifications.API](), notificationsremote.MethodNames()},
		"orders":        {reflect.TypeFor[orders.API](), ordersremote.MethodNames()},
		"payments":      {reflect.TypeFor[payments.API](), paymentsremote.MethodNames()},
		"reporting":     {reflect.TypeFor[reporting.API](), reportingremote.MethodNames()},
	}
	for _, m := range moduleNames(t) {
		if _, ok := mapped[m]; !ok {
			t.Errorf("modules/%s has no remote mapping in this test", m)
		}
	}
	for module, mm := range mapped {
		if missing, extra := methodSetDiff(mm.api, mm.methods); len(missing)+len(extra) > 0 {
			t.Errorf("%s: methods without a remote mapping %q, mappings without a method %q: run make generate",
				module, missing, extra)
		}
	}
}

// methodSetDiff compares an interface's methods with the names mapped.
func methodSetDiff(api reflect.Type, mapped []string) (missing, extra []string) {
	var names []string
	for i := range api.NumMethod() {
		names = append(names, api.Method(i).Name)
		if !slices.Contains(mapped, api.Method(i).Name) {
			missing = append(missing, api.Method(i).Name)
		}
	}
	for _, m := range mapped {
		if !slices.Contains(names, m) {
			extra = append(extra, m)
		}
	}
	return missing, extra
}

// The comparison itself, on an interface the list does not match.
func TestMethodSetDiffDetectsGaps(t *testing.T) {
	t.Parallel()
	type api interface {
		A()
		B()
	}
	missing, extra := methodSetDiff(reflect.TypeFor[api](), []string{"A", "C"})
	if !slices.Equal(missing, []string{"B"}) || !slices.Equal(extra, []string{"C"}) {
		t.Fatalf("missing %q, extra %q; want [B] and [C]", missing, extra)
	}
}

// The modules that may call each module's internal endpoints are those
// that declare it a dependency: what the descriptors say, and nothing more,
// but for the edge, which checks sessions at identity.
func TestCallersFollowDeclaredDependencies(t *testing.T) {
	t.Parallel()
	got := remote.AllowedCallers(dependencies())
	want := map[string][]string{
		"catalog":   {"cart", "inventory"},
		"inventory": {"cart", "orders"},
		"cart":      {"orders"},
		"payments":  {"orders"},
		"identity":  {remote.EdgeCaller, "notifications"},
		"orders":    {"notifications", "reporting"},
	}
	for _, m := range moduleNames(t) {
		if !slices.Equal(got[m], want[m]) {
			t.Errorf("%s accepts calls from %q, want %q", m, got[m], want[m])
		}
	}
}
