package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

func (h *handlers) deals(c echo.Context) error {
	var f errs.Fields
	all := includeInactive(c, &f)
	if err := f.Err(); err != nil {
		return err
	}
	ds, err := h.svc.Deals(c.Request().Context(), all)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dealListResponse{Items: domain.Map(ds, toDealResponse)})
}

func (h *handlers) createDeal(c echo.Context) error {
	var req createDealRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	d, err := h.svc.CreateDeal(c.Request().Context(), toDealSpec(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toDealResponse(d))
}

func (h *handlers) updateDeal(c echo.Context) error {
	var req updateDealRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	d, err := h.svc.UpdateDeal(c.Request().Context(), c.Param("id"), toDealChanges(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDealResponse(d))
}

func (h *handlers) deactivateDeal(c echo.Context) error {
	if err := h.svc.DeactivateDeal(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
