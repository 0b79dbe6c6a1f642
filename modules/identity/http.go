package identity

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Identity's HTTP edge: the /api/identity routes, their request bodies and
// the session cookie. Handlers call the API, the same one remote callers
// get, and serve its User and Session.

type httpHandlers struct {
	api    API
	r      *httpapi.Router
	secure bool // set the cookie's Secure flag (always in production)
}

// registerRoutes adds the identity routes to r.
func registerRoutes(r *httpapi.Router, api API, secureCookie bool) {
	h := &httpHandlers{api: api, r: r, secure: secureCookie}
	r.POST("/api/identity/register", h.register).Doc(httpapi.Op{
		ID: "registerCustomer", Summary: "Create a customer account", Access: httpapi.AccessPublic, Input: registerRequest{},
		Description: "Email must be unique (409 otherwise); the password has 8 to 128 characters.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: User{}}},
		Errors:      []int{http.StatusConflict},
	})
	r.POST("/api/identity/login", h.login).Doc(httpapi.Op{
		ID: "login", Summary: "Sign in: a session token, also set as an HttpOnly cookie", Access: httpapi.AccessPublic, Input: loginRequest{},
		Description: "Failed attempts are limited per account and client address (429 with Retry-After). " +
			"The session cookie sent along is revoked (the cookie is rotated); a bearer token sent along stays valid.",
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: Session{}}},
		Errors:    []int{http.StatusUnauthorized, http.StatusTooManyRequests},
	})
	// Logout needs no valid session: signing out of an expired or revoked
	// one must still clear the cookie, and a retry must not fail.
	r.POST("/api/identity/logout", h.logout).Doc(httpapi.Op{
		ID: "logout", Summary: "Sign out: revoke the presented session and clear the cookie", Access: httpapi.AccessPublic,
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.GET("/api/identity/me", h.me, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "getCurrentUser", Summary: "The signed-in user", Access: httpapi.AccessUser,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: User{}}},
	})
}

type registerRequest struct {
	Email    string `json:"email" validate:"required"`
	Password string `json:"password" validate:"required" minLength:"8" maxLength:"128"`
	Name     string `json:"name" validate:"required"`
}

// loginRequest bounds the fields only to keep junk out of the rate-limit
// table; the real rules are the registration ones.
type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

func (h *httpHandlers) register(c echo.Context) error {
	var req registerRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.api.Register(c.Request().Context(), RegisterInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

// login opens a session and rotates the cookie's: the session cookie the
// browser sent, if any, is revoked (session fixation). A bearer token sent
// along is left alone: it belongs to an API client, which ends it with
// logout, and signing in on a web page must not end it behind its back.
func (h *httpHandlers) login(c echo.Context) error {
	var req loginRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	var previous string
	if ck, err := c.Cookie(h.r.CookieName()); err == nil {
		previous = ck.Value
	}
	s, err := h.api.Login(c.Request().Context(), LoginInput{
		Email:         req.Email,
		Password:      req.Password,
		ClientIP:      c.RealIP(),
		PreviousToken: previous,
	})
	if err != nil {
		return err
	}
	c.SetCookie(h.cookie(s.Token, s.ExpiresAt, 0))
	return c.JSON(http.StatusOK, s)
}

// logout revokes the presented token, if any, and always clears the cookie.
func (h *httpHandlers) logout(c echo.Context) error {
	token := httpapi.SessionToken(c.Request(), h.r.CookieName())
	if err := h.api.Logout(c.Request().Context(), token); err != nil {
		return err
	}
	c.SetCookie(h.cookie("", time.Time{}, -1))
	return c.NoContent(http.StatusNoContent)
}

func (h *httpHandlers) me(c echo.Context) error {
	p, err := auth.RequireUser(c.Request().Context())
	if err != nil {
		return err
	}
	u, err := h.api.User(c.Request().Context(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// cookie is the session cookie; maxAge -1 deletes it.
func (h *httpHandlers) cookie(token string, expires time.Time, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     h.r.CookieName(),
		Value:    token,
		Path:     "/",
		Expires:  expires,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	}
}
