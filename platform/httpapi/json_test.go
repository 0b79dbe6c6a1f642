package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/httpapi"
)

// httpapi.JSON answers as echo's c.JSON does: the same body, indented with
// ?pretty, the same Content-Type, which a handler's Add does not change for
// the next response.
func TestJSONAnswersAsEchoDoes(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	r := s.srv.Router("testmod")
	v := map[string]any{"id": "p-1", "tags": []string{"a", "b"}}
	r.GET("/ours", func(c echo.Context) error { return httpapi.JSON(c, http.StatusOK, v) })
	r.GET("/echos", func(c echo.Context) error { return c.JSON(http.StatusOK, v) })
	r.GET("/ours-added", func(c echo.Context) error {
		c.Response().Header().Add(echo.HeaderContentType, "text/plain")
		return httpapi.JSON(c, http.StatusCreated, v)
	})
	for _, query := range []string{"", "?pretty", "?other=1"} {
		ours, echos := s.get(t, "/ours"+query), s.get(t, "/echos"+query)
		if ours.Code != http.StatusOK || ours.Body.String() != echos.Body.String() {
			t.Errorf("%q: status %d, body %q; echo's %q", query, ours.Code, ours.Body, echos.Body)
		}
		if got, want := ours.Header().Values(echo.HeaderContentType), echos.Header().Values(echo.HeaderContentType); !slices.Equal(got, want) {
			t.Errorf("%q: Content-Type %q, echo's %q", query, got, want)
		}
	}
	if got := s.get(t, "/ours-added").Header().Values(echo.HeaderContentType); !slices.Equal(got, []string{"text/plain"}) {
		t.Errorf("Content-Type set by the handler = %q, want it kept", got)
	}
	s.get(t, "/ours-added")
	if got := s.get(t, "/ours").Header().Values(echo.HeaderContentType); !slices.Equal(got, []string{echo.MIMEApplicationJSON}) {
		t.Errorf("Content-Type after another response's Add = %q", got)
	}
}
