package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

func (h *handlers) categories(c echo.Context) error {
	var f errs.Fields
	all := includeInactive(c, &f)
	if err := f.Err(); err != nil {
		return err
	}
	cs, err := h.svc.Categories(c.Request().Context(), all)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, categoryListResponse{Items: domain.Map(cs, toCategoryResponse)})
}

func (h *handlers) createCategory(c echo.Context) error {
	var req createCategoryRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	cat, err := h.svc.CreateCategory(c.Request().Context(), req.Slug, req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toCategoryResponse(cat))
}

func (h *handlers) updateCategory(c echo.Context) error {
	var req updateCategoryRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	cat, err := h.svc.UpdateCategory(c.Request().Context(), c.Param("id"), toCategoryChanges(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCategoryResponse(cat))
}

func (h *handlers) deactivateCategory(c echo.Context) error {
	if err := h.svc.DeactivateCategory(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
