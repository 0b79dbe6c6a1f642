// Package rest is the inventory's HTTP transport: request and response
// structs, their converters, and echo handlers that call the domain service.
// Handlers return errors; the HTTP edge turns them into problem documents.
// Reserve, Commit and Release have no routes: browsers never call them.
package rest

import (
	"time"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
)

// Request structs check presence and JSON types only: the ranges belong to
// the domain, which knows what is reserved.

type setStockRequest struct {
	OnHand *int `json:"on_hand" validate:"required" required:"true" minimum:"0" maximum:"1000000"`
}

type adjustStockRequest struct {
	Delta *int `json:"delta" validate:"required" required:"true"`
}

// Inputs as the API description shows them.

type availabilityQuery struct {
	ProductID []string `query:"product_id" required:"true" description:"repeated, or one comma-separated list"`
}

type reservationInput struct {
	ID string `path:"id"`
}

type productInput struct {
	ProductID string `path:"product_id" format:"uuid"`
}

type setStockInput struct {
	productInput
	setStockRequest
}

type adjustStockInput struct {
	productInput
	adjustStockRequest
}

type levelResponse struct {
	ProductID string    `json:"product_id"`
	OnHand    int       `json:"on_hand"`
	Reserved  int       `json:"reserved"`
	Available int       `json:"available"`
	UpdatedAt time.Time `json:"updated_at"`
}

// levelsResponse has every list's envelope; the levels asked for come in
// one page.
type levelsResponse struct {
	Items      []levelResponse `json:"items"`
	NextCursor string          `json:"next_cursor" description:"always empty: every level asked for comes in one page"`
}

type lineResponse struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

type shortageResponse struct {
	ProductID string `json:"product_id"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

type reservationResponse struct {
	ID        string             `json:"id"`
	Status    string             `json:"status" enum:"held,committed,released,expired,rejected"`
	Lines     []lineResponse     `json:"lines"`
	Shortages []shortageResponse `json:"shortages,omitempty"`
	ExpiresAt time.Time          `json:"expires_at"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

func toLevelResponse(l domain.Level) levelResponse {
	return levelResponse{ProductID: l.ProductID(), OnHand: l.OnHand(), Reserved: l.Reserved(),
		Available: l.Available(), UpdatedAt: l.UpdatedAt()}
}

func toLevelsResponse(levels []domain.Level) levelsResponse {
	out := levelsResponse{Items: make([]levelResponse, len(levels))}
	for i, l := range levels {
		out.Items[i] = toLevelResponse(l)
	}
	return out
}

func toReservationResponse(r domain.Reservation) reservationResponse {
	out := reservationResponse{ID: r.ID(), Status: r.Status(), Lines: make([]lineResponse, 0, len(r.Lines())),
		ExpiresAt: r.ExpiresAt(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt()}
	for _, l := range r.Lines() {
		out.Lines = append(out.Lines, lineResponse{ProductID: l.ProductID(), Quantity: l.Quantity()})
	}
	for _, s := range r.Shortages() {
		out.Shortages = append(out.Shortages, shortageResponse{ProductID: s.ProductID(), Requested: s.Requested(), Available: s.Available()})
	}
	return out
}
