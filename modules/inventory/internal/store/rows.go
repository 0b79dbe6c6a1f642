package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
)

// Row timestamps come from the domain, on the inventory's clock: what is
// stored equals what a call returned and published.

type levelRow struct {
	ProductID string    `gorm:"column:product_id"`
	OnHand    int       `gorm:"column:on_hand"`
	Reserved  int       `gorm:"column:reserved"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

// reservationRow is a reservation with its lines aggregated as JSON.
type reservationRow struct {
	ID        string     `gorm:"column:id"`
	Status    string     `gorm:"column:status"`
	ExpiresAt *time.Time `gorm:"column:expires_at"`
	Shortages []byte     `gorm:"column:shortages"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	UpdatedAt time.Time  `gorm:"column:updated_at"`
	Lines     []byte     `gorm:"column:lines"`
}

// lineRow and shortageRow are the JSON shapes of lines (as aggregated by
// the reservation queries) and of the shortages column.
type lineRow struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

type shortageRow struct {
	ProductID string `json:"product_id"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

func toLevel(r levelRow) domain.Level {
	return domain.RestoreLevel(r.ProductID, r.OnHand, r.Reserved, r.UpdatedAt)
}

func toReservation(r reservationRow) (domain.Reservation, error) {
	var lines []lineRow
	if err := json.Unmarshal(r.Lines, &lines); err != nil {
		return domain.Reservation{}, fmt.Errorf("lines of reservation %s: %w", r.ID, err)
	}
	var shortages []shortageRow
	if err := json.Unmarshal(r.Shortages, &shortages); err != nil {
		return domain.Reservation{}, fmt.Errorf("shortages of reservation %s: %w", r.ID, err)
	}
	rec := domain.ReservationRecord{ID: r.ID, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.ExpiresAt != nil {
		rec.ExpiresAt = *r.ExpiresAt
	}
	for _, l := range lines {
		rec.Lines = append(rec.Lines, domain.NewLine(l.ProductID, l.Quantity))
	}
	for _, s := range shortages {
		rec.Shortages = append(rec.Shortages, domain.NewShortage(s.ProductID, s.Requested, s.Available))
	}
	return domain.RestoreReservation(rec), nil
}

// expiresAt maps "nothing was ever held" to NULL.
func expiresAt(r domain.Reservation) *time.Time {
	if t := r.ExpiresAt(); !t.IsZero() {
		return &t
	}
	return nil
}

// shortagesJSON is the shortages column of r.
func shortagesJSON(r domain.Reservation) (string, error) {
	rows := make([]shortageRow, 0, len(r.Shortages()))
	for _, s := range r.Shortages() {
		rows = append(rows, shortageRow{ProductID: s.ProductID(), Requested: s.Requested(), Available: s.Available()})
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// lineColumns splits r's lines into the arrays the line insert unnests.
func lineColumns(r domain.Reservation) (productIDs []string, quantities []int32) {
	for _, l := range r.Lines() {
		productIDs = append(productIDs, l.ProductID())
		quantities = append(quantities, int32(l.Quantity()))
	}
	return productIDs, quantities
}

// levelColumns splits levels into the arrays the level writes unnest.
func levelColumns(levels []domain.Level) (ids []string, onHand, reserved []int32, updated []time.Time) {
	for _, l := range levels {
		ids = append(ids, l.ProductID())
		onHand = append(onHand, int32(l.OnHand()))
		reserved = append(reserved, int32(l.Reserved()))
		updated = append(updated, l.UpdatedAt())
	}
	return ids, onHand, reserved, updated
}
