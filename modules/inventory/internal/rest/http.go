// Package rest is the inventory module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The inventory's HTTP transport. Handlers call the API, the same one
// remote callers get, and serve its DTOs; they return errors, which the
// HTTP edge turns into problem documents. Reserve, Commit and Release have
// no routes: browsers never call them.

// Request structs check presence and JSON types only: the ranges belong to
// the domain, which knows what is reserved.

type setStockRequest struct {
	OnHand *int `json:"on_hand" validate:"required" minimum:"0" maximum:"1000000"`
}

type adjustStockRequest struct {
	Delta *int `json:"delta" validate:"required"`
}

// Inputs as the API description shows them.

type availabilityQuery struct {
	ProductID []string `query:"product_id" description:"repeated, or one comma-separated list"`
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

// stockLevelList gives the levels every list's envelope; the levels asked
// for come in one page.
type stockLevelList struct {
	Items      []inventory.StockLevel `json:"items"`
	NextCursor string                 `json:"next_cursor" description:"always empty: every level asked for comes in one page"`
}

type httpHandlers struct {
	r   *httpapi.Router
	api inventory.API
}

// Register adds the inventory's routes. Writes and reservations need
// the admin role here and again in the API.
func Register(r *httpapi.Router, api inventory.API) {
	h := &httpHandlers{r: r, api: api}
	admin := httpapi.RequireRole(auth.RoleAdmin)
	level := []httpapi.Response{{Status: http.StatusOK, Body: inventory.StockLevel{}}}
	r.GET("/api/inventory", h.availability).Doc(httpapi.Op{
		ID: "listStockLevels", Summary: "Stock levels of up to 100 products, in request order", Access: httpapi.AccessPublic, Input: availabilityQuery{},
		Description: "A product nobody stocked has zero of everything.",
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: stockLevelList{}}},
	})
	r.GET("/api/inventory/reservations/:id", h.reservation, admin).Doc(httpapi.Op{
		ID: "getReservation", Summary: "One stock reservation (an order's)", Access: httpapi.AccessAdmin, Input: reservationInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: inventory.Reservation{}}},
	})
	r.PUT("/api/inventory/:product_id", h.setStock, admin).Doc(httpapi.Op{
		ID: "setStock", Summary: "Set the quantity on hand", Access: httpapi.AccessAdmin, Input: setStockInput{},
		Description: "422 when below what is reserved now.", Responses: level,
	})
	r.POST("/api/inventory/:product_id/adjustments", h.adjustStock, admin).Doc(httpapi.Op{
		ID: "adjustStock", Summary: "Add to (or, negative, take from) the quantity on hand", Access: httpapi.AccessAdmin, Input: adjustStockInput{},
		Responses: level,
	})
}

// availability takes product_id repeated, as a comma list, or both.
func (h *httpHandlers) availability(c echo.Context) error {
	var ids []string
	for _, v := range c.QueryParams()["product_id"] {
		for _, id := range strings.Split(v, ",") {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	levels, err := h.api.Availability(c.Request().Context(), ids)
	if err != nil {
		return renameField(err, "product_ids", "product_id")
	}
	return c.JSON(http.StatusOK, stockLevelList{Items: levels})
}

// renameField names a field as this transport spells it: the API's list of
// product_ids arrives here as the product_id query parameter.
func renameField(err error, from, to string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if f.Field == from {
			f.Field = to
		}
		out.Fields[i] = f
	}
	return &out
}

func (h *httpHandlers) setStock(c echo.Context) error {
	var req setStockRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	l, err := h.api.SetStock(c.Request().Context(), c.Param("product_id"), *req.OnHand)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (h *httpHandlers) adjustStock(c echo.Context) error {
	var req adjustStockRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	l, err := h.api.AdjustStock(c.Request().Context(), c.Param("product_id"), *req.Delta)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (h *httpHandlers) reservation(c echo.Context) error {
	r, err := h.api.Reservation(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
