// Package rest is the orders module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The HTTP transport: checkout, order history, cancellation and shipping.
// Handlers call the API, the same one remote callers get, and serve its
// DTOs; they return errors, which the HTTP edge turns into problem
// documents.

// HeaderIdempotencyKey names the checkout's retry key; HeaderReplayed is set
// on the answer to a repeated checkout.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

type httpHandlers struct {
	r   *httpapi.Router
	api orders.API
}

// Register adds the routes. Every route needs a session; shipping
// needs the admin role (checked here and again in the API).
func Register(r *httpapi.Router, api orders.API) {
	h := &httpHandlers{r: r, api: api}
	one := []httpapi.Response{{Status: http.StatusOK, Body: orders.Order{}}}
	r.POST("/api/orders", h.checkout, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "checkout", Summary: "Check out: turn the cart into an order paid with a card", Access: httpapi.AccessUser, Input: checkoutInput{},
		Description: "Send a fresh Idempotency-Key per checkout and the same one on every retry: a repeated request answers 200 " +
			"with the first order and the header Idempotent-Replayed: true. The order is placed at once; its status then moves " +
			"on asynchronously (placed → stock_reserved → confirmed, or rejected / failed with a reason). Test cards: " +
			"4242424242424242 approves, 4000000000000002 declines, 4000000000000119 fails, 4000000000000259 times out. " +
			"409 when the cart is empty, totals 0 or holds unavailable products, or while another checkout of the cart runs " +
			"(with another key: a double click); 503 when its prices cannot be confirmed right now.",
		Responses: []httpapi.Response{
			{Status: http.StatusCreated, Body: orders.Order{}, Description: "The order was placed."},
			{Status: http.StatusOK, Body: orders.Order{}, Description: "The order an earlier request with this key placed."},
		},
		Errors: []int{http.StatusConflict, http.StatusServiceUnavailable},
	})
	r.GET("/api/orders", h.list, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "listOrders", Summary: "Orders, newest first: the caller's own; admins see everyone's", Access: httpapi.AccessUser, Input: listInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: orders.Page{}}},
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

type checkoutInput struct {
	Key        string `json:"-" header:"Idempotency-Key" maxLength:"200"`
	CardNumber string `json:"card_number" validate:"required,max=40"`
}

type listInput struct {
	UserID string `query:"user_id" format:"uuid" description:"admins only"`
	Status string `query:"status" enum:"placed,stock_reserved,confirmed,shipped,rejected,failed,cancelled"`
	After  string `query:"after" description:"next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type byID struct {
	ID string `path:"id" format:"uuid"`
}

// checkout answers 201 with the new order, or 200 with the order an earlier
// request with the same Idempotency-Key created.
func (h *httpHandlers) checkout(c echo.Context) error {
	var in checkoutInput
	if err := h.r.Bind(c, &in); err != nil {
		return err
	}
	o, err := h.api.Checkout(c.Request().Context(), orders.CheckoutRequest{
		IdempotencyKey: c.Request().Header.Get(HeaderIdempotencyKey), CardNumber: in.CardNumber,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/orders/"+o.ID)
	if o.Replayed {
		c.Response().Header().Set(HeaderReplayed, "true")
		return c.JSON(http.StatusOK, o)
	}
	return c.JSON(http.StatusCreated, o)
}

func (h *httpHandlers) list(c echo.Context) error {
	q := orders.Query{UserID: c.QueryParam("user_id"), Status: c.QueryParam("status"), After: c.QueryParam("after")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return errs.Invalid(errs.Field("limit", "integer", "must be an integer"))
		case n == 0: // the API's "the default"; asked for here, it is out of range
			return errs.Invalid(errs.Field("limit", "range", "must be between 1 and 100"))
		}
		q.Limit = n
	}
	p, err := h.api.Orders(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *httpHandlers) get(c echo.Context) error    { return respond(c, h.api.Order) }
func (h *httpHandlers) cancel(c echo.Context) error { return respond(c, h.api.Cancel) }
func (h *httpHandlers) ship(c echo.Context) error   { return respond(c, h.api.MarkShipped) }

// respond runs one of the API's by-id operations and renders the order.
func respond(c echo.Context, op func(ctx context.Context, id string) (orders.Order, error)) error {
	o, err := op(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}
