package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/modules/inventory/internal/store"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/errs"
)

func noEvents(context.Context, *gorm.DB, ...any) error { return nil }

// TestDatabaseRefusesBadStock: whatever the code does, the CHECK
// constraints refuse stock that is negative or reserved beyond what is on
// hand, and a reservation that holds stock without an expiry.
func TestDatabaseRefusesBadStock(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "inventory")
	ctx := context.Background()
	p := uuid.NewString()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO stock (product_id, on_hand, reserved, updated_at) VALUES ($1, 5, 2, now())`, p); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, sql, constraint string }{
		{"negative on hand", `UPDATE stock SET on_hand = -1, reserved = 0 WHERE product_id = $1`, "stock_on_hand_check"},
		{"negative reserved", `UPDATE stock SET reserved = -1 WHERE product_id = $1`, "stock_reserved_check"},
		{"over reserved", `UPDATE stock SET reserved = 6 WHERE product_id = $1`, "stock_reserved_on_hand_check"},
		{"on hand below reserved", `UPDATE stock SET on_hand = 1 WHERE product_id = $1`, "stock_reserved_on_hand_check"},
		{"held without expiry", `INSERT INTO reservations (id, status, created_at, updated_at) VALUES ($1, 'held', now(), now())`, "reservations_held_expires_check"},
		{"unknown status", `INSERT INTO reservations (id, status, created_at, updated_at) VALUES ($1, 'lost', now(), now())`, "reservations_status_check"},
	} {
		_, err := db.Pool.Exec(ctx, tc.sql, p)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" || pe.ConstraintName != tc.constraint {
			t.Errorf("%s: %v, want a violation of %s", tc.name, err, tc.constraint)
		}
	}
}

// TestSaveLevelsOfAMissingRowFails: a level is written back only over the
// row it was read from; a row that is not there is an error, not a silent
// no-op.
func TestSaveLevelsOfAMissingRowFails(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Open(t, "inventory"), noEvents)
	err := s.InTx(context.Background(), func(tx domain.Tx) error {
		return tx.SaveLevels(context.Background(), []domain.Level{domain.RestoreLevel(uuid.NewString(), 1, 0, time.Now())})
	})
	if !errs.Is(err, errs.KindInternal) {
		t.Fatalf("SaveLevels of a missing row = %v, want internal", err)
	}
}

// TestReservationRoundTrip: what is stored reads back equal, lines in
// request order, shortages and a missing expiry included.
func TestReservationRoundTrip(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Open(t, "inventory"), noEvents)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	a, b := uuid.NewString(), uuid.NewString()
	if a < b {
		a, b = b, a // request order opposite to product order
	}
	rejected := domain.RestoreReservation(domain.ReservationRecord{
		ID: "r-1", Status: domain.StatusRejected, CreatedAt: now, UpdatedAt: now,
		Lines:     []domain.Line{domain.NewLine(a, 2), domain.NewLine(b, 1)},
		Shortages: []domain.Shortage{domain.NewShortage(b, 1, 0)},
	})
	var inserted, again bool
	err := s.InTx(ctx, func(tx domain.Tx) (err error) {
		inserted, err = tx.InsertReservation(ctx, rejected)
		return err
	})
	if err != nil || !inserted {
		t.Fatalf("insert = %v, %v", inserted, err)
	}
	err = s.InTx(ctx, func(tx domain.Tx) (err error) {
		again, err = tx.InsertReservation(ctx, domain.Tombstone("r-1", now))
		return err
	})
	if err != nil || again {
		t.Fatalf("second insert of the id = %v, %v; want false", again, err)
	}
	got, err := s.Reservation(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status() != domain.StatusRejected || !got.ExpiresAt().IsZero() || !got.CreatedAt().Equal(now) ||
		len(got.Lines()) != 2 || got.Lines()[0] != rejected.Lines()[0] || got.Lines()[1] != rejected.Lines()[1] ||
		len(got.Shortages()) != 1 || got.Shortages()[0] != rejected.Shortages()[0] {
		t.Fatalf("read back %+v, want %+v", got, rejected)
	}
	if _, err := s.Reservation(ctx, "r-2"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("unknown id: %v, want not found", err)
	}
}
