package inventorymodule

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
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/modules/inventory/internal/rest"
	"github.com/shopmonolith/shop/modules/inventory/internal/store"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/auth/authtest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

var _ auth.Authenticator = authtest.Roles()

func newServer(t *testing.T) (http.Handler, *domain.Service) {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	db := dbtest.Open(t, "inventory")
	srv := httpapi.New(cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), authtest.Roles(), nil)
	noEvents := func(context.Context, *gorm.DB, ...any) error { return nil }
	svc := domain.NewService(store.New(db, noEvents), time.Now, time.Minute)
	rest.Register(srv.Router("inventory"), &api{svc: svc})
	return srv.Echo, svc
}

type response struct {
	status int
	ctype  string
	body   map[string]any
}

func do(t *testing.T, h http.Handler, token, method, path, body string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := response{status: rec.Code, ctype: rec.Header().Get("Content-Type")}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.body)
	return out
}

func wantProblem(t *testing.T, r response, status int, field string) {
	t.Helper()
	if r.status != status || r.ctype != httpapi.ProblemContentType {
		t.Fatalf("status %d (%s), want %d problem: %v", r.status, r.ctype, status, r.body)
	}
	if field == "" {
		return
	}
	fields, _ := r.body["errors"].([]any)
	for _, f := range fields {
		if f.(map[string]any)["field"] == field {
			return
		}
	}
	t.Fatalf("problem %v does not name field %q", r.body, field)
}

func wantLevel(t *testing.T, r response, productID string, onHand, reserved int) {
	t.Helper()
	if r.status != http.StatusOK || r.body["product_id"] != productID || r.body["on_hand"] != float64(onHand) ||
		r.body["reserved"] != float64(reserved) || r.body["available"] != float64(onHand-reserved) || r.body["updated_at"] == nil {
		t.Fatalf("level: %d %v, want %d on hand, %d reserved", r.status, r.body, onHand, reserved)
	}
}

func TestStockRoutes(t *testing.T) {
	t.Parallel()
	h, _ := newServer(t)
	p := uuid.NewString()
	path := "/api/inventory/" + p

	wantProblem(t, do(t, h, "", "PUT", path, `{"on_hand":5}`), http.StatusUnauthorized, "")
	wantProblem(t, do(t, h, "customer", "PUT", path, `{"on_hand":5}`), http.StatusForbidden, "")
	wantLevel(t, do(t, h, "admin", "PUT", path, `{"on_hand":5}`), p, 5, 0)
	for _, tc := range []struct{ body, field string }{
		{`{"on_hand":-1}`, "on_hand"},
		{`{"on_hand":1000001}`, "on_hand"},
		{`{}`, "on_hand"},
		{`{"on_hand":"5"}`, "on_hand"},
		{`{"on_hand":1.5}`, "on_hand"},
		{`{"on_hand":5,"colour":"red"}`, "colour"},
	} {
		wantProblem(t, do(t, h, "admin", "PUT", path, tc.body), http.StatusUnprocessableEntity, tc.field)
	}
	wantProblem(t, do(t, h, "admin", "PUT", "/api/inventory/nope", `{"on_hand":5}`), http.StatusUnprocessableEntity, "product_id")
	wantProblem(t, do(t, h, "admin", "PUT", path, `{"on_hand":`), http.StatusBadRequest, "")
	req := httptest.NewRequest("PUT", path, strings.NewReader(`on_hand=5`))
	req.Header.Set("Authorization", "Bearer admin")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d, want 415", rec.Code)
	}

	adjust := path + "/adjustments"
	wantProblem(t, do(t, h, "", "POST", adjust, `{"delta":1}`), http.StatusUnauthorized, "")
	wantProblem(t, do(t, h, "customer", "POST", adjust, `{"delta":1}`), http.StatusForbidden, "")
	wantLevel(t, do(t, h, "admin", "POST", adjust, `{"delta":3}`), p, 8, 0)
	wantLevel(t, do(t, h, "admin", "POST", adjust, `{"delta":-2}`), p, 6, 0)
	for _, body := range []string{`{"delta":0}`, `{"delta":-7}`, `{}`, `{"delta":true}`} {
		wantProblem(t, do(t, h, "admin", "POST", adjust, body), http.StatusUnprocessableEntity, "delta")
	}
	got := do(t, h, "", "GET", "/api/inventory?product_id="+p, "")
	if items, _ := got.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["on_hand"] != float64(6) {
		t.Fatalf("availability after the adjustments: %d %v", got.status, got.body)
	}
}

