package domain

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// fakeRepo is a Repository of function fields; a nil field fails the call.
type fakeRepo struct {
	inTx        func(ctx context.Context, fn func(Tx) error) error
	days        func(ctx context.Context, f DayFilter) ([]DayRow, error)
	topProducts func(ctx context.Context, f TopFilter) ([]ProductRow, error)
}

var _ Repository = (*fakeRepo)(nil)

var errUnexpected = errors.New("unexpected call")

func (r *fakeRepo) InTx(ctx context.Context, fn func(Tx) error) error {
	if r.inTx == nil {
		return errUnexpected
	}
	return r.inTx(ctx, fn)
}

func (r *fakeRepo) Days(ctx context.Context, f DayFilter) ([]DayRow, error) {
	if r.days == nil {
		return nil, errUnexpected
	}
	return r.days(ctx, f)
}

func (r *fakeRepo) TopProducts(ctx context.Context, f TopFilter) ([]ProductRow, error) {
	if r.topProducts == nil {
		return nil, errUnexpected
	}
	return r.topProducts(ctx, f)
}

// memJournal is a Tx in memory: the journal as a slice, the figures as a
// Projection.
type memJournal struct {
	records []Record
	figures *Projection
	locks   int
}

var _ Tx = (*memJournal)(nil)

func newMemJournal() *memJournal { return &memJournal{figures: NewProjection()} }

func (m *memJournal) Lock(context.Context) error { m.locks++; return nil }

func (m *memJournal) Append(_ context.Context, rec Record) (int64, bool, error) {
	for _, r := range m.records {
		if r.EventID == rec.EventID {
			return 0, false, nil
		}
	}
	rec.Seq = int64(len(m.records) + 1)
	m.records = append(m.records, rec)
	return rec.Seq, true, nil
}

func (m *memJournal) History(_ context.Context, orderID string, before int64) ([]Record, error) {
	var out []Record
	for _, r := range m.records {
		if r.OrderID == orderID && r.Seq < before {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memJournal) Apply(_ context.Context, d Delta) error { m.figures.Add(d); return nil }

func (m *memJournal) Replay(_ context.Context, fn func(Record) error) (int, error) {
	sorted := slices.Clone(m.records)
	slices.SortFunc(sorted, func(a, b Record) int { return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.Seq, b.Seq)) })
	for _, r := range sorted {
		if err := fn(r); err != nil {
			return 0, err
		}
	}
	return len(sorted), nil
}

func (m *memJournal) Replace(_ context.Context, p *Projection) error { m.figures = p; return nil }

// facts is a Decoder reading facts registered by event id.
type facts map[string]Fact

func (fs facts) decode(rec Record) (Fact, error) {
	f, ok := fs[rec.EventID]
	if !ok {
		return Fact{}, errs.Invalid(errs.Field("payload", "unknown", "no such test event"))
	}
	return f, nil
}

var self = auth.Service("reporting")

func as(role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "u-" + string(role), Role: role})
}

func TestServiceAuthorization(t *testing.T) {
	t.Parallel()
	j := newMemJournal()
	repo := &fakeRepo{inTx: func(ctx context.Context, fn func(Tx) error) error { return fn(j) }}
	svc := NewService(repo, facts{}.decode, time.Now, self)
	other := auth.AsService(context.Background(), "orders")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		kind errs.Kind
	}{
		{"anonymous", context.Background(), errs.KindUnauthenticated},
		{"customer", as(auth.RoleCustomer), errs.KindForbidden},
		{"another module", other, errs.KindForbidden},
	} {
		if _, err := svc.Sales(tc.ctx, SalesQuery{}); !errs.Is(err, tc.kind) {
			t.Errorf("%s: Sales: %v, want %v", tc.name, err, tc.kind)
		}
		if _, err := svc.TopProducts(tc.ctx, TopQuery{}); !errs.Is(err, tc.kind) {
			t.Errorf("%s: TopProducts: %v, want %v", tc.name, err, tc.kind)
		}
		if _, err := svc.Rebuild(tc.ctx); !errs.Is(err, tc.kind) {
			t.Errorf("%s: Rebuild: %v, want %v", tc.name, err, tc.kind)
		}
	}
	if j.locks != 0 {
		t.Fatalf("a refused rebuild locked the journal")
	}
	// The module itself may rebuild (the command line), not read reports.
	if _, err := svc.Rebuild(auth.AsService(context.Background(), "reporting")); err != nil {
		t.Errorf("Rebuild as the module: %v", err)
	}
	if _, err := svc.Sales(auth.AsService(context.Background(), "reporting"), SalesQuery{}); !errs.Is(err, errs.KindForbidden) {
		t.Errorf("Sales as the module: %v, want forbidden", err)
	}
	if _, err := svc.Rebuild(as(auth.RoleAdmin)); err != nil || j.locks != 2 {
		t.Errorf("Rebuild as admin: %v (%d locks, want 2)", err, j.locks)
	}
}

