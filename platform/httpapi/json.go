package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// jsonContentType is the Content-Type of every JSON response: one slice
// shared by all, like the security headers' (see securityHeaderValues).
var (
	contentTypeName = http.CanonicalHeaderKey(echo.HeaderContentType)
	jsonContentType = []string{echo.MIMEApplicationJSON}
)

// JSON writes v as the response's JSON body with status code, as echo's
// c.JSON does (indented with ?pretty or in debug mode), without parsing a
// query string that is not there and without a header value of its own:
// on a hot read, each costs an allocation.
func JSON(c echo.Context, code int, v any) error {
	if h := c.Response().Header(); h.Get(echo.HeaderContentType) == "" {
		h[contentTypeName] = jsonContentType[:1:1]
	}
	if c.Request().URL.RawQuery == "" && !c.Echo().Debug {
		return c.JSONPretty(code, v, "")
	}
	return c.JSON(code, v)
}
