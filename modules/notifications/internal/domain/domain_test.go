package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

func TestNewWelcome(t *testing.T) {
	t.Parallel()
	ok := Welcome{EventID: uuid.NewString(), UserID: uuid.NewString(), Email: "ada@example.com", Name: "Ada"}
	m, err := NewWelcome(ok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindWelcome || m.Subject() != "Welcome to the shop, Ada!" || !strings.Contains(m.Body(), "ada@example.com") {
		t.Errorf("message %+v", m)
	}
	bad := map[string]Welcome{
		"event_id": {EventID: "x", UserID: ok.UserID, Email: ok.Email, Name: ok.Name},
		"user_id":  {EventID: ok.EventID, UserID: "", Email: ok.Email, Name: ok.Name},
		"email":    {EventID: ok.EventID, UserID: ok.UserID, Email: " ", Name: ok.Name},
		"name":     {EventID: ok.EventID, UserID: ok.UserID, Email: ok.Email},
	}
	for field, in := range bad {
		if _, err := NewWelcome(in, time.Now()); !errs.Is(err, errs.KindInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want invalid naming it", field, err)
		}
	}
}

func TestMailboxFilter(t *testing.T) {
	t.Parallel()
	f, err := mailboxFilter(MailboxQuery{})
	if err != nil || f.Limit != DefaultLimit {
		t.Errorf("default filter = %+v, %v", f, err)
	}
	for _, q := range []MailboxQuery{{Limit: MaxLimit + 1}, {Limit: -1}, {After: "x"}, {RecipientUserID: "x"}} {
		if _, err := mailboxFilter(q); !errs.Is(err, errs.KindInvalid) {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}
