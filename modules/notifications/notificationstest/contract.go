package notificationstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

// SignUp registers a new user wherever api's messages come from (identity,
// through the event pipeline) and returns them.
type SignUp func(t *testing.T) identity.User

// Contract runs the behavioural suite of notifications.API against api.
// signUp's users get a welcome message that is kept or sent. refused, when
// not nil, signs up a user whose address the mail server refuses for good
// (an SMTP 5xx reply): their welcome message must be failed, with the
// server's reply; nil skips that case (a shop without a mail server has no
// refusals). Messages arrive asynchronously, so the suite waits (up to 10
// seconds) for each sign-up's welcome message. It only reads messages of
// users it signed up, so it can run again and again on the same database.
func Contract(t *testing.T, api notifications.API, signUp, refused SignUp) {
	t.Helper()
	c := &contract{api: api, signUp: signUp, refused: refused}
	t.Run("authorization", c.authorization)
	t.Run("own messages", c.ownMessages)
	t.Run("validation", c.validation)
	t.Run("not found", c.notFound)
	t.Run("welcome message", c.welcome)
	t.Run("refused message", c.refusedMessage)
	t.Run("paging", c.paging)
}

type contract struct {
	api     notifications.API
	signUp  SignUp
	refused SignUp
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-admin", Role: auth.RoleAdmin})
}

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-customer", Role: auth.RoleCustomer})
}

func (c *contract) authorization(t *testing.T) {
	_, err := c.api.Mailbox(context.Background(), notifications.MailboxQuery{})
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.Message(context.Background(), uuid.NewString())
	errstest.Kind(t, err, errs.KindUnauthenticated)
}

// ownMessages: a customer reads their own messages and no one else's:
// another user's message is not found, and asking for another recipient's
// mailbox gives their own; an admin reads both.
func (c *contract) ownMessages(t *testing.T) {
	ada, bob := c.signUp(t), c.signUp(t)
	adas, bobs := c.welcomeOf(t, ada), c.welcomeOf(t, bob)
	asAda := auth.WithPrincipal(context.Background(), auth.Principal{UserID: ada.ID, Role: auth.RoleCustomer})
	for _, q := range []notifications.MailboxQuery{{}, {RecipientUserID: bob.ID}} {
		page, err := c.api.Mailbox(asAda, q)
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != adas.ID {
			t.Errorf("customer's mailbox %+v = %+v, %v; want their one message", q, page, err)
		}
	}
	if got, err := c.api.Message(asAda, adas.ID); err != nil || got.ID != adas.ID {
		t.Errorf("own message = %+v, %v", got, err)
	}
	_, err := c.api.Message(asAda, bobs.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	_, err = c.api.Message(customer(), adas.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	if got, err := c.api.Message(admin(), bobs.ID); err != nil || got.ID != bobs.ID {
		t.Errorf("admin reads %s: %+v, %v", bobs.ID, got, err)
	}
}

func (c *contract) validation(t *testing.T) {
	cases := map[string]notifications.MailboxQuery{
		"recipient": {RecipientUserID: "not-a-uuid"},
		"after":     {After: "not-a-cursor"},
		"limit":     {Limit: 101},
	}
	for field, q := range cases {
		_, err := c.api.Mailbox(admin(), q)
		errstest.Kind(t, err, errs.KindInvalid)
		if !strings.Contains(errstest.Fields(err), field) {
			t.Errorf("%+v: error names %q, want %s", q, errstest.Fields(err), field)
		}
	}
	if _, err := c.api.Mailbox(admin(), notifications.MailboxQuery{Limit: -1}); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("negative limit: %v, want invalid", err)
	}
}

func (c *contract) notFound(t *testing.T) {
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		_, err := c.api.Message(admin(), id)
		errstest.Kind(t, err, errs.KindNotFound)
	}
	page, err := c.api.Mailbox(admin(), notifications.MailboxQuery{RecipientUserID: uuid.NewString()})
	if err != nil || len(page.Items) != 0 || page.NextCursor != "" {
		t.Errorf("mailbox of a stranger = %+v, %v; want empty", page, err)
	}
}