func TestSalesAndTopProductsPassFilters(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 15, 23, 59, 0, 0, time.FixedZone("X", 3*3600)) // 20:59 UTC
	rows := []DayRow{{Day: date("2026-03-01"), Currency: "EUR", Orders: 2, Units: 3, Revenue: 400}}
	var gotDays DayFilter
	var gotTop TopFilter
	repo := &fakeRepo{
		days: func(_ context.Context, f DayFilter) ([]DayRow, error) { gotDays = f; return rows, nil },
		topProducts: func(_ context.Context, f TopFilter) ([]ProductRow, error) {
			gotTop = f
			return []ProductRow{{ProductID: "p"}}, nil
		},
	}
	svc := NewService(repo, facts{}.decode, func() time.Time { return now }, self)
	r, err := svc.Sales(as(auth.RoleAdmin), SalesQuery{Currency: "eur"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (DayFilter{From: date("2026-02-14"), To: date("2026-03-15"), Currency: "EUR"}); gotDays != want {
		t.Errorf("filter %+v, want %+v", gotDays, want)
	}
	if !r.From.Equal(gotDays.From) || !r.To.Equal(gotDays.To) || r.Currency != "EUR" || !reflect.DeepEqual(r.Days, rows) ||
		!reflect.DeepEqual(r.Totals, []Totals{{Currency: "EUR", Orders: 2, Units: 3, Revenue: 400}}) {
		t.Errorf("report %+v", r)
	}
	if top, err := svc.TopProducts(as(auth.RoleAdmin), TopQuery{}); err != nil || len(top) != 1 || gotTop.Limit != DefaultLimit {
		t.Errorf("TopProducts = %+v, %v (filter %+v)", top, err, gotTop)
	}
	if _, err := svc.Sales(as(auth.RoleAdmin), SalesQuery{From: "x"}); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("bad from: %v, want invalid", err)
	}
}

func TestRecordMalformedEventChangesNothing(t *testing.T) {
	t.Parallel()
	j := newMemJournal()
	svc := NewService(&fakeRepo{}, facts{}.decode, time.Now, self)
	err := svc.Record(context.Background(), j, Record{EventID: uuid.NewString(), Type: "orders.order_confirmed.v1"})
	if !errs.Is(err, errs.KindInvalid) || len(j.records) != 0 || j.locks != 0 {
		t.Fatalf("Record = %v with %d records, %d locks; want invalid and nothing written", err, len(j.records), j.locks)
	}
}

// TestRebuildEqualsRecording on a random history in memory: recording each
// event (with duplicates) and replaying the journal give the same figures,
// and those are the sales of the orders confirmed and never cancelled.
func TestRebuildEqualsRecording(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	products := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	fs := facts{}
	var recs []Record
	want := NewProjection()
	add := func(orderID string, f Fact) {
		id := uuid.NewString()
		fs[id] = f
		recs = append(recs, Record{EventID: id, Type: "t", Payload: []byte("{}")})
		if rng.IntN(5) == 0 { // redelivered
			recs = append(recs, recs[len(recs)-1])
		}
	}
	for i := range 200 {
		orderID := uuid.NewString()
		s := sale(t, orderID, day1.AddDate(0, 0, rng.IntN(5)), []string{"EUR", "USD"}[rng.IntN(2)],
			line(products[rng.IntN(3)], "P", 1+rng.IntN(4), int64(100+i)))
		cancel, _ := Cancellation(orderID)
		switch rng.IntN(4) {
		case 0: // confirmed
			add(orderID, Confirmation(s))
			want.Add(s.delta(+1, 0))
		case 1: // confirmed, then cancelled
			add(orderID, Confirmation(s))
			add(orderID, cancel)
			want.Add(s.delta(+1, 0))
			want.Add(s.delta(-1, 0))
		case 2: // cancelled before confirmation
			add(orderID, cancel)
		default: // confirmed twice
			add(orderID, Confirmation(s))
			add(orderID, Confirmation(s))
			want.Add(s.delta(+1, 0))
		}
	}
	j := newMemJournal()
	svc := NewService(&fakeRepo{inTx: func(_ context.Context, fn func(Tx) error) error { return fn(j) }}, fs.decode, time.Now, self)
	for _, r := range recs {
		if err := svc.Record(context.Background(), j, r); err != nil {
			t.Fatal(err)
		}
	}
	if j.locks != len(recs) {
		t.Fatalf("%d Records took the journal's lock %d times", len(recs), j.locks)
	}
	incremental := j.figures
	if !reflect.DeepEqual(figures(incremental.Days()), figures(want.Days())) {
		t.Fatalf("recorded days %+v\nwant %+v", incremental.Days(), want.Days())
	}
	n, err := svc.Rebuild(as(auth.RoleAdmin))
	if err != nil || n != len(j.records) {
		t.Fatalf("Rebuild = %d, %v; want %d", n, err, len(j.records))
	}
	if !reflect.DeepEqual(j.figures.Days(), incremental.Days()) || !reflect.DeepEqual(j.figures.Products(), incremental.Products()) {
		t.Fatalf("rebuilt %+v %+v\nincremental %+v %+v", j.figures.Days(), j.figures.Products(), incremental.Days(), incremental.Products())
	}
}

// figures drops rows at zero (days whose every sale was taken back), which
// the expected model never wrote.
func figures(rows []DayRow) []DayRow {
	return slices.DeleteFunc(slices.Clone(rows), func(r DayRow) bool { return r.Orders == 0 })
}
