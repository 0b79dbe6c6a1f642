// Package rest is the reporting module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The HTTP transport: the admin's sales reports and the rebuild. Handlers
// call the API, the same one remote callers get, and serve its DTOs; they
// return errors, which the HTTP edge turns into problem documents.

type httpHandlers struct{ api reporting.API }

// Register adds the routes. They need the admin role here and again in the
// service.
func Register(r *httpapi.Router, api reporting.API) {
	h := &httpHandlers{api: api}
	admin := httpapi.RequireRole(auth.RoleAdmin)
	r.GET("/api/reports/sales", h.sales, admin).Doc(httpapi.Op{
		ID: "getSalesReport", Summary: "Sales per day",
		Description: "One row per day (UTC, of the confirmation) and currency with sales in the range, oldest first, " +
			"and totals per currency. Invalid from, to (more than 366 days) or currency: 422.",
		Access: httpapi.AccessAdmin, Input: salesParams{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: reporting.SalesReport{}}},
	})
	r.GET("/api/reports/top-products", h.topProducts, admin).Doc(httpapi.Op{
		ID: "getTopProducts", Summary: "Best-selling products",
		Description: "Products by revenue (highest first), then units. Invalid limit or currency: 422.",
		Access:      httpapi.AccessAdmin, Input: topParams{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: topProductsList{}}},
	})
	r.POST("/api/reports/rebuild", h.rebuild, admin).Doc(httpapi.Op{
		ID: "rebuildReports", Summary: "Rebuild the sales figures",
		Description: "Recomputes every figure from the module's journal of order events in one transaction " +
			"and says how many journal entries it replayed.",
		Access:    httpapi.AccessAdmin,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: reporting.RebuildResult{}}},
	})
}

// salesParams and topParams document the query strings.
type salesParams struct {
	From     string `query:"from" description:"first day, YYYY-MM-DD; default 29 days before to"`
	To       string `query:"to" description:"last day, YYYY-MM-DD; default today (UTC)"`
	Currency string `query:"currency" description:"ISO 4217 code; default every currency"`
}

type topParams struct {
	Limit    int    `query:"limit" description:"1..100; default 10"`
	Currency string `query:"currency" description:"ISO 4217 code; default every currency"`
}

// topProductsList gives the top products every list's envelope; they come
// in one page.
type topProductsList struct {
	Items      []reporting.ProductSales `json:"items"`
	NextCursor string                   `json:"next_cursor" description:"always empty: the top products come in one page"`
}

func (h *httpHandlers) sales(c echo.Context) error {
	q := reporting.SalesQuery{From: c.QueryParam("from"), To: c.QueryParam("to"), Currency: c.QueryParam("currency")}
	report, err := h.api.Sales(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, report)
}

func (h *httpHandlers) topProducts(c echo.Context) error {
	q := reporting.TopQuery{Currency: c.QueryParam("currency")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return errs.Invalid(errs.Field("limit", "type", "must be an integer"))
		case n < 1 || n > domain.MaxLimit:
			// 0 means "default" to the API; in a URL it is a mistake.
			return errs.Invalid(errs.Field("limit", "range", "must be between 1 and 100"))
		}
		q.Limit = n
	}
	rows, err := h.api.TopProducts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, topProductsList{Items: rows})
}

func (h *httpHandlers) rebuild(c echo.Context) error {
	res, err := h.api.Rebuild(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
