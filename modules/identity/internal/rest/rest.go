// Package rest is identity's HTTP edge: the /api/identity routes, their
// request and response bodies and the session cookie.
package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Options configure the HTTP edge.
type Options struct {
	SecureCookie bool // set the cookie's Secure flag (always in production)
}

type handlers struct {
	svc    *domain.Service
	r      *httpapi.Router
	secure bool
}

// Register adds the identity routes to r.
func Register(r *httpapi.Router, svc *domain.Service, opts Options) {
	h := &handlers{svc: svc, r: r, secure: opts.SecureCookie}
	r.POST("/api/identity/register", h.register).Doc(httpapi.Op{
		Summary: "Create a customer account", Access: httpapi.AccessPublic, Input: registerRequest{},
		Description: "Email must be unique (409 otherwise); the password has 8 to 128 characters.",
		Responses:   []httpapi.Response{{Status: http.StatusCreated, Body: userResponse{}}},
	})
	r.POST("/api/identity/login", h.login).Doc(httpapi.Op{
		Summary: "Sign in: a session token, also set as an HttpOnly cookie", Access: httpapi.AccessPublic, Input: loginRequest{},
		Description: "Failed attempts are limited per account and client address (429 with Retry-After). " +
			"The session cookie sent along is revoked (the cookie is rotated); a bearer token sent along stays valid.",
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: sessionResponse{}}},
	})
	// Logout needs no valid session: signing out of an expired or revoked
	// one must still clear the cookie, and a retry must not fail.
	r.POST("/api/identity/logout", h.logout).Doc(httpapi.Op{
		Summary: "Sign out: revoke the presented session and clear the cookie", Access: httpapi.AccessPublic,
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.GET("/api/identity/me", h.me, httpapi.RequireUser).Doc(httpapi.Op{
		Summary: "The signed-in user", Access: httpapi.AccessUser,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: userResponse{}}},
	})
}

type registerRequest struct {
	Email    string `json:"email" validate:"required" required:"true"`
	Password string `json:"password" validate:"required" required:"true" minLength:"8" maxLength:"128"`
	Name     string `json:"name" validate:"required" required:"true"`
}

// loginRequest bounds the fields only to keep junk out of the rate-limit
// table; the real rules are the registration ones.
type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254" required:"true" maxLength:"254"`
	Password string `json:"password" validate:"required,max=1024" required:"true" maxLength:"1024"`
}

type userResponse struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role" enum:"customer,admin"`
	CreatedAt time.Time `json:"created_at"`
}

type sessionResponse struct {
	Token     string       `json:"token"`
	ExpiresAt time.Time    `json:"expires_at"`
	User      userResponse `json:"user"`
}

func toUserResponse(u domain.User) userResponse {
	return userResponse{ID: u.ID().String(), Email: u.Email(), Name: u.Name(), Role: u.Role(), CreatedAt: u.CreatedAt()}
}

func toSessionResponse(r domain.LoginResult) sessionResponse {
	return sessionResponse{Token: r.Token, ExpiresAt: r.Session.ExpiresAt(), User: toUserResponse(r.User)}
}

func (h *handlers) register(c echo.Context) error {
	var req registerRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.svc.Register(c.Request().Context(), req.Email, req.Password, req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toUserResponse(u))
}

// login opens a session and rotates the cookie's: the session cookie the
// browser sent, if any, is revoked (session fixation). A bearer token sent
// along is left alone: it belongs to an API client, which ends it with
// logout, and signing in on a web page must not end it behind its back.
func (h *handlers) login(c echo.Context) error {
	var req loginRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	var previous string
	if ck, err := c.Cookie(h.r.CookieName()); err == nil {
		previous = ck.Value
	}
	res, err := h.svc.Login(c.Request().Context(), domain.LoginRequest{
		Email:         req.Email,
		Password:      req.Password,
		ClientIP:      c.RealIP(),
		PreviousToken: previous,
	})
	if err != nil {
		return err
	}
	c.SetCookie(h.cookie(res.Token, res.Session.ExpiresAt(), 0))
	return c.JSON(http.StatusOK, toSessionResponse(res))
}

// logout revokes the presented token, if any, and always clears the cookie.
func (h *handlers) logout(c echo.Context) error {
	token := httpapi.SessionToken(c.Request(), h.r.CookieName())
	if err := h.svc.Logout(c.Request().Context(), token); err != nil {
		return err
	}
	c.SetCookie(h.cookie("", time.Time{}, -1))
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) me(c echo.Context) error {
	p, err := auth.RequireUser(c.Request().Context())
	if err != nil {
		return err
	}
	u, err := h.svc.User(c.Request().Context(), p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// cookie is the session cookie; maxAge -1 deletes it.
func (h *handlers) cookie(token string, expires time.Time, maxAge int) *http.Cookie {
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
