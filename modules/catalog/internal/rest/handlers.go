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

	r.GET("/api/products", h.listProducts)
	r.GET("/api/products/sku/:sku", h.productBySKU)
	r.GET("/api/products/:id", h.product)
	r.POST("/api/products", h.createProduct, admin)
	r.PATCH("/api/products/:id", h.updateProduct, admin)
	r.DELETE("/api/products/:id", h.deactivateProduct, admin)

	r.GET("/api/categories", h.categories)
	r.POST("/api/categories", h.createCategory, admin)
	r.PATCH("/api/categories/:id", h.updateCategory, admin)
	r.DELETE("/api/categories/:id", h.deactivateCategory, admin)

	r.GET("/api/deals", h.deals)
	r.POST("/api/deals", h.createDeal, admin)
	r.PATCH("/api/deals/:id", h.updateDeal, admin)
	r.DELETE("/api/deals/:id", h.deactivateDeal, admin)
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
