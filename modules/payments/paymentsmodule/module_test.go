package paymentsmodule_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway/simulated"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/auth/authtest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

func TestContract(t *testing.T) {
	t.Parallel()
	// Short enough for the timeout card, long enough for the fail card's
	// retries (70 ms of backoff) on a busy machine.
	e := newEnv(t, 500*time.Millisecond, nil)
	paymentstest.Contract(t, e.api)
	// The suite must hold on a database it has already written to.
	t.Run("again", func(t *testing.T) { paymentstest.Contract(t, e.api) })
}

func TestModule(t *testing.T) {
	t.Parallel()
	d := paymentsmodule.Descriptor()
	if d.Name != "payments" || len(d.DependsOn) != 0 || d.Summary == "" {
		t.Fatalf("descriptor = %+v", d)
	}
	e := newEnv(t, time.Second, nil)
	if e.mod.Descriptor().Name != "payments" {
		t.Errorf("module descriptor = %+v", e.mod.Descriptor())
	}
	if err := e.mod.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.mod.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.mod.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The internal packages cannot import the public one, so they repeat its
// words; these must stay the same.
func TestPublicWordsMatchTheInternalOnes(t *testing.T) {
	t.Parallel()
	for public, internal := range map[string]string{
		payments.StatusAuthorized: domain.StatusAuthorized, payments.StatusDeclined: domain.StatusDeclined,
		payments.StatusFailed: domain.StatusFailed, payments.StatusCaptured: domain.StatusCaptured,
		payments.StatusVoided: domain.StatusVoided, payments.StatusRefunded: domain.StatusRefunded,
		payments.CardDecline: simulated.CardDecline, payments.CardFail: simulated.CardFail,
		payments.CardTimeout: simulated.CardTimeout, domain.ReasonDeclined: simulated.ReasonDeclined,
	} {
		if public != internal {
			t.Errorf("public %q, internal %q", public, internal)
		}
	}
	for _, n := range []string{payments.CardApprove, payments.CardDecline, payments.CardFail, payments.CardTimeout} {
		if _, err := domain.ParseCardNumber(n); err != nil {
			t.Errorf("test card %s: %v", n, err)
		}
	}
}

// TestEventsOfAPaymentsLife: authorize, capture and refund publish one
// event each, in that order, carrying the payment's data.
func TestEventsOfAPaymentsLife(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, nil)
	p := e.authorize(t, payments.CardApprove)
	captured, err := e.api.Capture(svc(), p.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	refunded, err := e.api.Refund(svc(), p.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	declined := e.authorize(t, payments.CardDecline)

	rows, err := e.dbs.Owner().Pool().Query(context.Background(),
		`SELECT type, payload FROM payments.event_outbox WHERE key = $1 OR key = $2 ORDER BY seq`, p.OrderID, declined.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var types []string
	var payloads [][]byte
	for rows.Next() {
		var typ string
		var payload []byte
		if err := rows.Scan(&typ, &payload); err != nil {
			t.Fatal(err)
		}
		types, payloads = append(types, typ), append(payloads, payload)
	}
	if want := []string{authorizedEvent, capturedEvent, refundedEvent, rejectedEvent}; len(types) != len(want) ||
		types[0] != want[0] || types[1] != want[1] || types[2] != want[2] || types[3] != want[3] {
		t.Fatalf("events %v, want %v", types, want)
	}
	var a payments.PaymentAuthorized
	var c payments.PaymentCaptured
	var r payments.PaymentRefunded
	var rej payments.PaymentRejected
	for i, dst := range []any{&a, &c, &r, &rej} {
		if err := json.Unmarshal(payloads[i], dst); err != nil {
			t.Fatal(err)
		}
	}
	if a.PaymentID != p.ID || a.OrderID != p.OrderID || a.Amount != p.Amount || !a.At.Equal(*p.AuthorizedAt) {
		t.Errorf("authorized %+v for %+v", a, p)
	}
	if c.PaymentID != p.ID || c.Amount != p.Amount || !c.At.Equal(*captured.CapturedAt) {
		t.Errorf("captured %+v for %+v", c, captured)
	}
	if r.PaymentID != p.ID || r.Status != payments.StatusRefunded || r.Amount != p.Amount || !r.At.Equal(*refunded.RefundedAt) {
		t.Errorf("refunded %+v for %+v", r, refunded)
	}
	if rej.PaymentID != declined.ID || rej.Status != payments.StatusDeclined || rej.Reason != "card_declined" {
		t.Errorf("rejected %+v for %+v", rej, declined)
	}
}

func TestHTTPPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second, nil)
	p := e.authorize(t, payments.CardApprove)
	srv := httpapi.New(e.cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), authtest.Roles(), nil)
	e.mod.Routes(srv.Router("payments"))
	get := func(path, token string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		srv.Echo.ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	path := "/api/payments/" + p.OrderID
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {"customer", 404}} { // another customer's payment is not found
		if code, body := get(path, tc.token); code != tc.want {
			t.Errorf("token %q: status %d, want %d (%v)", tc.token, code, tc.want, body)
		}
	}
	code, body := get(path, "admin")
	if code != 200 || body["id"] != p.ID || body["order_id"] != p.OrderID || body["status"] != "authorized" ||
		body["card_brand"] != "visa" || body["card_last4"] != "4242" || body["authorized_at"] == nil || body["created_at"] == nil {
		t.Fatalf("admin: %d %v", code, body)
	}
	if amount, _ := body["amount"].(map[string]any); amount["amount"] != float64(1999) || amount["currency"] != "EUR" {
		t.Errorf("amount %v", body["amount"])
	}
	for _, k := range []string{"captured_at", "refunded_at", "reason", "card_token", "provider_ref"} {
		if _, ok := body[k]; ok {
			t.Errorf("body has %s: %v", k, body)
		}
	}
	if code, body := get("/api/payments/"+paymentstest.NewOrderID(), "admin"); code != 404 {
		t.Errorf("unknown order: %d %v", code, body)
	}
}
