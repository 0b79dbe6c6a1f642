package subscribe_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/modules/reporting/internal/subscribe"
	"github.com/shopmonolith/shop/platform/errs"
)

func rec(t *testing.T, e interface{ EventType() string }) domain.Record {
	t.Helper()
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Record{EventID: uuid.NewString(), Type: e.EventType(), Payload: raw}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	eur := func(n int64) orders.Money { return orders.Money{Amount: n, Currency: "EUR"} }
	confirmed := orders.OrderConfirmed{
		OrderID: uuid.NewString(), UserID: uuid.NewString(), Email: "b@example.com", Total: eur(700),
		ConfirmedAt: time.Date(2026, 5, 4, 23, 59, 0, 0, time.UTC),
		Items: []orders.Item{
			{ProductID: uuid.NewString(), SKU: "A", Name: "Apple", Quantity: 2, UnitPrice: eur(100), LineTotal: eur(200)},
			{ProductID: uuid.NewString(), SKU: "B", Name: "Bean", Quantity: 1, UnitPrice: eur(500), LineTotal: eur(500)},
		},
	}
	f, err := subscribe.Decode(rec(t, confirmed))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sale()
	if f.Cancelled() || f.OrderID() != confirmed.OrderID || s.Total() != 700 || s.Units() != 3 || s.Currency() != "EUR" ||
		s.Day().Format(time.DateOnly) != "2026-05-04" {
		t.Errorf("confirmation decoded as %+v", f)
	}

	cancelled := orders.OrderCancelled{OrderID: confirmed.OrderID, WasConfirmed: true, ConfirmedAt: confirmed.ConfirmedAt, CancelledAt: time.Now()}
	if f, err := subscribe.Decode(rec(t, cancelled)); err != nil || !f.Cancelled() || f.OrderID() != confirmed.OrderID {
		t.Errorf("cancellation decoded as %+v, %v", f, err)
	}

	bad := confirmed
	bad.Items = []orders.Item{confirmed.Items[0]}
	bad.Items[0].Quantity = 0
	if _, err := subscribe.Decode(rec(t, bad)); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "items[0].quantity") {
		t.Errorf("zero quantity: %v, want invalid naming items[0].quantity", err)
	}
	if _, err := subscribe.Decode(rec(t, orders.OrderShipped{OrderID: confirmed.OrderID})); err == nil {
		t.Error("an event type reporting does not handle was decoded")
	}
	garbled := rec(t, cancelled)
	garbled.Payload = []byte(`{"order_id": 7}`)
	if _, err := subscribe.Decode(garbled); err == nil {
		t.Error("a garbled payload was decoded")
	}
}