// welcomeOf waits for u's welcome message.
func (c *contract) welcomeOf(t *testing.T, u identity.User) notifications.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := c.api.Mailbox(admin(), notifications.MailboxQuery{RecipientUserID: u.ID})
		if err != nil {
			t.Fatalf("Mailbox: %v", err)
		}
		if len(page.Items) > 0 {
			if len(page.Items) != 1 || page.NextCursor != "" {
				t.Fatalf("mailbox of %s = %+v, want one message", u.ID, page)
			}
			return page.Items[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no welcome message for %s within 10s", u.ID)
		}
		time.Sleep(20 * time.Millisecond) // polling an asynchronous effect, not synchronising
	}
}

func (c *contract) welcome(t *testing.T) {
	u := c.signUp(t)
	m := c.welcomeOf(t, u)
	if m.Kind != notifications.KindWelcome || m.RecipientUserID != u.ID || m.RecipientEmail != u.Email {
		t.Errorf("message %+v for user %+v", m, u)
	}
	if want := "Welcome to the shop, " + u.Name + "!"; m.Subject != want || !strings.Contains(m.Body, u.Name) {
		t.Errorf("subject %q body %q, want %q and the name in the body", m.Subject, m.Body, want)
	}
	if m.ID == "" || m.EventID == "" || m.CreatedAt.IsZero() {
		t.Errorf("message %+v lacks id, event id or time", m)
	}
	if m.OrderID != "" {
		t.Errorf("welcome message names order %q", m.OrderID)
	}
	// Kept in the mailbox only, or sent as well: then with its time.
	switch {
	case m.Status == notifications.StatusKept && m.SentAt.IsZero() && m.Failure == "":
	case m.Status == notifications.StatusSent && !m.SentAt.IsZero() && m.Failure == "":
	default:
		t.Errorf("message status %q sent at %v failure %q, want kept without or sent with a time, and no failure",
			m.Status, m.SentAt, m.Failure)
	}
	c.sameMessage(t, m)
}

// refusedMessage: a message the mail server refused for good is in the
// mailbox all the same, failed, with the server's reply and no sending time.
func (c *contract) refusedMessage(t *testing.T) {
	if c.refused == nil {
		t.Skip("no mail server refuses addresses here")
	}
	u := c.refused(t)
	m := c.welcomeOf(t, u)
	if m.Kind != notifications.KindWelcome || m.RecipientUserID != u.ID || m.RecipientEmail != u.Email {
		t.Errorf("message %+v for user %+v", m, u)
	}
	if m.Status != notifications.StatusFailed || m.Failure == "" || !m.SentAt.IsZero() {
		t.Errorf("message status %q sent at %v failure %q, want failed with the server's reply and no time",
			m.Status, m.SentAt, m.Failure)
	}
	c.sameMessage(t, m)
}

// sameMessage checks that Message returns m as the mailbox listed it.
func (c *contract) sameMessage(t *testing.T, m notifications.Message) {
	t.Helper()
	got, err := c.api.Message(admin(), m.ID)
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if got.ID != m.ID || got.EventID != m.EventID || got.Body != m.Body || !got.CreatedAt.Equal(m.CreatedAt) ||
		got.Status != m.Status || !got.SentAt.Equal(m.SentAt) || got.Failure != m.Failure {
		t.Errorf("Message = %+v, want %+v", got, m)
	}
}

// paging walks the whole mailbox one message per page: ids rise, none
// repeats, and both new users' messages are on the way.
func (c *contract) paging(t *testing.T) {
	want := map[string]bool{}
	for range 2 {
		want[c.welcomeOf(t, c.signUp(t)).ID] = true
	}
	seen := map[string]bool{}
	q := notifications.MailboxQuery{Limit: 1}
	last := ""
	for pages := 0; ; pages++ {
		page, err := c.api.Mailbox(admin(), q)
		if err != nil {
			t.Fatalf("Mailbox: %v", err)
		}
		if len(page.Items) > 1 || pages > 10_000 {
			t.Fatalf("page of %d items with limit 1 (page %d)", len(page.Items), pages)
		}
		for _, m := range page.Items {
			if seen[m.ID] || m.ID <= last {
				t.Fatalf("message %s out of order or repeated after %s", m.ID, last)
			}
			seen[m.ID], last = true, m.ID
		}
		if page.NextCursor == "" {
			break
		}
		q.After = page.NextCursor
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("paging missed message %s", id)
		}
	}
}
