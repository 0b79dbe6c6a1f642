// Package rest is the notifications module's HTTP transport: echo handlers that
// call the public API, the same one remote callers get, and serve its DTOs.
package rest

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// The HTTP transport of the mailbox. Handlers call the API, the same one
// remote callers get, and serve its DTOs; they return errors, which the
// HTTP edge turns into problem documents. Both routes need a session here
// and again in the API, which gives customers their own messages only.

type httpHandlers struct{ api notifications.API }

func Register(r *httpapi.Router, api notifications.API) {
	h := &httpHandlers{api: api}
	r.GET("/api/notifications/mailbox", h.mailbox, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "listMailbox", Summary: "Messages, oldest first: the caller's own; admins see everyone's", Access: httpapi.AccessUser, Input: mailboxInput{},
		Description: "A customer gets their own messages whatever recipient they ask for; an admin gets one recipient's or every message.",
		Responses:   []httpapi.Response{{Status: http.StatusOK, Body: notifications.MailboxPage{}}},
	})
	r.GET("/api/notifications/mailbox/:id", h.message, httpapi.RequireUser).Doc(httpapi.Op{
		ID: "getMailboxMessage", Summary: "One message (another customer's message is 404)", Access: httpapi.AccessUser, Input: messageInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: notifications.Message{}}},
	})
}

type mailboxInput struct {
	Recipient string `query:"recipient" format:"uuid" description:"admins only: one recipient's messages"`
	After     string `query:"after" description:"next_cursor of the previous page"`
	Limit     int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type messageInput struct {
	ID string `path:"id"`
}

func (h *httpHandlers) mailbox(c echo.Context) error {
	q, err := mailboxQuery(c)
	if err != nil {
		return err
	}
	page, err := h.api.Mailbox(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// mailboxQuery reads the query string; the API checks the values.
func mailboxQuery(c echo.Context) (notifications.MailboxQuery, error) {
	q := notifications.MailboxQuery{RecipientUserID: c.QueryParam("recipient"), After: c.QueryParam("after")}
	s := c.QueryParam("limit")
	if s == "" {
		return q, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return q, errs.Invalid(errs.Field("limit", "type", "must be an integer"))
	case n < 1 || n > domain.MaxLimit:
		// 0 means "default" to the API; in a URL it is a mistake.
		return q, errs.Invalid(errs.Field("limit", "range", "must be between 1 and 100"))
	}
	q.Limit = n
	return q, nil
}

func (h *httpHandlers) message(c echo.Context) error {
	m, err := h.api.Message(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}