func TestAvailabilityRoute(t *testing.T) {
	t.Parallel()
	h, _ := newServer(t)
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, p := range []string{a, b} {
		if r := do(t, h, "admin", "PUT", "/api/inventory/"+p, `{"on_hand":4}`); r.status != http.StatusOK {
			t.Fatalf("set: %d %v", r.status, r.body)
		}
	}
	r := do(t, h, "", "GET", "/api/inventory?product_id="+c+"&product_id="+b+","+a, "")
	items, _ := r.body["items"].([]any)
	if r.status != http.StatusOK || len(items) != 3 {
		t.Fatalf("availability: %d %v", r.status, r.body)
	}
	for i, want := range []struct {
		id     string
		onHand float64
	}{{c, 0}, {b, 4}, {a, 4}} {
		item := items[i].(map[string]any)
		if item["product_id"] != want.id || item["on_hand"] != want.onHand || item["available"] != want.onHand {
			t.Errorf("item %d = %v, want %s with %v", i, item, want.id, want.onHand)
		}
	}
	for _, q := range []string{"", "?product_id=", "?product_id=nope", "?product_id=" + a + ",nope", "?product_id=" + strings.Repeat(a+",", 101)} {
		wantProblem(t, do(t, h, "", "GET", "/api/inventory"+q, ""), http.StatusUnprocessableEntity, "product_id")
	}
}

func TestReservationRoute(t *testing.T) {
	t.Parallel()
	h, svc := newServer(t)
	p := uuid.NewString()
	if r := do(t, h, "admin", "PUT", "/api/inventory/"+p, `{"on_hand":4}`); r.status != http.StatusOK {
		t.Fatalf("set: %d %v", r.status, r.body)
	}
	if _, err := svc.Reserve(auth.AsService(context.Background(), "orders"), "order-1",
		[]domain.LineInput{{ProductID: p, Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	path := "/api/inventory/reservations/order-1"
	wantProblem(t, do(t, h, "", "GET", path, ""), http.StatusUnauthorized, "")
	wantProblem(t, do(t, h, "customer", "GET", path, ""), http.StatusForbidden, "")
	r := do(t, h, "admin", "GET", path, "")
	lines, _ := r.body["lines"].([]any)
	if r.status != http.StatusOK || r.body["id"] != "order-1" || r.body["status"] != "held" || len(lines) != 1 {
		t.Fatalf("reservation: %d %v", r.status, r.body)
	}
	if l := lines[0].(map[string]any); l["product_id"] != p || l["quantity"] != float64(3) {
		t.Errorf("line = %v", l)
	}
	for _, k := range []string{"expires_at", "created_at", "updated_at"} {
		if r.body[k] == nil {
			t.Errorf("reservation lacks %s: %v", k, r.body)
		}
	}
	if _, has := r.body["shortages"]; has {
		t.Errorf("a held reservation lists shortages: %v", r.body)
	}
	wantProblem(t, do(t, h, "admin", "GET", "/api/inventory/reservations/order-2", ""), http.StatusNotFound, "")
	// Reserve, Commit and Release have no routes.
	if r := do(t, h, "admin", "POST", "/api/inventory/reservations", `{"id":"x","lines":[]}`); r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST reservations: %d, want no such route", r.status)
	}
}
