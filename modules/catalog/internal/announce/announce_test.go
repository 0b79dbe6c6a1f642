package announce

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// fakeStore answers with fixed values.
type fakeStore struct {
	next time.Time
	ok   bool
	err  error
}

func (f fakeStore) AnnounceDeals(context.Context, time.Time) (int, error) { return 0, f.err }

func (f fakeStore) NextDealChange(context.Context, time.Time) (time.Time, bool, error) {
	return f.next, f.ok, nil
}

func TestPassWaitsForTheNextChange(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		store fakeStore
		want  time.Duration
	}{
		{"nothing pending", fakeStore{}, MaxWait},
		{"due in 5s", fakeStore{next: now.Add(5 * time.Second), ok: true}, 5 * time.Second},
		{"due in an hour", fakeStore{next: now.Add(time.Hour), ok: true}, MaxWait},
		{"due but locked elsewhere", fakeStore{next: now.Add(-time.Second), ok: true}, MinWait},
		{"failing", fakeStore{err: errors.New("down")}, ErrorDelay},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := New(tt.store, func() time.Time { return now }, slog.New(slog.DiscardHandler))
			if got := w.Pass(context.Background()); got != tt.want {
				t.Fatalf("wait = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWakeNeverBlocks(t *testing.T) {
	t.Parallel()
	w := New(fakeStore{}, time.Now, slog.New(slog.DiscardHandler))
	w.Wake()
	w.Wake() // a pending wake-up absorbs the second
}
