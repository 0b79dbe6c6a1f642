// Package rest is the payments module's HTTP transport: the admin's view of
// an order's payment. Handlers return errors; the HTTP edge turns them into
// problem documents. Payments are made by the orders module through the
// API, never over HTTP.
package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct{ svc *domain.Service }

// Register adds the route. It needs the admin role here, and the service
// checks the role again.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{svc: svc}
	r.GET("/api/payments/:order_id", h.payment, httpapi.RequireRole(auth.RoleAdmin)).Doc(httpapi.Op{
		ID: "getPayment", Summary: "The payment of an order", Access: httpapi.AccessAdmin, Input: paymentInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: paymentResponse{}}},
	})
}

type paymentInput struct {
	OrderID string `path:"order_id"`
}

type moneyResponse struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type paymentResponse struct {
	ID           string        `json:"id"`
	OrderID      string        `json:"order_id"`
	Status       string        `json:"status" enum:"authorized,declined,failed,captured,voided,refunded"`
	Amount       moneyResponse `json:"amount"`
	CardBrand    string        `json:"card_brand"`
	CardLast4    string        `json:"card_last4"`
	Reason       string        `json:"reason,omitempty"`
	AuthorizedAt *time.Time    `json:"authorized_at,omitempty"`
	CapturedAt   *time.Time    `json:"captured_at,omitempty"`
	RefundedAt   *time.Time    `json:"refunded_at,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

func toPaymentResponse(p domain.Payment) paymentResponse {
	return paymentResponse{
		ID: p.ID(), OrderID: p.OrderID(), Status: p.Status(),
		Amount:    moneyResponse{Amount: p.Amount().Amount(), Currency: p.Amount().Currency()},
		CardBrand: p.Brand(), CardLast4: p.Last4(), Reason: p.Reason(),
		AuthorizedAt: optional(p.AuthorizedAt()), CapturedAt: optional(p.CapturedAt()), RefundedAt: optional(p.RefundedAt()),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}
}

// optional omits a time that has not happened (the domain's zero time).
func optional(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *handlers) payment(c echo.Context) error {
	p, err := h.svc.Payment(c.Request().Context(), c.Param("order_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPaymentResponse(p))
}
