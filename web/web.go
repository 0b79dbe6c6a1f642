// Package web holds the storefront, admin and ops pages: static assets
// embedded in the binary and served at /. The pages talk to the JSON API only,
// like any other client.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static
var assets embed.FS

// Register serves the pages: / is the storefront, /static/ the assets.
func Register(e *echo.Echo) {
	static, _ := fs.Sub(assets, "static") // the folder is embedded above; Sub cannot fail
	files := http.FileServer(http.FS(static))
	e.GET("/", echo.WrapHandler(files))
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", files)))
}
