package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/errs"
)

// crossOrigin refuses cross-site request forgery: an unsafe request (POST,
// PUT, PATCH, DELETE) that a browser sends from another origin on its own,
// as an auto-submitting form does, carrying the session cookie. SameSite=Lax
// does not stop it from a page of the same site (another port of the same
// host, a sibling subdomain), and a text/plain form needs no preflight.
//
// The check is the standard library's: Sec-Fetch-Site must be same-origin
// or none, or, from browsers that do not send it, Origin must match Host.
// Requests with neither header are not from a browser and pass. So do the
// origins of SHOP_HTTP_CORS_ORIGINS, and requests with an Authorization
// header: a form cannot set one, a cross-origin fetch needs a preflight to
// send one, and with one the cookie is not read (see SessionToken).
// Login and logout are covered like every other route (login CSRF would sign
// the victim in as the attacker).
func crossOrigin(trusted []string, log *slog.Logger) echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := cop.AddTrustedOrigin(o); err != nil { // config.Validate refuses these
			log.Error("origin not trusted for unsafe requests", slog.String("origin", o), slog.String("error", err.Error()))
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Header.Get(echo.HeaderAuthorization) != "" {
				return next(c)
			}
			if err := cop.Check(r); err != nil {
				return errs.Wrap(errs.KindForbidden, err,
					"cross-origin request refused: a %s must come from the shop's own pages, or carry an Authorization header", r.Method)
			}
			return next(c)
		}
	}
}
