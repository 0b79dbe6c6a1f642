// Package rest is the payments module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The HTTP transport: an order's payment, read by its customer or an admin.
// The handler calls the API, the same one remote callers get, and serves
// its DTO; errors become problem documents at the HTTP edge. Payments are
// made by the orders module through the API, never over HTTP.

type httpHandlers struct{ api payments.API }

// Register adds the route. It needs a session here; the API lets the
// order's customer and admins read the payment, and answers 404 to others.
func Register(r *httpapi.Router, api payments.API) {
	h := &httpHandlers{api: api}
	r.GET("/api/payments/:order_id", h.payment, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "getPayment", Summary: "The payment of an order, with its capture and refund (another customer's is 404)", Access: httpapi.AccessUser,
		Input: paymentInput{}, Responses: []httpapi.Response{{Status: http.StatusOK, Body: payments.Payment{}}},
	})
}

type paymentInput struct {
	OrderID string `path:"order_id"`
}

func (h *httpHandlers) payment(c echo.Context) error {
	p, err := h.api.Payment(c.Request().Context(), c.Param("order_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
