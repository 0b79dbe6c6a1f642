// Package rest is the catalog's HTTP transport: request structs and echo
// handlers that call the public API, the same one remote callers get, and
// serve its DTOs.
package rest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Handlers return errors; the HTTP edge turns them into problem documents.

// Request structs check presence and JSON types only: the rules (lengths,
// ranges, patterns) belong to the domain constructors, which report every
// broken field at once.

type createProductRequest struct {
	SKU         string `json:"sku" validate:"required"`
	Name        string `json:"name" validate:"required"`
	Description string `json:"description"`
	PriceMinor  *int64 `json:"price_minor" validate:"required"`
	Currency    string `json:"currency" validate:"required"`
	CategoryID  string `json:"category_id"`
}

type updateProductRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	PriceMinor  *int64  `json:"price_minor"`
	Currency    *string `json:"currency"`
	CategoryID  *string `json:"category_id"`
	Active      *bool   `json:"active"`
}

type createCategoryRequest struct {
	Slug string `json:"slug" validate:"required"`
	Name string `json:"name" validate:"required"`
}

type updateCategoryRequest struct {
	Slug   *string `json:"slug"`
	Name   *string `json:"name"`
	Active *bool   `json:"active"`
}

type createDealRequest struct {
	Name       string    `json:"name" validate:"required"`
	Kind       string    `json:"kind" validate:"required"`
	Value      *int64    `json:"value" validate:"required"`
	Currency   string    `json:"currency"`
	ProductID  string    `json:"product_id"`
	CategoryID string    `json:"category_id"`
	StartsAt   timestamp `json:"starts_at" validate:"required"`
	EndsAt     timestamp `json:"ends_at" validate:"required"`
}

type updateDealRequest struct {
	Name     *string    `json:"name"`
	Value    *int64     `json:"value"`
	StartsAt *timestamp `json:"starts_at"`
	EndsAt   *timestamp `json:"ends_at"`
	Active   *bool      `json:"active"`
}

func toNewProduct(r createProductRequest) catalog.NewProduct {
	return catalog.NewProduct{SKU: r.SKU, Name: r.Name, Description: r.Description,
		CategoryID: r.CategoryID, Currency: r.Currency, PriceMinor: *r.PriceMinor}
}

func toProductUpdate(r updateProductRequest) catalog.ProductUpdate {
	return catalog.ProductUpdate{Name: r.Name, Description: r.Description, CategoryID: r.CategoryID,
		Currency: r.Currency, PriceMinor: r.PriceMinor, Active: r.Active}
}

func toCategoryUpdate(r updateCategoryRequest) catalog.CategoryUpdate {
	return catalog.CategoryUpdate(r)
}

func toNewDeal(r createDealRequest) catalog.NewDeal {
	return catalog.NewDeal{Name: r.Name, Kind: r.Kind, Value: *r.Value, Currency: r.Currency,
		ProductID: r.ProductID, CategoryID: r.CategoryID, StartsAt: r.StartsAt.Time, EndsAt: r.EndsAt.Time}
}

func toDealUpdate(r updateDealRequest) catalog.DealUpdate {
	return catalog.DealUpdate{Name: r.Name, Value: r.Value, StartsAt: r.StartsAt.timePtr(), EndsAt: r.EndsAt.timePtr(), Active: r.Active}
}

// Every list has the same envelope: items, and next_cursor, empty on the
// last page. Categories and deals come in one page.

type categoryList struct {
	Items      []catalog.Category `json:"items"`
	NextCursor string             `json:"next_cursor" description:"always empty: every category comes in one page"`
}

type dealList struct {
	Items      []catalog.Deal `json:"items"`
	NextCursor string         `json:"next_cursor" description:"always empty: every deal comes in one page"`
}

// timestamp is an RFC 3339 time in a request body. time.Time reports a bad
// value as a parse error, which the edge can only call a malformed body
// (400); reporting it as a type error lets the edge name the field (422),
// like any other value of the wrong type.
type timestamp struct{ time.Time }

func (ts *timestamp) UnmarshalJSON(b []byte) error {
	if err := ts.Time.UnmarshalJSON(b); err != nil {
		return &json.UnmarshalTypeError{Value: "string " + string(b), Type: reflect.TypeFor[time.Time]()}
	}
	return nil
}

// timePtr maps an absent timestamp to an unchanged field.
func (ts *timestamp) timePtr() *time.Time {
	if ts == nil {
		return nil
	}
	return &ts.Time
}

