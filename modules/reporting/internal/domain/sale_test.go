package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

func validSaleInput() SaleInput {
	return SaleInput{
		OrderID: uuid.NewString(), ConfirmedAt: time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("X", -2*3600)),
		Total: 1150, Currency: "EUR",
		Lines: []LineInput{
			{ProductID: uuid.NewString(), SKU: "A-1", Name: "Apple", Quantity: 3, UnitPrice: 250, Currency: "EUR"},
			{ProductID: uuid.NewString(), SKU: "B-1", Name: "Bread", Quantity: 1, UnitPrice: 400, Currency: "EUR"},
		},
	}
}

func TestNewSale(t *testing.T) {
	t.Parallel()
	s, err := NewSale(validSaleInput())
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 at UTC-2 is 01:30 UTC the next day: sales count on UTC days.
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !s.Day().Equal(want) || s.Day().Location() != time.UTC {
		t.Errorf("Day = %v, want %v", s.Day(), want)
	}
	if s.Units() != 4 || s.Total() != 1150 || s.Currency() != "EUR" {
		t.Errorf("sale %+v", s)
	}

	cases := map[string]func(*SaleInput){
		"order_id":                     func(in *SaleInput) { in.OrderID = "x" },
		"confirmed_at":                 func(in *SaleInput) { in.ConfirmedAt = time.Time{} },
		"total.currency":               func(in *SaleInput) { in.Currency = "eur" },
		"total.amount":                 func(in *SaleInput) { in.Total = -1 },
		"items":                        func(in *SaleInput) { in.Lines = nil },
		"items[1].product_id":          func(in *SaleInput) { in.Lines[1].ProductID = "" },
		"items[0].quantity":            func(in *SaleInput) { in.Lines[0].Quantity = 0 },
		"items[1].unit_price.amount":   func(in *SaleInput) { in.Lines[1].UnitPrice = MaxUnitPriceMinor + 1 },
		"items[0].unit_price.currency": func(in *SaleInput) { in.Lines[0].Currency = "USD" },
	}
	for field, breakIt := range cases {
		in := validSaleInput()
		breakIt(&in)
		_, err := NewSale(in)
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: %v, want invalid naming it", field, err)
		}
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	f, err := Cancellation(strings.ToUpper(id.String()))
	if err != nil || !f.Cancelled() || f.OrderID() != id.String() {
		t.Errorf("Cancellation = %+v, %v; want cancelled %s", f, err, id)
	}
	if _, err := Cancellation("nope"); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), "order_id") {
		t.Errorf("malformed id: %v, want invalid naming order_id", err)
	}
}
