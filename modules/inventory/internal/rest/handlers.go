package rest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct {
	r   *httpapi.Router
	svc *domain.Service
}

// Register adds the inventory's routes. Writes and reservations need the
// admin role here and again in the service.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{r: r, svc: svc}
	admin := httpapi.RequireRole(auth.RoleAdmin)
	level := []httpapi.Response{{Status: http.StatusOK, Body: levelResponse{}}}
	r.GET("/api/inventory", h.availability).Doc(httpapi.Op{
		ID: "listStockLevels", Summary: "Stock levels of up to 100 products, in request order", Access: httpapi.AccessPublic, Input: availabilityQuery{},
		Description: "A product nobody stocked has zero of everything.",
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: levelsResponse{}}},
	})
	r.GET("/api/inventory/reservations/:id", h.reservation, admin).Doc(httpapi.Op{
		ID: "getReservation", Summary: "One stock reservation (an order's)", Access: httpapi.AccessAdmin, Input: reservationInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: reservationResponse{}}},
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
func (h *handlers) availability(c echo.Context) error {
	var ids []string
	for _, v := range c.QueryParams()["product_id"] {
		for _, id := range strings.Split(v, ",") {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	levels, err := h.svc.Availability(c.Request().Context(), ids)
	if err != nil {
		return renameField(err, "product_ids", "product_id")
	}
	return c.JSON(http.StatusOK, toLevelsResponse(levels))
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

func (h *handlers) setStock(c echo.Context) error {
	var req setStockRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	l, err := h.svc.SetStock(c.Request().Context(), c.Param("product_id"), *req.OnHand)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toLevelResponse(l))
}

func (h *handlers) adjustStock(c echo.Context) error {
	var req adjustStockRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	l, err := h.svc.AdjustStock(c.Request().Context(), c.Param("product_id"), *req.Delta)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toLevelResponse(l))
}

func (h *handlers) reservation(c echo.Context) error {
	r, err := h.svc.Reservation(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReservationResponse(r))
}
