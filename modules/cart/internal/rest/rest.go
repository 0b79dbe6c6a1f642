// Package rest is the cart's HTTP transport: request and response structs,
// their converters, and echo handlers that call the domain service. Every
// route needs a session; the service works on that user's own cart, so no
// route takes a user id. Handlers return errors; the HTTP edge turns them
// into problem documents.
package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct {
	r   *httpapi.Router
	svc *domain.Service
}

// Register adds the cart's routes. They need a session here and again in
// the service.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{r: r, svc: svc}
	user := httpapi.RequireUser
	cart := []httpapi.Response{{Status: http.StatusOK, Body: cartResponse{}}}
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

type moneyResponse struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type itemResponse struct {
	ProductID   string        `json:"product_id"`
	SKU         string        `json:"sku"`
	Name        string        `json:"name"`
	Quantity    int           `json:"quantity"`
	UnitPrice   moneyResponse `json:"unit_price"`
	LineTotal   moneyResponse `json:"line_total"`
	Available   int           `json:"available"`
	InStock     bool          `json:"in_stock"`
	Stale       bool          `json:"stale"`
	Unavailable bool          `json:"unavailable"`
}

// cartResponse always carries items, empty for an empty cart.
type cartResponse struct {
	UserID    string         `json:"user_id"`
	Items     []itemResponse `json:"items"`
	Total     moneyResponse  `json:"total"`
	Stale     bool           `json:"stale"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func toMoneyResponse(m domain.Money) moneyResponse {
	return moneyResponse{Amount: m.Amount(), Currency: m.Currency()}
}

func toItemResponse(l domain.Line) itemResponse {
	return itemResponse{
		ProductID: l.ProductID(), SKU: l.SKU(), Name: l.Name(), Quantity: l.Quantity(),
		UnitPrice: toMoneyResponse(l.UnitPrice()), LineTotal: toMoneyResponse(l.LineTotal()),
		Available: l.Available(), InStock: l.InStock(), Stale: l.Stale(), Unavailable: l.Unavailable(),
	}
}

func toCartResponse(c domain.Cart) cartResponse {
	lines := c.Lines()
	out := cartResponse{
		UserID: c.UserID(), Items: make([]itemResponse, len(lines)), Total: toMoneyResponse(c.Total()),
		Stale: c.Stale(), UpdatedAt: c.UpdatedAt(),
	}
	for i, l := range lines {
		out.Items[i] = toItemResponse(l)
	}
	return out
}

func (h *handlers) cart(c echo.Context) error {
	return h.respond(c)(h.svc.Cart(c.Request().Context()))
}

func (h *handlers) addItem(c echo.Context) error {
	var req addItemRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	return h.respond(c)(h.svc.AddItem(c.Request().Context(), req.ProductID, *req.Quantity))
}

func (h *handlers) setQuantity(c echo.Context) error {
	var req setQuantityRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	return h.respond(c)(h.svc.SetQuantity(c.Request().Context(), c.Param("product_id"), *req.Quantity))
}

func (h *handlers) removeItem(c echo.Context) error {
	return h.respond(c)(h.svc.RemoveItem(c.Request().Context(), c.Param("product_id")))
}

func (h *handlers) clear(c echo.Context) error {
	if err := h.svc.Clear(c.Request().Context()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// respond writes a service's cart result: respond(c)(svc.Cart(ctx)).
func (h *handlers) respond(c echo.Context) func(domain.Cart, error) error {
	return func(cart domain.Cart, err error) error {
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toCartResponse(cart))
	}
}
