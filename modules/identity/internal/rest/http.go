// Package rest is the identity module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Identity's HTTP edge: the /api/identity routes, their request bodies and
// the session cookie. Handlers call the API, the same one remote callers
// get, and serve its User and Session.

type httpHandlers struct {
	api    identity.API
	r      *httpapi.Router
	secure bool // set the cookie's Secure flag (always in production)
}

// Register adds the identity routes to r.
func Register(r *httpapi.Router, api identity.API, secureCookie bool) {
	h := &httpHandlers{api: api, r: r, secure: secureCookie}
	r.POST("/api/identity/register", h.register).Doc(httpapi.Op{
		ID: "registerCustomer", Summary: "Create a customer account", Access: httpapi.AccessPublic, Input: registerRequest{},
		Description: "The password has 8 to 128 characters. A new address and one that has an account already get the same " +
			"answer, 202 with the normalised email, so that nobody can probe which addresses have accounts: a new address " +
			"has its account ready (sign in with it); the owner of a taken one is told by email instead, and nothing changes. " +
			"Sign-ups are limited per client address (429 with Retry-After).",
		Responses: []httpapi.Response{{Status: http.StatusAccepted, Body: registration{}}},
		Errors:    []int{http.StatusTooManyRequests},
	})
	r.POST("/api/identity/login", h.login).Doc(httpapi.Op{
		ID: "login", Summary: "Sign in: a session token, also set as an HttpOnly cookie", Access: httpapi.AccessPublic, Input: loginRequest{},
		Description: "Failed attempts are limited per account and client address, and per client address (429 with Retry-After); " +
			"successful ones do not count. The session cookie sent along is revoked (the cookie is rotated); a bearer token " +
			"sent along stays valid. A session ends when unused for the idle timeout, and at expires_at however busy.",
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: identity.Session{}}},
		Errors:    []int{http.StatusUnauthorized, http.StatusTooManyRequests},
	})
	// Logout needs no valid session: signing out of an expired or revoked
	// one must still clear the cookie, and a retry must not fail.
	r.POST("/api/identity/logout", h.logout).Doc(httpapi.Op{
		ID: "logout", Summary: "Sign out: revoke the presented session", Access: httpapi.AccessPublic,
		Description: "Revokes the session of the bearer token or, without one, of the cookie, and then clears the cookie. " +
			"Without either it does nothing (and sets no cookie).",
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.GET("/api/identity/me", h.me, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "getCurrentUser", Summary: "The signed-in user", Access: httpapi.AccessUser,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: identity.User{}}},
	})
	r.DELETE("/api/identity/sessions", h.signOutEverywhere, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "signOutEverywhere", Summary: "Sign out everywhere: revoke every session of the signed-in user", Access: httpapi.AccessUser,
		Description: "The current session ends too, and the cookie is cleared.",
		Responses:   []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.PUT("/api/identity/password", h.changePassword, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "changePassword", Summary: "Change the signed-in user's password", Access: httpapi.AccessUser, Input: passwordRequest{},
		Description: "Every other session of the user is revoked; the current one stays. A wrong current password is 422 " +
			"naming current_password and counts as a failed login (429 with Retry-After past the limit).",
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
		Errors:    []int{http.StatusTooManyRequests},
	})
	admin := httpapi.RequireRole(auth.RoleAdmin)
	r.DELETE("/api/identity/users/:id/sessions", h.revokeSessions, admin).Doc(httpapi.Op{
		ID: "revokeUserSessions", Summary: "Revoke every session of a user", Access: httpapi.AccessAdmin, Input: userInput{},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
	})
	r.PUT("/api/identity/users/:id/role", h.setRole, admin).Doc(httpapi.Op{
		ID: "setUserRole", Summary: "Give a user a role (customer or admin)", Access: httpapi.AccessAdmin, Input: roleInput{},
		Description: "A change of role revokes every session of the user. 409 when admins name themselves: " +
			"an admin's own role is changed by another admin.",
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: identity.User{}}},
		Errors:    []int{http.StatusConflict},
	})
}

