// Package rest is the reporting module's HTTP transport: the admin's sales
// reports and the rebuild. Handlers return errors; the HTTP edge turns them
// into problem documents.
package rest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct{ svc *domain.Service }

// Register adds the routes. They need the admin role here and again in the
// service.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{svc: svc}
	admin := httpapi.RequireRole(auth.RoleAdmin)
	r.GET("/api/reports/sales", h.sales, admin).Doc(httpapi.Op{
		Summary: "Sales per day",
		Description: "One row per day (UTC, of the confirmation) and currency with sales in the range, oldest first, " +
			"and totals per currency. Invalid from, to (more than 366 days) or currency: 422.",
		Access: httpapi.AccessAdmin, Input: salesParams{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: salesResponse{}}},
	})
	r.GET("/api/reports/top-products", h.topProducts, admin).Doc(httpapi.Op{
		Summary:     "Best-selling products",
		Description: "Products by revenue (highest first), then units. Invalid limit or currency: 422.",
		Access:      httpapi.AccessAdmin, Input: topParams{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: topResponse{}}},
	})
	r.POST("/api/reports/rebuild", h.rebuild, admin).Doc(httpapi.Op{
		Summary: "Rebuild the sales figures",
		Description: "Recomputes every figure from the module's journal of order events in one transaction " +
			"and says how many journal entries it replayed.",
		Access:    httpapi.AccessAdmin,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: rebuildResponse{}}},
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

type moneyResponse struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type dayResponse struct {
	Day     string        `json:"day"`
	Orders  int64         `json:"orders"`
	Units   int64         `json:"units"`
	Revenue moneyResponse `json:"revenue"`
}

type totalResponse struct {
	Orders  int64         `json:"orders"`
	Units   int64         `json:"units"`
	Revenue moneyResponse `json:"revenue"`
}

type salesResponse struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Currency string          `json:"currency,omitempty"`
	Days     []dayResponse   `json:"days"`
	Totals   []totalResponse `json:"totals"`
}

type productResponse struct {
	ProductID string        `json:"product_id"`
	SKU       string        `json:"sku"`
	Name      string        `json:"name"`
	Orders    int64         `json:"orders"`
	Units     int64         `json:"units"`
	Revenue   moneyResponse `json:"revenue"`
}

// topResponse has every list's envelope; the top products come in one page.
type topResponse struct {
	Items      []productResponse `json:"items"`
	NextCursor string            `json:"next_cursor" description:"always empty: the top products come in one page"`
}

type rebuildResponse struct {
	Events int `json:"events"`
}

func toSalesResponse(r domain.SalesReport) salesResponse {
	out := salesResponse{
		From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), Currency: r.Currency,
		Days: make([]dayResponse, len(r.Days)), Totals: make([]totalResponse, len(r.Totals)),
	}
	for i, d := range r.Days {
		out.Days[i] = dayResponse{Day: d.Day.Format(time.DateOnly), Orders: d.Orders, Units: d.Units,
			Revenue: moneyResponse{Amount: d.Revenue, Currency: d.Currency}}
	}
	for i, t := range r.Totals {
		out.Totals[i] = totalResponse{Orders: t.Orders, Units: t.Units, Revenue: moneyResponse{Amount: t.Revenue, Currency: t.Currency}}
	}
	return out
}

func toTopResponse(rows []domain.ProductRow) topResponse {
	out := topResponse{Items: make([]productResponse, len(rows))}
	for i, p := range rows {
		out.Items[i] = productResponse{ProductID: p.ProductID, SKU: p.SKU, Name: p.Name, Orders: p.Orders, Units: p.Units,
			Revenue: moneyResponse{Amount: p.Revenue, Currency: p.Currency}}
	}
	return out
}

func (h *handlers) sales(c echo.Context) error {
	q := domain.SalesQuery{From: c.QueryParam("from"), To: c.QueryParam("to"), Currency: c.QueryParam("currency")}
	report, err := h.svc.Sales(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSalesResponse(report))
}

func (h *handlers) topProducts(c echo.Context) error {
	q := domain.TopQuery{Currency: c.QueryParam("currency")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return errs.Invalid(errs.Field("limit", "type", "must be an integer"))
		case n < 1 || n > domain.MaxLimit:
			// 0 means "default" to the service; in a URL it is a mistake.
			return errs.Invalid(errs.Field("limit", "range", "must be between 1 and 100"))
		}
		q.Limit = n
	}
	rows, err := h.svc.TopProducts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toTopResponse(rows))
}

func (h *handlers) rebuild(c echo.Context) error {
	n, err := h.svc.Rebuild(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rebuildResponse{Events: n})
}
