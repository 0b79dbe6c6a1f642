package simulated_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway/simulated"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

const approve = "4242424242424242"

var eur = func(minor int64) gateway.Amount { return gateway.Amount{Minor: minor, Currency: "EUR"} }

func ledger(t *testing.T, db *database.DB, key string) (kind, ref string, n int) {
	t.Helper()
	ctx := context.Background()
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM gateway_operations WHERE idempotency_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		if err := db.Pool.QueryRow(ctx, `SELECT kind, provider_ref FROM gateway_operations WHERE idempotency_key = $1`, key).Scan(&kind, &ref); err != nil {
			t.Fatal(err)
		}
	}
	return kind, ref, n
}

func TestTestCards(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "payments")
	p, ctx := simulated.New(db), context.Background()
	for _, tc := range []struct {
		card     string
		approved bool
		decline  string
		err      error
		recorded bool
	}{
		{approve, true, "", nil, true},
		{"5555555555554444", true, "", nil, true},
		{simulated.CardDecline, false, simulated.ReasonDeclined, nil, true},
		{simulated.CardFail, false, "", simulated.ErrProcessing, false},
	} {
		key := "authorize:" + tc.card
		a, err := p.Authorize(ctx, tc.card, eur(100), key)
		if !errors.Is(err, tc.err) || (err == nil && (a.Approved() != tc.approved || a.DeclineReason != tc.decline || tc.approved == (a.Ref == ""))) {
			t.Errorf("%s: %+v, %v", tc.card, a, err)
		}
		if _, _, n := ledger(t, db, key); (n == 1) != tc.recorded {
			t.Errorf("%s: %d ledger rows", tc.card, n)
		}
	}
}

// TestTimeoutCardWaitsForTheContext: the timeout card answers only when the
// caller's context ends (the test would hang otherwise), and records
// nothing.
func TestTimeoutCardWaitsForTheContext(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "payments")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := simulated.New(db).Authorize(ctx, simulated.CardTimeout, eur(100), "authorize:timeout"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if _, _, n := ledger(t, db, "authorize:timeout"); n != 0 {
		t.Errorf("%d ledger rows", n)
	}
}

// TestOncePerKey: a repeated key returns the first result, also when the
// repetitions run at once; a key reused for something else is refused.
func TestOncePerKey(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "payments")
	p, ctx := simulated.New(db), context.Background()
	refs := make([]string, 10)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() {
			a, err := p.Authorize(ctx, approve, eur(500), "authorize:o1")
			if err != nil {
				t.Error(err)
			}
			refs[i] = a.Ref
		})
	}
	wg.Wait()
	for _, r := range refs {
		if r != refs[0] || r == "" {
			t.Fatalf("references %v, want one", refs)
		}
	}
	ref := refs[0]
	if _, err := p.Authorize(ctx, approve, eur(501), "authorize:o1"); !errors.Is(err, gateway.ErrKeyReused) {
		t.Errorf("key reused with another amount: %v", err)
	}
	for range 3 {
		if err := p.Capture(ctx, ref, eur(500), "capture:o1"); err != nil {
			t.Fatal(err)
		}
		if err := p.Refund(ctx, ref, eur(500), "refund:o1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"authorize:o1", "capture:o1", "refund:o1"} {
		if _, r, n := ledger(t, db, key); n != 1 || r != ref {
			t.Errorf("%s: %d rows on %s, want 1 on %s", key, n, r, ref)
		}
	}
	if err := p.Refund(ctx, ref, eur(500), "capture:o1"); !errors.Is(err, gateway.ErrKeyReused) {
		t.Errorf("capture key reused for a refund: %v", err)
	}
}

func TestReferencesAndAmounts(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "payments")
	p, ctx := simulated.New(db), context.Background()
	a, err := p.Authorize(ctx, approve, eur(500), "authorize:o2")
	if err != nil {
		t.Fatal(err)
	}
	declined, err := p.Authorize(ctx, simulated.CardDecline, eur(500), "authorize:o3")
	if err != nil || declined.Approved() {
		t.Fatalf("decline: %+v, %v", declined, err)
	}
	for name, err := range map[string]error{
		"unknown ref":    p.Capture(ctx, "sim_nope", eur(500), "capture:x1"),
		"declined ref":   p.Capture(ctx, "", eur(500), "capture:x2"),
		"refund unknown": p.Refund(ctx, "sim_nope", eur(500), "refund:x3"),
	} {
		if !errors.Is(err, gateway.ErrUnknownReference) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, amount := range map[string]gateway.Amount{"more": eur(501), "zero": eur(0), "currency": {Minor: 500, Currency: "USD"}} {
		if err := p.Capture(ctx, a.Ref, amount, "capture:"+name); !errors.Is(err, gateway.ErrAmount) {
			t.Errorf("capture of %s: %v", name, err)
		}
	}
}

// TestVoidByAuthorizationKey: a void names the authorization by its
// reference or, after a lost answer, by its idempotency key; one the
// ledger does not know is accepted and recorded as asked.
func TestVoidByAuthorizationKey(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "payments")
	p, ctx := simulated.New(db), context.Background()
	a, err := p.Authorize(ctx, approve, eur(700), "authorize:o4")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Void(ctx, "authorize:o4", "void:o4"); err != nil {
		t.Fatal(err)
	}
	if kind, ref, n := ledger(t, db, "void:o4"); n != 1 || kind != "void" || ref != a.Ref {
		t.Errorf("void by key: %s on %q (%d rows), want a void of %s", kind, ref, n, a.Ref)
	}
	if err := p.Void(ctx, "authorize:never-arrived", "void:o5"); err != nil {
		t.Fatal(err)
	}
	if kind, ref, n := ledger(t, db, "void:o5"); n != 1 || kind != "void" || ref != "authorize:never-arrived" {
		t.Errorf("void of an unknown authorization: %s on %q (%d rows)", kind, ref, n)
	}
}
