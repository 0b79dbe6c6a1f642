package store_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/modules/reporting/internal/store"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

var ctx = context.Background()

func record(orderID string, payload string) domain.Record {
	return domain.Record{EventID: uuid.NewString(), Type: "orders.order_confirmed.v1", OrderID: orderID,
		OccurredAt: time.Now().UTC().Truncate(time.Microsecond), Payload: []byte(payload)}
}

// inTx runs fn in a transaction of its own, as an event handler does.
func inTx(t *testing.T, s *store.Store, fn func(tx domain.Tx) error) {
	t.Helper()
	if err := s.InTx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func appendRec(t *testing.T, s *store.Store, rec domain.Record) (int64, bool) {
	t.Helper()
	var seq int64
	var added bool
	inTx(t, s, func(tx domain.Tx) (err error) {
		seq, added, err = tx.Append(ctx, rec)
		return err
	})
	return seq, added
}

// TestAppendOncePerEvent: the journal's key keeps one entry per event, and
// an order's history is its own entries before a seq, in seq order.
func TestAppendOncePerEvent(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Open(t, "reporting"))
	order, other := uuid.NewString(), uuid.NewString()
	first := record(order, `{"order_id": "a", "n": [1, 2]}`)
	seq1, added := appendRec(t, s, first)
	if !added || seq1 <= 0 {
		t.Fatalf("first Append = %d, %v", seq1, added)
	}
	if seq, added := appendRec(t, s, first); added || seq != 0 {
		t.Fatalf("second Append of the event = %d, %v; want nothing added", seq, added)
	}
	seqOther, _ := appendRec(t, s, record(other, `{}`))
	seq2, _ := appendRec(t, s, record(order, `{"b": true}`))
	seq3, _ := appendRec(t, s, record(order, `{}`))
	if !(seq1 < seqOther && seqOther < seq2 && seq2 < seq3) {
		t.Fatalf("seqs %d %d %d %d do not rise in handling order", seq1, seqOther, seq2, seq3)
	}
	var history []domain.Record
	inTx(t, s, func(tx domain.Tx) (err error) {
		history, err = tx.History(ctx, order, seq3)
		return err
	})
	if len(history) != 2 || history[0].Seq != seq1 || history[1].Seq != seq2 {
		t.Fatalf("history = %+v, want seqs %d, %d", history, seq1, seq2)
	}
	h := history[0]
	if h.EventID != first.EventID || h.Type != first.Type || h.OrderID != order || !h.OccurredAt.Equal(first.OccurredAt) {
		t.Errorf("journalled %+v, want %+v", h, first)
	}
	var got, want any
	if err := json.Unmarshal(h.Payload, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(first.Payload, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload %s, want %s", h.Payload, first.Payload)
	}
}

// tables reads the figures as stored, in the Projection's order.
func tables(t *testing.T, db *database.DB) ([]domain.DayRow, []domain.ProductRow) {
	t.Helper()
	rows, err := db.Pool.Query(ctx, `SELECT day, currency, orders, units, revenue_minor FROM sales_daily ORDER BY day, currency`)
	if err != nil {
		t.Fatal(err)
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.DayRow, error) {
		var d domain.DayRow
		err := r.Scan(&d.Day, &d.Currency, &d.Orders, &d.Units, &d.Revenue)
		return d, err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err = db.Pool.Query(ctx, `SELECT product_id::text, currency, sku, name, name_seq, orders, units, revenue_minor
		FROM product_sales ORDER BY product_id, currency`)
	if err != nil {
		t.Fatal(err)
	}
	products, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.ProductRow, error) {
		var p domain.ProductRow
		err := r.Scan(&p.ProductID, &p.Currency, &p.SKU, &p.Name, &p.NameSeq, &p.Orders, &p.Units, &p.Revenue)
		return p, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return days, products
}

func sameFigures(t *testing.T, what string, days []domain.DayRow, products []domain.ProductRow, p *domain.Projection) {
	t.Helper()
	if want := p.Days(); !reflect.DeepEqual(days, want) && !(len(days) == 0 && len(want) == 0) {
		t.Errorf("%s: days\n%+v\nwant %+v", what, days, want)
	}
	if want := p.Products(); !reflect.DeepEqual(products, want) && !(len(products) == 0 && len(want) == 0) {
		t.Errorf("%s: products\n%+v\nwant %+v", what, products, want)
	}
}

// randomDeltas are changes as sales make them: a day row and product rows,
// added or taken back, naming products by seq in any order.
func randomDeltas(rng *rand.Rand, n int) []domain.Delta {
	products := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	slices.Sort(products)
	day0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	out := make([]domain.Delta, n)
	for i := range out {
		sign := int64(1)
		if rng.IntN(4) == 0 {
			sign = -1
		}
		cur := []string{"EUR", "USD"}[rng.IntN(2)]
		d := domain.Delta{Days: []domain.DayRow{{Day: day0.AddDate(0, 0, rng.IntN(3)), Currency: cur,
			Orders: sign, Units: sign * int64(1+rng.IntN(5)), Revenue: sign * int64(rng.IntN(10_000))}}}
		for _, p := range products {
			if rng.IntN(2) == 0 {
				continue
			}
			var nameSeq int64
			if sign > 0 {
				nameSeq = int64(1 + rng.IntN(1000))
			}
			name := uuid.NewString()[:8]
			d.Products = append(d.Products, domain.ProductRow{ProductID: p, Currency: cur, SKU: "S-" + name, Name: name,
				NameSeq: nameSeq, Orders: sign, Units: sign * int64(1+rng.IntN(3)), Revenue: sign * int64(rng.IntN(5000))})
		}
		out[i] = d
	}
	return out
}

// TestApplyEqualsProjection: the upserts of incremental handling and the
// in-memory arithmetic of a rebuild agree, renames by seq included; and
// Replace stores a projection exactly, whatever was there.
func TestApplyEqualsProjection(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "reporting")
	s := store.New(db)
	deltas := randomDeltas(rand.New(rand.NewPCG(3, 4)), 120)
	want := domain.NewProjection()
	for _, d := range deltas {
		inTx(t, s, func(tx domain.Tx) error { return tx.Apply(ctx, d) })
		want.Add(d)
	}
	days, products := tables(t, db)
	if len(days) == 0 || len(products) == 0 {
		t.Fatal("nothing applied")
	}
	sameFigures(t, "applied", days, products, want)

	// Replace swaps everything for another projection.
	other := domain.NewProjection()
	for _, d := range randomDeltas(rand.New(rand.NewPCG(5, 6)), 30) {
		other.Add(d)
	}
	inTx(t, s, func(tx domain.Tx) error { return tx.Replace(ctx, other) })
	days, products = tables(t, db)
	sameFigures(t, "replaced", days, products, other)
	inTx(t, s, func(tx domain.Tx) error { return tx.Replace(ctx, domain.NewProjection()) })
	if days, products = tables(t, db); len(days)+len(products) != 0 {
		t.Errorf("after an empty Replace: %d days, %d products", len(days), len(products))
	}
}

// TestReplayByOrderAcrossBatches: every record once, grouped by order and
// in seq order within it, however the batches fall.
func TestReplayByOrderAcrossBatches(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Open(t, "reporting"))
	orders := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	var want []domain.Record
	for i := range 10 {
		rec := record(orders[(i*7)%3], `{}`)
		rec.Seq, _ = appendRec(t, s, rec)
		want = append(want, rec)
	}
	slices.SortFunc(want, func(a, b domain.Record) int {
		if a.OrderID != b.OrderID {
			if a.OrderID < b.OrderID {
				return -1
			}
			return 1
		}
		return int(a.Seq - b.Seq)
	})
	for _, batch := range []int{1, 3, 5, 10, 1000} {
		var got []domain.Record
		var n int
		inTx(t, s.WithReplayBatch(batch), func(tx domain.Tx) (err error) {
			n, err = tx.Replay(ctx, func(r domain.Record) error { got = append(got, r); return nil })
			return err
		})
		if n != len(want) || len(got) != len(want) {
			t.Fatalf("batch %d: replayed %d (%d calls), want %d", batch, n, len(got), len(want))
		}
		for i := range want {
			if got[i].EventID != want[i].EventID || got[i].Seq != want[i].Seq {
				t.Fatalf("batch %d: record %d is %s/%d, want %s/%d", batch, i, got[i].EventID, got[i].Seq, want[i].EventID, want[i].Seq)
			}
		}
	}
}

