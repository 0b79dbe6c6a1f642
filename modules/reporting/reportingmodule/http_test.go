package reportingmodule_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

// tokens is a fake authenticator: the bearer token names the role.
type tokens struct{}

var _ auth.Authenticator = tokens{}

func (tokens) Authenticate(_ context.Context, token string) (auth.Principal, error) {
	switch token {
	case "admin":
		return auth.Principal{UserID: uuid.NewString(), Role: auth.RoleAdmin}, nil
	case "customer":
		return auth.Principal{UserID: uuid.NewString(), Role: auth.RoleCustomer}, nil
	}
	return auth.Principal{}, errs.E(errs.KindUnauthenticated, "unknown token")
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	eur := func(n int64) orders.Money { return orders.Money{Amount: n, Currency: "EUR"} }
	product := uuid.NewString()
	s.publish(t, orders.OrderConfirmed{OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "b@example.com",
		Total: eur(900), ConfirmedAt: time.Date(2025, 8, 9, 10, 0, 0, 0, time.UTC),
		Items: []orders.Item{{ProductID: product, SKU: "T-1", Name: "Tea", Quantity: 3, UnitPrice: eur(300), LineTotal: eur(900)}}})

	srv := httpapi.New(s.cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), tokens{}, nil)
	s.rep.Routes(srv.Router("reporting"))
	if undocumented := srv.Undocumented(); len(undocumented) != 0 {
		t.Errorf("routes without documentation: %v", undocumented)
	}
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	do := func(method, path, token string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		return res.StatusCode, body
	}

	routes := []struct{ method, path string }{
		{http.MethodGet, "/api/reports/sales"}, {http.MethodGet, "/api/reports/top-products"}, {http.MethodPost, "/api/reports/rebuild"},
	}
	for _, r := range routes {
		for token, want := range map[string]int{"": 401, "nope": 401, "customer": 403} {
			if code, body := do(r.method, r.path, token); code != want {
				t.Errorf("%s %s with token %q: %d, want %d (%v)", r.method, r.path, token, code, want, body)
			}
		}
	}

	code, body := do(http.MethodGet, "/api/reports/sales?from=2025-08-09&to=2025-08-10&currency=eur", "admin")
	if code != 200 || body["from"] != "2025-08-09" || body["to"] != "2025-08-10" || body["currency"] != "EUR" {
		t.Fatalf("sales: %d %v", code, body)
	}
	days, _ := body["days"].([]any)
	totals, _ := body["totals"].([]any)
	if len(days) != 1 || len(totals) != 1 {
		t.Fatalf("sales: days %v totals %v, want one each", days, totals)
	}
	day := days[0].(map[string]any)
	revenue, _ := day["revenue"].(map[string]any)
	if day["day"] != "2025-08-09" || day["orders"] != 1.0 || day["units"] != 3.0 || revenue["amount"] != 900.0 || revenue["currency"] != "EUR" {
		t.Errorf("day row %v", day)
	}
	if code, body := do(http.MethodGet, "/api/reports/sales?from=2024-08-09&to=2024-08-10", "admin"); code != 200 ||
		body["days"] == nil || len(body["days"].([]any)) != 0 || len(body["totals"].([]any)) != 0 {
		t.Errorf("a range without sales: %d %v, want empty lists", code, body)
	}

	code, body = do(http.MethodGet, "/api/reports/top-products?limit=5&currency=EUR", "admin")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("top products: %d %v", code, body)
	}
	if item := items[0].(map[string]any); item["product_id"] != product || item["sku"] != "T-1" || item["name"] != "Tea" ||
		item["orders"] != 1.0 || item["units"] != 3.0 || item["revenue"].(map[string]any)["amount"] != 900.0 {
		t.Errorf("top product %v", item)
	}

	for _, bad := range []struct{ path, field string }{
		{"/api/reports/sales?from=2025-13-01", "from"},
		{"/api/reports/sales?to=x", "to"},
		{"/api/reports/sales?from=2025-08-10&to=2025-08-09", "from"},
		{"/api/reports/sales?from=2023-01-01&to=2025-01-01", "to"},
		{"/api/reports/sales?currency=euro", "currency"},
		{"/api/reports/top-products?limit=0", "limit"},
		{"/api/reports/top-products?limit=101", "limit"},
		{"/api/reports/top-products?limit=ten", "limit"},
		{"/api/reports/top-products?currency=1", "currency"},
	} {
		code, body := do(http.MethodGet, bad.path, "admin")
		raw, _ := json.Marshal(body)
		if code != 422 || !strings.Contains(string(raw), `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", bad.path, code, raw, bad.field)
		}
	}

	if code, body := do(http.MethodPost, "/api/reports/rebuild", "admin"); code != 200 || body["events"] != 1.0 {
		t.Errorf("rebuild: %d %v, want 200 with one event", code, body)
	}
	if code, _ := do(http.MethodGet, "/api/reports/rebuild", "admin"); code != 405 {
		t.Errorf("GET rebuild: %d, want 405", code)
	}
}
