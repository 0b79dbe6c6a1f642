// Package rest is the cart module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The cart's HTTP transport. Every route needs a session; the API works on
// that user's own cart, so no route takes a user id. Handlers call the API,
// the same one remote callers get, and serve its Cart; they return errors,
// which the HTTP edge turns into problem documents.

type httpHandlers struct {
	r   *httpapi.Router
	api cart.API
}

// Register adds the cart's routes. They need a session here and again
// in the API.
func Register(r *httpapi.Router, api cart.API) {
	h := &httpHandlers{r: r, api: api}
	user := httpapi.RequireUser
	cart := []httpapi.Response{{Status: http.StatusOK, Body: cart.Cart{}}}
	r.GET("/api/cart", h.cart, user).Doc(httpapi.Op{
		ID: "getCart", Summary: "The caller's cart, priced now", Access: httpapi.AccessUser,
		Description: "When the catalog or inventory is slow or failing, lines keep their last known values and are marked stale.",
		Responses:   cart,
	})
	r.DELETE("/api/cart", h.clear, user).Doc(httpapi.Op{
		ID: "clearCart", Summary: "Empty the caller's cart", Access: httpapi.AccessUser,
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.POST("/api/cart/items", h.addItem, user).Doc(httpapi.Op{
		ID: "addCartItem", Summary: "Add a quantity of a product", Access: httpapi.AccessUser, Input: addItemRequest{},
		Description: "404 for an unknown product; 409 for a product in another currency than the cart's; 503 when the catalog cannot price it now.",
		Responses:   cart,
		Errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
	})
	r.PUT("/api/cart/items/:product_id", h.setQuantity, user).Doc(httpapi.Op{
		ID: "setCartItemQuantity", Summary: "Set a line's quantity (0 removes it)", Access: httpapi.AccessUser, Input: setQuantityInput{},
		Responses: cart,
	})
	r.DELETE("/api/cart/items/:product_id", h.removeItem, user).Doc(httpapi.Op{
		ID: "removeCartItem", Summary: "Remove a line", Access: httpapi.AccessUser, Input: lineInput{}, Responses: cart,
	})
}

// Request structs check presence and JSON types only; the service checks
// the values. Bind rejects unknown fields, so a client cannot send a price.

type addItemRequest struct {
	ProductID string `json:"product_id" validate:"required" format:"uuid"`
	Quantity  *int   `json:"quantity" validate:"required" minimum:"1" maximum:"99"`
}

type setQuantityRequest struct {
	Quantity *int `json:"quantity" validate:"required" minimum:"0" maximum:"99"`
}

type lineInput struct {
	ProductID string `path:"product_id" format:"uuid"`
}

type setQuantityInput struct {
	lineInput
	setQuantityRequest
}

func (h *httpHandlers) cart(c echo.Context) error {
	return h.respond(c)(h.api.Cart(c.Request().Context()))
}

func (h *httpHandlers) addItem(c echo.Context) error {
	var req addItemRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	return h.respond(c)(h.api.AddItem(c.Request().Context(), req.ProductID, *req.Quantity))
}

func (h *httpHandlers) setQuantity(c echo.Context) error {
	var req setQuantityRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	return h.respond(c)(h.api.SetQuantity(c.Request().Context(), c.Param("product_id"), *req.Quantity))
}

func (h *httpHandlers) removeItem(c echo.Context) error {
	return h.respond(c)(h.api.RemoveItem(c.Request().Context(), c.Param("product_id")))
}

func (h *httpHandlers) clear(c echo.Context) error {
	if err := h.api.Clear(c.Request().Context()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// respond writes the API's cart result: respond(c)(api.Cart(ctx)).
func (h *httpHandlers) respond(c echo.Context) func(cart.Cart, error) error {
	return func(cart cart.Cart, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, cart)
	}
}
