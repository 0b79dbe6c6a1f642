// Package rest is the notifications module's HTTP transport: the admin's
// view of the mailbox. Handlers return errors; the HTTP edge turns them into
// problem documents.
package rest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

type handlers struct{ svc *domain.Service }

// Register adds the routes. They need the admin role here and again in the
// service.
func Register(r *httpapi.Router, svc *domain.Service) {
	h := &handlers{svc: svc}
	admin := httpapi.RequireRole(auth.RoleAdmin)
	r.GET("/api/notifications/mailbox", h.mailbox, admin).Doc(httpapi.Op{
		ID: "listMailbox", Summary: "The mailbox: every message the shop sent or keeps, oldest first", Access: httpapi.AccessAdmin, Input: mailboxInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: mailboxResponse{}}},
	})
	r.GET("/api/notifications/mailbox/:id", h.message, admin).Doc(httpapi.Op{
		ID: "getMailboxMessage", Summary: "One message", Access: httpapi.AccessAdmin, Input: messageInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: messageResponse{}}},
	})
}

type mailboxInput struct {
	Recipient string `query:"recipient" format:"uuid" description:"one recipient's messages"`
	After     string `query:"after" description:"next_cursor of the previous page"`
	Limit     int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type messageInput struct {
	ID string `path:"id"`
}

type messageResponse struct {
	ID              string     `json:"id"`
	EventID         string     `json:"event_id"`
	RecipientUserID string     `json:"recipient_user_id"`
	RecipientEmail  string     `json:"recipient_email"`
	Kind            string     `json:"kind" enum:"welcome,order_confirmed,order_failed,order_shipped"`
	Subject         string     `json:"subject"`
	Body            string     `json:"body"`
	CreatedAt       time.Time  `json:"created_at"`
	Status          string     `json:"status" enum:"kept,sent,failed" description:"kept: in the mailbox only (no mail server configured); sent: accepted by the mail server at sent_at; failed: refused for good by the mail server (see failure), never retried"`
	SentAt          *time.Time `json:"sent_at"` // null unless sent
	Failure         *string    `json:"failure" description:"the mail server's reply that refused the message for good; null unless failed"`
}

// mailboxResponse always carries next_cursor; empty on the last page.
type mailboxResponse struct {
	Items      []messageResponse `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

func toMessageResponse(m domain.Message) messageResponse {
	r := messageResponse{
		ID: m.ID(), EventID: m.EventID(), RecipientUserID: m.RecipientUserID(), RecipientEmail: m.RecipientEmail(),
		Kind: m.Kind(), Subject: m.Subject(), Body: m.Body(), CreatedAt: m.CreatedAt(), Status: m.Status(),
	}
	if at := m.SentAt(); !at.IsZero() {
		r.SentAt = &at
	}
	if f := m.Failure(); f != "" {
		r.Failure = &f
	}
	return r
}

func toMailboxResponse(p domain.MailboxPage) mailboxResponse {
	out := mailboxResponse{Items: make([]messageResponse, len(p.Items)), NextCursor: p.NextCursor}
	for i, m := range p.Items {
		out.Items[i] = toMessageResponse(m)
	}
	return out
}

func (h *handlers) mailbox(c echo.Context) error {
	q, err := mailboxQuery(c)
	if err != nil {
		return err
	}
	page, err := h.svc.Mailbox(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toMailboxResponse(page))
}

// mailboxQuery reads the query string; the service checks the values.
func mailboxQuery(c echo.Context) (domain.MailboxQuery, error) {
	q := domain.MailboxQuery{RecipientUserID: c.QueryParam("recipient"), After: c.QueryParam("after")}
	s := c.QueryParam("limit")
	if s == "" {
		return q, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return q, errs.Invalid(errs.Field("limit", "type", "must be an integer"))
	case n < 1 || n > domain.MaxLimit:
		// 0 means "default" to the service; in a URL it is a mistake.
		return q, errs.Invalid(errs.Field("limit", "range", "must be between 1 and 100"))
	}
	q.Limit = n
	return q, nil
}

func (h *handlers) message(c echo.Context) error {
	m, err := h.svc.Message(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toMessageResponse(m))
}