func TestDaysAndTopProducts(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Open(t, "reporting"))
	d1, d2, d3 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	a, b, c, gone := "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b",
		"00000000-0000-0000-0000-00000000000c", "00000000-0000-0000-0000-00000000000d"
	p := domain.NewProjection()
	p.Add(domain.Delta{
		Days: []domain.DayRow{
			{Day: d1, Currency: "USD", Orders: 1, Units: 1, Revenue: 10},
			{Day: d1, Currency: "EUR", Orders: 2, Units: 3, Revenue: 20},
			{Day: d2, Currency: "EUR"}, // every sale taken back
			{Day: d3, Currency: "EUR", Orders: 1, Units: 1, Revenue: 5},
		},
		Products: []domain.ProductRow{
			{ProductID: a, Currency: "EUR", Name: "A", Orders: 1, Units: 1, Revenue: 300},
			{ProductID: b, Currency: "EUR", Name: "B", Orders: 2, Units: 5, Revenue: 300},
			{ProductID: c, Currency: "USD", Name: "C", Orders: 1, Units: 1, Revenue: 900},
			{ProductID: gone, Currency: "EUR", Name: "Gone"},
		},
	})
	inTx(t, s, func(tx domain.Tx) error { return tx.Replace(ctx, p) })

	days, err := s.Days(ctx, domain.DayFilter{From: d1, To: d2})
	if err != nil || len(days) != 2 || days[0].Currency != "EUR" || days[1].Currency != "USD" || !days[0].Day.Equal(d1) {
		t.Errorf("Days(d1..d2) = %+v, %v; want d1 EUR, d1 USD", days, err)
	}
	days, err = s.Days(ctx, domain.DayFilter{From: d1, To: d3, Currency: "EUR"})
	if err != nil || len(days) != 2 || !days[1].Day.Equal(d3) || days[1].Day.Location() != time.UTC {
		t.Errorf("Days(EUR) = %+v, %v; want d1 and d3", days, err)
	}
	top, err := s.TopProducts(ctx, domain.TopFilter{Limit: 10})
	if ids := productIDs(top); err != nil || !slices.Equal(ids, []string{c, b, a}) {
		t.Errorf("TopProducts = %v, %v; want c, b (more units), a", ids, err)
	}
	top, err = s.TopProducts(ctx, domain.TopFilter{Limit: 1, Currency: "EUR"})
	if ids := productIDs(top); err != nil || !slices.Equal(ids, []string{b}) || top[0].Name != "B" || top[0].Units != 5 {
		t.Errorf("TopProducts(EUR, 1) = %+v, %v; want b", top, err)
	}
}

func productIDs(rows []domain.ProductRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ProductID
	}
	return out
}

// TestLockExcludes: while one transaction holds the journal's lock, another
// one's Lock waits, and goes on once the first commits.
func TestLockExcludes(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "reporting")
	s := store.New(db)
	locked, release, second := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(tx *gorm.DB) error {
			if err := s.WithTx(tx).Lock(ctx); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	go func() { second <- s.InTx(ctx, func(tx domain.Tx) error { return tx.Lock(ctx) }) }()
	eventstest.Eventually(t, 5*time.Second, "the second Lock waiting", func() bool {
		var waiting int
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE relation = 'journal'::regclass AND NOT granted`).Scan(&waiting)
		return err == nil && waiting == 1
	})
	select {
	case err := <-second:
		t.Fatalf("second Lock returned (%v) while the first transaction held the lock", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second Lock after the first committed: %v", err)
	}
}
