// Package rest is the orders module's HTTP transport: checkout, order
// history, cancellation and shipping. Handlers return errors; the HTTP edge
// turns them into problem documents.
package rest

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/orders/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// HeaderIdempotencyKey names the checkout's retry key; HeaderReplayed is set
// on the answer to a repeated checkout.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

type handlers struct {
	r   *httpapi.Router
	svc *domain.Service
}

// Register adds the routes. Every route needs a session; shipping needs the
// admin role (checked here and again in the service).
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{r: r, svc: svc}
	one := []httpapi.Response{{Status: http.StatusOK, Body: orderResponse{}}}
	r.POST("/api/orders", h.checkout, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "checkout", Summary: "Check out: turn the cart into an order paid with a card", Access: httpapi.AccessUser, Input: checkoutRequest{},
		Description: "Send a fresh Idempotency-Key per checkout and the same one on every retry: a repeated request answers 200 " +
			"with the first order and the header Idempotent-Replayed: true. The order is placed at once; its status then moves " +
			"on asynchronously (placed → stock_reserved → confirmed, or rejected / failed with a reason). Test cards: " +
			"4242424242424242 approves, 4000000000000002 declines, 4000000000000119 fails, 4000000000000259 times out. " +
			"409 when the cart is empty or holds unavailable products; 503 when its prices cannot be confirmed right now.",
		Responses: []httpapi.Response{
			{Status: http.StatusCreated, Body: orderResponse{}, Description: "The order was placed."},
			{Status: http.StatusOK, Body: orderResponse{}, Description: "The order an earlier request with this key placed."},
		},
		Errors: []int{http.StatusConflict, http.StatusServiceUnavailable},
	})
	r.GET("/api/orders", h.list, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "listOrders", Summary: "Orders, newest first: the caller's own; admins see everyone's", Access: httpapi.AccessUser, Input: listQuery{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: pageResponse{}}},
	})
	r.GET("/api/orders/:id", h.get, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "getOrder", Summary: "One order with its timeline (another customer's order is 404)", Access: httpapi.AccessUser, Input: byID{},
		Responses: one,
	})
	r.POST("/api/orders/:id/cancel", h.cancel, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "cancelOrder", Summary: "Cancel an order that has not shipped; its stock and money are given back", Access: httpapi.AccessUser, Input: byID{},
		Description: "409 when the order shipped, was rejected or failed. Cancelling twice answers the cancelled order.",
		Responses:   one,
		Errors:      []int{http.StatusConflict},
	})
	r.POST("/api/orders/:id/ship", h.ship, httpapi.RequireRole(auth.RoleAdmin)).Doc(httpapi.Op{
		ID: "shipOrder", Summary: "Mark a confirmed order shipped", Access: httpapi.AccessAdmin, Input: byID{},
		Description: "409 unless the order is confirmed and its payment captured.",
		Responses:   one,
		Errors:      []int{http.StatusConflict},
	})
}

type checkoutRequest struct {
	Key        string `json:"-" header:"Idempotency-Key" required:"true" maxLength:"200"`
	CardNumber string `json:"card_number" validate:"required,max=40"`
}

type listQuery struct {
	UserID string `query:"user_id" format:"uuid" description:"admins only"`
	Status string `query:"status" enum:"placed,stock_reserved,confirmed,shipped,rejected,failed,cancelled"`
	After  string `query:"after" description:"next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type byID struct {
	ID string `path:"id" format:"uuid"`
}

type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type itemResponse struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	UnitPrice money  `json:"unit_price"`
	LineTotal money  `json:"line_total"`
}

type stepResponse struct {
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

type orderResponse struct {
	ID              string         `json:"id"`
	UserID          string         `json:"user_id"`
	Email           string         `json:"email"`
	Status          string         `json:"status" enum:"placed,stock_reserved,confirmed,shipped,rejected,failed,cancelled"`
	Reason          string         `json:"reason,omitempty"`
	Items           []itemResponse `json:"items"`
	Total           money          `json:"total"`
	CardLast4       string         `json:"card_last4"`
	PaymentCaptured bool           `json:"payment_captured"`
	Timeline        []stepResponse `json:"timeline"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

type pageResponse struct {
	Items      []orderResponse `json:"items"`
	NextCursor string          `json:"next_cursor" description:"empty on the last page"`
}

func toOrderResponse(o *domain.Order) orderResponse {
	out := orderResponse{
		ID: o.ID(), UserID: o.UserID(), Email: o.Email(), Status: o.Status(), Reason: o.Reason(),
		Items: make([]itemResponse, len(o.Items())), Total: money{o.Total(), o.Currency()}, CardLast4: o.CardLast4(),
		PaymentCaptured: o.PaymentIsCaptured(), Timeline: make([]stepResponse, len(o.Timeline())),
		CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
	for i, it := range o.Items() {
		out.Items[i] = itemResponse{ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: money{it.UnitPrice, o.Currency()}, LineTotal: money{it.LineTotal(), o.Currency()}}
	}
	for i, s := range o.Timeline() {
		out.Timeline[i] = stepResponse{Step: s.Step, Detail: s.Detail, At: s.At}
	}
	return out
}

// checkout answers 201 with the new order, or 200 with the order an earlier
// request with the same Idempotency-Key created.
func (h *handlers) checkout(c echo.Context) error {
	var req checkoutRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	o, replayed, err := h.svc.Checkout(c.Request().Context(), c.Request().Header.Get(HeaderIdempotencyKey), req.CardNumber)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/orders/"+o.ID())
	if replayed {
		c.Response().Header().Set(HeaderReplayed, "true")
		return c.JSON(http.StatusOK, toOrderResponse(o))
	}
	return c.JSON(http.StatusCreated, toOrderResponse(o))
}

func (h *handlers) list(c echo.Context) error {
	q := domain.Query{UserID: c.QueryParam("user_id"), Status: c.QueryParam("status"), After: c.QueryParam("after")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errs.Invalid(errs.Field("limit", "integer", "must be an integer"))
		}
		q.Limit = n
	}
	p, err := h.svc.Orders(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := pageResponse{Items: make([]orderResponse, len(p.Items)), NextCursor: p.NextCursor}
	for i, o := range p.Items {
		out.Items[i] = toOrderResponse(o)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) get(c echo.Context) error {
	return respond(c, h.svc.Order)
}

func (h *handlers) cancel(c echo.Context) error {
	return respond(c, h.svc.Cancel)
}

func (h *handlers) ship(c echo.Context) error {
	return respond(c, h.svc.Ship)
}

// respond runs one of the service's by-id operations and renders the order.
func respond(c echo.Context, op func(ctx context.Context, id string) (*domain.Order, error)) error {
	o, err := op(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toOrderResponse(o))
}
