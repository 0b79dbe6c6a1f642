package rest

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct {
	r   *httpapi.Router
	svc *domain.Service
}

// Register adds the catalog's routes. Writes need the admin role here and
// again in the service.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{r: r, svc: svc}
	admin := httpapi.RequireRole(auth.RoleAdmin)

	product := []httpapi.Response{{Status: http.StatusOK, Body: productResponse{}}}
	r.GET("/api/products", h.listProducts).Doc(httpapi.Op{
		Summary: "Products in creation order, one page at a time", Access: httpapi.AccessOptions, Input: productListQuery{},
		Description: "Inactive products (and products of inactive categories) exist for admins only.",
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: productPageResponse{}}},
	})
	r.GET("/api/products/sku/:sku", h.productBySKU).Doc(httpapi.Op{
		Summary: "One product by SKU (case-insensitive)", Access: httpapi.AccessOptions, Input: bySKU{}, Responses: product,
	})
	r.GET("/api/products/:id", h.product).Doc(httpapi.Op{
		Summary: "One product with the price a customer pays now", Access: httpapi.AccessOptions, Input: byID{}, Responses: product,
	})
	r.POST("/api/products", h.createProduct, admin).Doc(httpapi.Op{
		Summary: "Create a product", Access: httpapi.AccessAdmin, Input: createProductRequest{},
		Description: "409 when the SKU is taken.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: productResponse{}}},
	})
	r.PATCH("/api/products/:id", h.updateProduct, admin).Doc(httpapi.Op{
		Summary: "Change a product's given fields", Access: httpapi.AccessAdmin, Input: updateProductInput{}, Responses: product,
	})
	r.DELETE("/api/products/:id", h.deactivateProduct, admin).Doc(httpapi.Op{
		Summary: "Hide a product from customers", Access: httpapi.AccessAdmin, Input: byID{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})

	r.GET("/api/categories", h.categories).Doc(httpapi.Op{
		Summary: "Categories in creation order", Access: httpapi.AccessOptions, Input: inactiveQuery{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: categoryListResponse{}}},
	})
	r.POST("/api/categories", h.createCategory, admin).Doc(httpapi.Op{
		Summary: "Create a category", Access: httpapi.AccessAdmin, Input: createCategoryRequest{},
		Description: "409 when the slug is taken.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: categoryResponse{}}},
	})
	r.PATCH("/api/categories/:id", h.updateCategory, admin).Doc(httpapi.Op{
		Summary: "Change a category's given fields", Access: httpapi.AccessAdmin, Input: updateCategoryInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: categoryResponse{}}},
	})
	r.DELETE("/api/categories/:id", h.deactivateCategory, admin).Doc(httpapi.Op{
		Summary: "Hide a category and its products", Access: httpapi.AccessAdmin, Input: byID{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})

	r.GET("/api/deals", h.deals).Doc(httpapi.Op{
		Summary: "Deals: running ones for customers; all active ones (or all) for admins", Access: httpapi.AccessOptions, Input: inactiveQuery{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: dealListResponse{}}},
	})
	r.POST("/api/deals", h.createDeal, admin).Doc(httpapi.Op{
		Summary: "Create a time-boxed deal on a product or a category", Access: httpapi.AccessAdmin, Input: createDealRequest{},
		Responses: []httpapi.Response{{Status: http.StatusCreated, Body: dealResponse{}}},
	})
	r.PATCH("/api/deals/:id", h.updateDeal, admin).Doc(httpapi.Op{
		Summary: "Change a deal's given fields", Access: httpapi.AccessAdmin, Input: updateDealInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: dealResponse{}}},
	})
	r.DELETE("/api/deals/:id", h.deactivateDeal, admin).Doc(httpapi.Op{
		Summary: "Stop a deal from applying", Access: httpapi.AccessAdmin, Input: byID{},
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

func (h *handlers) listProducts(c echo.Context) error {
	q, err := productQuery(c)
	if err != nil {
		return err
	}
	page, err := h.svc.ListProducts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProductPageResponse(page))
}

// productQuery reads the query string; the service checks the values.
func productQuery(c echo.Context) (domain.ProductQuery, error) {
	var f errs.Fields
	q := domain.ProductQuery{
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
			// 0 means "default" to the service; in a URL it is a mistake.
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

func (h *handlers) product(c echo.Context) error {
	p, err := h.svc.Product(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProductResponse(p))
}

func (h *handlers) productBySKU(c echo.Context) error {
	p, err := h.svc.ProductBySKU(c.Request().Context(), c.Param("sku"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProductResponse(p))
}

func (h *handlers) createProduct(c echo.Context) error {
	var req createProductRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.CreateProduct(c.Request().Context(), toProductSpec(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toProductResponse(p))
}

func (h *handlers) updateProduct(c echo.Context) error {
	var req updateProductRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.UpdateProduct(c.Request().Context(), c.Param("id"), toProductChanges(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProductResponse(p))
}

func (h *handlers) deactivateProduct(c echo.Context) error {
	if err := h.svc.DeactivateProduct(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
