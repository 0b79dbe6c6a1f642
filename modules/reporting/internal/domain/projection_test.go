package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sale builds a valid sale of one order on a day; lines are product ids
// with quantity and unit price.
func sale(t *testing.T, orderID string, day time.Time, currency string, lines ...LineInput) Sale {
	t.Helper()
	var total int64
	for i := range lines {
		lines[i].Currency = currency
		total += int64(lines[i].Quantity) * lines[i].UnitPrice
	}
	s, err := NewSale(SaleInput{OrderID: orderID, ConfirmedAt: day.Add(13 * time.Hour), Total: total, Currency: currency, Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func line(productID, name string, qty int, price int64) LineInput {
	return LineInput{ProductID: productID, SKU: "SKU-" + name, Name: name, Quantity: qty, UnitPrice: price}
}

var day1 = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

func TestSaleDelta(t *testing.T) {
	t.Parallel()
	p1, p2 := "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
	// p2 first and twice: rows come out sorted, one order of p2 with both
	// lines' units and revenue, named after its first line.
	s := sale(t, uuid.NewString(), day1, "EUR", line(p2, "Pear", 2, 100), line(p1, "Plum", 1, 50), line(p2, "Pear v2", 3, 100))
	got := s.delta(+1, 7)
	want := Delta{
		Days: []DayRow{{Day: day1, Currency: "EUR", Orders: 1, Units: 6, Revenue: 550}},
		Products: []ProductRow{
			{ProductID: p1, Currency: "EUR", SKU: "SKU-Plum", Name: "Plum", NameSeq: 7, Orders: 1, Units: 1, Revenue: 50},
			{ProductID: p2, Currency: "EUR", SKU: "SKU-Pear", Name: "Pear", NameSeq: 7, Orders: 1, Units: 5, Revenue: 500},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("delta(+1) = %+v\nwant %+v", got, want)
	}
	back := s.delta(-1, 9)
	for _, p := range back.Products {
		if p.NameSeq != 0 || p.Orders != -1 {
			t.Errorf("take-back row %+v: must not rename and must take one order back", p)
		}
	}
	if d := back.Days[0]; d.Orders != -1 || d.Units != -6 || d.Revenue != -550 {
		t.Errorf("take-back day %+v", d)
	}
}

func TestProjectionAddRenamesOnlyByLaterSales(t *testing.T) {
	t.Parallel()
	pid := uuid.NewString()
	p := NewProjection()
	p.Add(Delta{Products: []ProductRow{{ProductID: pid, Currency: "EUR", SKU: "S2", Name: "Second", NameSeq: 20, Orders: 1, Units: 1, Revenue: 10}}})
	p.Add(Delta{Products: []ProductRow{{ProductID: pid, Currency: "EUR", SKU: "S1", Name: "First", NameSeq: 10, Orders: 1, Units: 2, Revenue: 20}}})
	p.Add(Delta{Products: []ProductRow{{ProductID: pid, Currency: "EUR", SKU: "X", Name: "Take-back", NameSeq: 0, Orders: -1, Units: -1, Revenue: -10}}})
	p.Add(Delta{Products: []ProductRow{{ProductID: pid, Currency: "USD", SKU: "U", Name: "Dollar", NameSeq: 5, Orders: 1, Units: 1, Revenue: 7}}})
	want := []ProductRow{
		{ProductID: pid, Currency: "EUR", SKU: "S2", Name: "Second", NameSeq: 20, Orders: 1, Units: 2, Revenue: 20},
		{ProductID: pid, Currency: "USD", SKU: "U", Name: "Dollar", NameSeq: 5, Orders: 1, Units: 1, Revenue: 7},
	}
	if got := p.Products(); !reflect.DeepEqual(got, want) {
		t.Fatalf("products = %+v\nwant %+v", got, want)
	}
	day2 := day1.AddDate(0, 0, 1)
	p.Add(Delta{Days: []DayRow{{Day: day2, Currency: "EUR", Orders: 1, Units: 1, Revenue: 5}}})
	p.Add(Delta{Days: []DayRow{{Day: day1, Currency: "USD", Orders: 1, Units: 1, Revenue: 5}}})
	p.Add(Delta{Days: []DayRow{{Day: day1, Currency: "EUR", Orders: 2, Units: 3, Revenue: 4}}})
	p.Add(Delta{Days: []DayRow{{Day: day1, Currency: "EUR", Orders: -1, Units: -1, Revenue: -1}}})
	wantDays := []DayRow{
		{Day: day1, Currency: "EUR", Orders: 1, Units: 2, Revenue: 3},
		{Day: day1, Currency: "USD", Orders: 1, Units: 1, Revenue: 5},
		{Day: day2, Currency: "EUR", Orders: 1, Units: 1, Revenue: 5},
	}
	if got := p.Days(); !reflect.DeepEqual(got, wantDays) {
		t.Fatalf("days = %+v\nwant %+v", got, wantDays)
	}
}

// TestLedger: the figures an order's facts leave behind, in every order
// they can arrive in.
func TestLedger(t *testing.T) {
	t.Parallel()
	orderID, pid := uuid.NewString(), uuid.NewString()
	first := Confirmation(sale(t, orderID, day1, "EUR", line(pid, "Pear", 2, 100)))
	second := Confirmation(sale(t, orderID, day1.AddDate(0, 0, 1), "EUR", line(pid, "Pear", 5, 100)))
	cancel, err := Cancellation(orderID)
	if err != nil {
		t.Fatal(err)
	}
	counted := []DayRow{{Day: day1, Currency: "EUR", Orders: 1, Units: 2, Revenue: 200}}
	takenBack := []DayRow{{Day: day1, Currency: "EUR"}} // the row stays, at zero
	tests := []struct {
		name    string
		facts   []Fact
		changes int
		days    []DayRow
	}{
		{"confirmed", []Fact{first}, 1, counted},
		{"confirmed, then cancelled: taken back from the day counted", []Fact{first, cancel}, 2, takenBack},
		{"cancelled twice takes back once", []Fact{first, cancel, cancel}, 2, takenBack},
		{"a second confirmation counts for nothing", []Fact{first, second}, 1, counted},
		{"cancelled before the confirmation came: never a sale", []Fact{cancel, first}, 0, nil},
		{"cancellation of an unseen confirmation takes nothing back", []Fact{cancel}, 0, nil},
		{"confirmed again after a cancellation", []Fact{first, cancel, second}, 2, takenBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l ledger
			p, changes := NewProjection(), 0
			for i, f := range tt.facts {
				if d, ok := l.step(f, int64(i+1)); ok {
					changes++
					p.Add(d)
				}
			}
			if changes != tt.changes {
				t.Errorf("%d changes, want %d", changes, tt.changes)
			}
			if got := p.Days(); !reflect.DeepEqual(got, tt.days) && (len(got) != 0 || len(tt.days) != 0) {
				t.Errorf("days = %+v, want %+v", got, tt.days)
			}
		})
	}
}