type registerRequest struct {
	Email    string `json:"email" validate:"required"`
	Password string `json:"password" validate:"required" minLength:"8" maxLength:"128"`
	Name     string `json:"name" validate:"required"`
}

// registration is the one answer to a valid sign-up, whether the address
// was new or not.
type registration struct {
	Email   string `json:"email" description:"the address as stored: trimmed, lower case"`
	Message string `json:"message"`
}

const registrationMessage = "If this address is new, the account is ready: sign in with it. " +
	"If it has an account already, its owner has been told by email, and nothing changed."

type passwordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=1024"`
	NewPassword     string `json:"new_password" validate:"required" minLength:"8" maxLength:"128"`
}

type userInput struct {
	ID string `path:"id" format:"uuid"`
}

type roleRequest struct {
	Role auth.Role `json:"role" validate:"required" enum:"customer,admin"`
}

type roleInput struct {
	userInput
	roleRequest
}

// loginRequest bounds the fields only to keep junk out of the rate-limit
// table; the real rules are the registration ones.
type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

// register answers a new address and a taken one alike (see the route's
// description): the conflict trusted callers see is not told to the web.
func (h *httpHandlers) register(c echo.Context) error {
	var req registerRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	_, err := h.api.Register(c.Request().Context(), identity.RegisterInput{
		Email: req.Email, Password: req.Password, Name: req.Name, ClientIP: c.RealIP(),
	})
	if err != nil && !errs.Is(err, errs.KindConflict) {
		return err
	}
	return c.JSON(http.StatusAccepted, registration{Email: domain.NormalizeEmail(req.Email), Message: registrationMessage})
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
	s, err := h.api.Login(c.Request().Context(), identity.LoginInput{
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

// logout revokes the presented token: the bearer token, else the cookie's.
// Without a token it changes nothing, cookie included: a cross-site form
// carries no cookie (SameSite=Lax), and must not sign the browser out. The
// cookie is cleared only when it was what signed out.
func (h *httpHandlers) logout(c echo.Context) error {
	token := httpapi.SessionToken(c.Request(), h.r.CookieName())
	if token == "" {
		return c.NoContent(http.StatusNoContent)
	}
	if err := h.api.Logout(c.Request().Context(), token); err != nil {
		return err
	}
	if ck, err := c.Cookie(h.r.CookieName()); err == nil && ck.Value == token {
		h.clearCookie(c)
	}
	return c.NoContent(http.StatusNoContent)
}

// signOutEverywhere revokes every session of the caller, this one included.
func (h *httpHandlers) signOutEverywhere(c echo.Context) error {
	p, err := auth.RequireUser(c.Request().Context())
	if err != nil {
		return err
	}
	if err := h.api.RevokeSessions(c.Request().Context(), p.UserID); err != nil {
		return err
	}
	h.clearCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// changePassword keeps the session the change is made in.
func (h *httpHandlers) changePassword(c echo.Context) error {
	p, err := auth.RequireUser(c.Request().Context())
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	err = h.api.ChangePassword(c.Request().Context(), identity.ChangePasswordInput{
		UserID: p.UserID, SessionID: p.SessionID, CurrentPassword: req.CurrentPassword, NewPassword: req.NewPassword,
		ClientIP: c.RealIP(),
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *httpHandlers) revokeSessions(c echo.Context) error {
	if err := h.api.RevokeSessions(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *httpHandlers) setRole(c echo.Context) error {
	p, err := auth.RequireUser(c.Request().Context())
	if err != nil {
		return err
	}
	var req roleRequest
	if err := h.r.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.api.SetRole(c.Request().Context(), identity.SetRoleInput{ActorID: p.UserID, UserID: c.Param("id"), Role: req.Role})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
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

func (h *httpHandlers) clearCookie(c echo.Context) { c.SetCookie(h.cookie("", time.Time{}, -1)) }

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