type httpHandlers struct {
	r   *httpapi.Router
	api catalog.API
}

// Register adds the catalog's routes. Writes need the admin role here
// and again in the API.
func Register(r *httpapi.Router, api catalog.API) {
	h := &httpHandlers{r: r, api: api}
	admin := httpapi.RequireRole(auth.RoleAdmin)

	product := []httpapi.Response{{Status: http.StatusOK, Body: catalog.Product{}}}
	r.GET("/api/products", h.listProducts).Doc(httpapi.Op{
		ID: "listProducts", Summary: "Products in creation order, one page at a time", Access: httpapi.AccessOptions, Input: productListQuery{},
		Description: "Inactive products (and products of inactive categories) exist for admins only.",
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: catalog.ProductPage{}}},
	})
	r.GET("/api/products/sku/:sku", h.productBySKU).Doc(httpapi.Op{
		ID: "getProductBySKU", Summary: "One product by SKU (case-insensitive)", Access: httpapi.AccessOptions, Input: bySKU{}, Responses: product,
	})
	r.GET("/api/products/:id", h.product).Doc(httpapi.Op{
		ID: "getProduct", Summary: "One product with the price a customer pays now", Access: httpapi.AccessOptions, Input: byID{}, Responses: product,
	})
	r.POST("/api/products", h.createProduct, admin).Doc(httpapi.Op{
		ID: "createProduct", Summary: "Create a product", Access: httpapi.AccessAdmin, Input: createProductRequest{},
		Description: "409 when the SKU is taken.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: catalog.Product{}}},
		Errors:      []int{http.StatusConflict},
	})
	r.PATCH("/api/products/:id", h.updateProduct, admin).Doc(httpapi.Op{
		ID: "updateProduct", Summary: "Change a product's given fields", Access: httpapi.AccessAdmin, Input: updateProductInput{}, Responses: product,
	})
	r.DELETE("/api/products/:id", h.deactivateProduct, admin).Doc(httpapi.Op{
		ID: "deactivateProduct", Summary: "Hide a product from customers", Access: httpapi.AccessAdmin, Input: byID{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})

	r.GET("/api/categories", h.categories).Doc(httpapi.Op{
		ID: "listCategories", Summary: "Categories in creation order", Access: httpapi.AccessOptions, Input: inactiveQuery{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: categoryList{}}},
	})
	r.POST("/api/categories", h.createCategory, admin).Doc(httpapi.Op{
		ID: "createCategory", Summary: "Create a category", Access: httpapi.AccessAdmin, Input: createCategoryRequest{},
		Description: "409 when the slug is taken.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: catalog.Category{}}},
		Errors:      []int{http.StatusConflict},
	})
	r.PATCH("/api/categories/:id", h.updateCategory, admin).Doc(httpapi.Op{
		ID: "updateCategory", Summary: "Change a category's given fields", Access: httpapi.AccessAdmin, Input: updateCategoryInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: catalog.Category{}}},
		Errors:    []int{http.StatusConflict},
	})
	r.DELETE("/api/categories/:id", h.deactivateCategory, admin).Doc(httpapi.Op{
		ID: "deactivateCategory", Summary: "Hide a category and its products", Access: httpapi.AccessAdmin, Input: byID{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})

	r.GET("/api/deals", h.deals).Doc(httpapi.Op{
		ID: "listDeals", Summary: "Deals: running ones for customers; all active ones (or all) for admins", Access: httpapi.AccessOptions, Input: inactiveQuery{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: dealList{}}},
	})
	r.POST("/api/deals", h.createDeal, admin).Doc(httpapi.Op{
		ID: "createDeal", Summary: "Create a time-boxed deal on a product or a category", Access: httpapi.AccessAdmin, Input: createDealRequest{},
		Responses: []httpapi.Response{{Status: http.StatusCreated, Body: catalog.Deal{}}},
	})
	r.PATCH("/api/deals/:id", h.updateDeal, admin).Doc(httpapi.Op{
		ID: "updateDeal", Summary: "Change a deal's given fields", Access: httpapi.AccessAdmin, Input: updateDealInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: catalog.Deal{}}},
	})
	r.DELETE("/api/deals/:id", h.deactivateDeal, admin).Doc(httpapi.Op{
		ID: "deactivateDeal", Summary: "Stop a deal from applying", Access: httpapi.AccessAdmin, Input: byID{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
}

// Inputs as the API description shows them: path and query parameters
// next to the JSON bodies the handlers bind.

type byID struct {
	ID string `path:"id" format:"uuid"`
}

type bySKU struct {
	SKU string `path:"sku"`
}

type inactiveQuery struct {
	IncludeInactive bool `query:"include_inactive" description:"admins only"`
}

type productListQuery struct {
	Category        string `query:"category" format:"uuid"`
	Q               string `query:"q" maxLength:"200" description:"words that must all prefix-match name, description or SKU"`
	After           string `query:"after" description:"next_cursor of the previous page"`
	Limit           int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	IncludeInactive bool   `query:"include_inactive" description:"admins only"`
}

type updateProductInput struct {
	byID
	updateProductRequest
}

type updateCategoryInput struct {
	byID
	updateCategoryRequest
}

type updateDealInput struct {
	byID
	updateDealRequest
}

func (h *httpHandlers) listProducts(c echo.Context) error {
	q, err := productQuery(c)
	if err != nil {
		return err
	}
	page, err := h.api.ListProducts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, page)
}

// productQuery reads the query string; the API checks the values.
func productQuery(c echo.Context) (catalog.ProductQuery, error) {
	var f errs.Fields
	q := catalog.ProductQuery{
		CategoryID: c.QueryParam("category"),
		Search:     c.QueryParam("q"),
		After:      c.QueryParam("after"),
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			f.Add("limit", "type", "must be an integer")
		case n < 1 || n > domain.MaxLimit:
			// 0 means "default" to the API; in a URL it is a mistake.
			f.Add("limit", "range", "must be between 1 and 100")
		}
		q.Limit = n
	}
	q.IncludeInactive = includeInactive(c, &f)
	return q, f.Err()
}

