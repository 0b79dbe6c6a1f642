package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/logging"
)

// Router registers one module's routes. Each route is tagged with the module,
// so logs and metrics say which module served it.
type Router struct {
	e         *echo.Echo
	module    string
	validator *Validator
	cookie    string
	docs      *docs
	// forward, when set, serves every route in place of its handler: the
	// module is hosted by another process (see Server.ForwardRouter).
	forward echo.HandlerFunc
}

// Module names the module this router registers for.
func (r *Router) Module() string { return r.module }

// CookieName is the session cookie's name.
func (r *Router) CookieName() string { return r.cookie }

// Bind decodes and validates a JSON request body (see the package-level Bind).
func (r *Router) Bind(c echo.Context, dst any) error { return Bind(c, r.validator, dst) }

// Add registers a route. Document it with Doc on the returned route: the
// OpenAPI description is built from those, and a test fails on a route
// without one. On a forwarding router, h and m are not used: the request
// goes to the module's process, which runs them.
func (r *Router) Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	if r.forward != nil {
		h, m = r.forward, nil
	}
	module := r.module
	tag := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// In place, in the request's log fields (see Server.begin): no
			// copy of the request.
			if ctx, inPlace := logging.SetModule(c.Request().Context(), module); !inPlace {
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
	// Put together here, once: echo would wrap h in m on every request.
	r.e.Add(method, path, chainOf(h, append([]echo.MiddlewareFunc{tag}, m...)...))
	return r.docs.add(module, method, path, r.forward != nil)
}

// GET registers a GET route.
func (r *Router) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	return r.Add(http.MethodGet, path, h, m...)
}

// POST registers a POST route.
func (r *Router) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	return r.Add(http.MethodPost, path, h, m...)
}

// PATCH registers a PATCH route.
func (r *Router) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	return r.Add(http.MethodPatch, path, h, m...)
}

// PUT registers a PUT route.
func (r *Router) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	return r.Add(http.MethodPut, path, h, m...)
}

// DELETE registers a DELETE route.
func (r *Router) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *Route {
	return r.Add(http.MethodDelete, path, h, m...)
}