func includeInactive(c echo.Context, f *errs.Fields) bool {
	s := c.QueryParam("include_inactive")
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		f.Add("include_inactive", "type", "must be a boolean")
	}
	return b
}

func (h *httpHandlers) product(c echo.Context) error {
	p, err := h.api.Product(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, p)
}

func (h *httpHandlers) productBySKU(c echo.Context) error {
	p, err := h.api.ProductBySKU(c.Request().Context(), c.Param("sku"))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, p)
}

func (h *httpHandlers) createProduct(c echo.Context) error {
	var req createProductRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.api.CreateProduct(c.Request().Context(), toNewProduct(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusCreated, p)
}

func (h *httpHandlers) updateProduct(c echo.Context) error {
	var req updateProductRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.api.UpdateProduct(c.Request().Context(), c.Param("id"), toProductUpdate(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, p)
}

func (h *httpHandlers) deactivateProduct(c echo.Context) error {
	if err := h.api.DeactivateProduct(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *httpHandlers) categories(c echo.Context) error {
	var f errs.Fields
	all := includeInactive(c, &f)
	if err := f.Err(); err != nil {
		return err
	}
	cs, err := h.api.Categories(c.Request().Context(), all)
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, categoryList{Items: cs})
}

func (h *httpHandlers) createCategory(c echo.Context) error {
	var req createCategoryRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	cat, err := h.api.CreateCategory(c.Request().Context(), catalog.NewCategory(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusCreated, cat)
}

func (h *httpHandlers) updateCategory(c echo.Context) error {
	var req updateCategoryRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	cat, err := h.api.UpdateCategory(c.Request().Context(), c.Param("id"), toCategoryUpdate(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, cat)
}

func (h *httpHandlers) deactivateCategory(c echo.Context) error {
	if err := h.api.DeactivateCategory(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *httpHandlers) deals(c echo.Context) error {
	var f errs.Fields
	all := includeInactive(c, &f)
	if err := f.Err(); err != nil {
		return err
	}
	ds, err := h.api.Deals(c.Request().Context(), all)
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, dealList{Items: ds})
}

func (h *httpHandlers) createDeal(c echo.Context) error {
	var req createDealRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	d, err := h.api.CreateDeal(c.Request().Context(), toNewDeal(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusCreated, d)
}

func (h *httpHandlers) updateDeal(c echo.Context) error {
	var req updateDealRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	d, err := h.api.UpdateDeal(c.Request().Context(), c.Param("id"), toDealUpdate(req))
	if err != nil {
		return err
	}
	return httpapi.JSON(c, http.StatusOK, d)
}

func (h *httpHandlers) deactivateDeal(c echo.Context) error {
	if err := h.api.DeactivateDeal(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
