package notificationsmodule_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/notifications/internal/smtptest"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationstest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

const password = "correct horse battery"

// shop is the real identity and notifications modules on one fresh
// database, joined by a running bus, and an outbox of the orders schema
// standing in for the orders module: the tests publish its events.
type shop struct {
	cfg      config.Config
	dbs      *kernel.Databases
	id       *identitymodule.Module
	notes    *notificationsmodule.Module
	ordersDB *database.DB
	orders   *events.Outbox
}

// newShop builds the shop; adjust changes the test configuration.
func newShop(t *testing.T, adjust ...func(*config.Config)) *shop {
	t.Helper()
	cfg := testConfig(t, adjust...)
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "identity", "notifications", "orders")
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identitymodule.New(ctx, dbs, log, cfg, bus)
	if err != nil {
		t.Fatal(err)
	}
	notes, err := notificationsmodule.New(ctx, dbs, log, cfg, bus)
	if err != nil {
		t.Fatal(err)
	}
	ordersDB, err := dbs.Open(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	// The event tables, whatever the orders module's own migrations hold.
	if err := events.Migrate(context.Background(), ordersDB); err != nil {
		t.Fatal(err)
	}
	ob := bus.Outbox(ordersDB)
	if err := bus.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Stop(context.Background()) })
	return &shop{cfg: cfg, dbs: dbs, id: id, notes: notes, ordersDB: ordersDB, orders: ob}
}

func testConfig(t *testing.T, adjust ...func(*config.Config)) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.PollInterval, cfg.Events.BackoffBase = 50*time.Millisecond, 10*time.Millisecond
	for _, fn := range adjust {
		fn(&cfg)
	}
	return cfg
}

// publish commits orders events, as the orders module would.
func (s *shop) publish(t *testing.T, evs ...events.Event) {
	t.Helper()
	ctx := context.Background()
	if err := s.ordersDB.InTx(ctx, func(tx *gorm.DB) error { return s.orders.Publish(ctx, tx, evs...) }); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// inboxRow is the order emails' inbox record of one event.
func (s *shop) inboxRow(t *testing.T, eventType, key string) (status string, attempts int) {
	t.Helper()
	err := s.dbs.Owner().Pool().QueryRow(context.Background(), `SELECT status, attempts FROM notifications.event_inbox
		WHERE subscriber = 'notifications.order_emails' AND type = $1 AND key = $2`, eventType, key).Scan(&status, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return status, attempts
}

func (s *shop) signUp(t *testing.T) identity.User { return s.signUpAs(t, "note") }

// signUpAs registers a new user whose address starts with prefix.
func (s *shop) signUpAs(t *testing.T, prefix string) identity.User {
	t.Helper()
	u, err := s.id.API().Register(context.Background(), identity.RegisterInput{
		Email: identitytest.Email(prefix), Password: password, Name: "Ada Lovelace",
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

func adminCtx() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "test-admin", Role: auth.RoleAdmin})
}

func (s *shop) mailboxOf(t *testing.T, userID string) []notifications.Message {
	t.Helper()
	page, err := s.notes.API().Mailbox(adminCtx(), notifications.MailboxQuery{RecipientUserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// TestContract runs the suite on a shop that keeps its messages, and on
// one that sends them to an SMTP server refusing every "bounce-" address
// for good.
func TestContract(t *testing.T) {
	t.Parallel()
	t.Run("mailbox only", func(t *testing.T) {
		t.Parallel()
		s := newShop(t)
		notificationstest.Contract(t, s.notes.API(), s.signUp, nil)
		// The suite must hold on a database it has already written to.
		t.Run("again", func(t *testing.T) { notificationstest.Contract(t, s.notes.API(), s.signUp, nil) })
	})
	t.Run("smtp", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{RejectRecipient: rejectBounces})
		s := newShop(t, withSMTP(srv))
		bounce := func(t *testing.T) identity.User { return s.signUpAs(t, "bounce") }
		notificationstest.Contract(t, s.notes.API(), s.signUp, bounce)
		t.Run("again", func(t *testing.T) { notificationstest.Contract(t, s.notes.API(), s.signUp, bounce) })
	})
}

func TestModule(t *testing.T) {
	t.Parallel()
	d := notificationsmodule.Descriptor()
	if d.Name != "notifications" || !slices.Equal(d.DependsOn, []string{"identity", "orders"}) {
		t.Fatalf("descriptor = %+v", d)
	}
	// Each call returns a fresh value: a caller cannot change the module's.
	d.DependsOn[0] = "changed"
	if got := notificationsmodule.Descriptor().DependsOn[0]; got != "identity" {
		t.Fatalf("Descriptor().DependsOn[0] = %q after a caller changed its copy", got)
	}
	s := newShop(t)
	if s.notes.Descriptor().Name != "notifications" {
		t.Errorf("module descriptor = %+v", s.notes.Descriptor())
	}
	if err := s.notes.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestWelcomeExactlyOnce registers a user through the real identity module
// and sees one welcome message arrive. Then the inbox row is made pending
// again, as a redelivery after a crash would leave it: the handler runs a
// second time and adds no second message.
func TestWelcomeExactlyOnce(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	u := s.signUp(t)
	var msgs []notifications.Message
	eventstest.Eventually(t, 10*time.Second, "the welcome message", func() bool {
		msgs = s.mailboxOf(t, u.ID)
		return len(msgs) > 0
	})
	if len(msgs) != 1 || msgs[0].Kind != notifications.KindWelcome || msgs[0].Subject != "Welcome to the shop, Ada Lovelace!" {
		t.Fatalf("mailbox = %+v, want one welcome message", msgs)
	}

	s.redeliver(t, "notifications.welcome_email", msgs[0].EventID)
	if again := s.mailboxOf(t, u.ID); len(again) != 1 || again[0].ID != msgs[0].ID {
		t.Fatalf("after redelivery the mailbox = %+v, want the one message %s", again, msgs[0].ID)
	}
}

// redeliver makes subscriber's handled inbox row of an event pending again,
// as a redelivery after a crash would leave it, and waits until it is
// handled again.
func (s *shop) redeliver(t *testing.T, subscriber, eventID string) {
	t.Helper()
	ctx, owner := context.Background(), s.dbs.Owner().Pool()
	tag, err := owner.Exec(ctx, `UPDATE notifications.event_inbox
		SET status = 'pending', handled_at = NULL, next_attempt_at = now()
		WHERE subscriber = $1 AND event_id = $2 AND status = 'done'`, subscriber, eventID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("reset the inbox row: %v (%d rows)", err, tag.RowsAffected())
	}
	eventstest.Eventually(t, 10*time.Second, "the redelivery handled", func() bool {
		var handled bool
		err := owner.QueryRow(ctx, `SELECT status = 'done' AND handled_at IS NOT NULL FROM notifications.event_inbox
			WHERE subscriber = $1 AND event_id = $2`, subscriber, eventID).Scan(&handled)
		return err == nil && handled
	})
}

// TestRepeatedRegistrationTellsTheOwner: a sign-up with a taken address
// creates nothing and welcomes nobody; the account's owner gets one notice,
// however often its event is delivered.
func TestRepeatedRegistrationTellsTheOwner(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	u := s.signUp(t)
	_, err := s.id.API().Register(context.Background(), identity.RegisterInput{Email: u.Email, Password: "eve's password", Name: "Eve"})
	if err == nil {
		t.Fatal("duplicate Register succeeded")
	}
	var notice notifications.Message
	eventstest.Eventually(t, 10*time.Second, "the notice", func() bool {
		for _, m := range s.mailboxOf(t, u.ID) {
			if m.Kind == notifications.KindRegistrationRepeated {
				notice = m
				return true
			}
		}
		return false
	})
	if notice.RecipientEmail != u.Email || !strings.Contains(notice.Body, "Ada Lovelace") || !strings.Contains(notice.Body, "nothing changed") ||
		strings.Contains(notice.Body, "Eve") {
		t.Errorf("notice %+v, want one to %s by the account's name saying nothing changed", notice, u.Email)
	}
	s.redeliver(t, "notifications.registration_repeated_email", notice.EventID)
	var kinds []string
	for _, m := range s.mailboxOf(t, u.ID) {
		kinds = append(kinds, m.Kind)
	}
	slices.Sort(kinds)
	if want := []string{notifications.KindRegistrationRepeated, notifications.KindWelcome}; !slices.Equal(kinds, want) {
		t.Errorf("mailbox kinds %v, want %v: one welcome, one notice", kinds, want)
	}
}

func TestHTTPMailbox(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := s.serveHTTP(t)
	cust := s.signUp(t)
	custSess, err := s.id.API().Login(context.Background(), identity.LoginInput{Email: cust.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Eventually(t, 10*time.Second, "the welcome message", func() bool { return len(s.mailboxOf(t, cust.ID)) > 0 })

	path := "/api/notifications/mailbox?recipient=" + cust.ID + "&limit=10"
	if code, body := api.get(path, ""); code != 401 {
		t.Errorf("anonymous: status %d, want 401 (%v)", code, body)
	}
	code, body := api.get(path, api.admin)
	items, _ := body["items"].([]any)
	if _, hasCursor := body["next_cursor"]; code != 200 || len(items) != 1 || !hasCursor {
		t.Fatalf("admin: %d %v, want one item and next_cursor", code, body)
	}
	item := items[0].(map[string]any)
	for _, k := range []string{"id", "event_id", "recipient_user_id", "recipient_email", "kind", "subject", "body", "created_at", "status"} {
		if item[k] == nil || item[k] == "" {
			t.Errorf("item lacks %s: %v", k, item)
		}
	}
	// The wire shape is the DTO's: what has not happened is absent.
	_, hasSentAt := item["sent_at"]
	_, hasFailure := item["failure"]
	_, hasOrder := item["order_id"]
	if hasSentAt || hasFailure || hasOrder || item["status"] != notifications.StatusKept {
		t.Errorf("kept welcome message %v, want kept without sent_at, failure or order_id", item)
	}
	id := item["id"].(string)
	if code, one := api.get("/api/notifications/mailbox/"+id, api.admin); code != 200 || one["id"] != id {
		t.Errorf("one message: %d %v", code, one)
	}

	// The customer reads the same message as theirs; another customer
	// neither finds it nor sees it in their mailbox.
	if code, mine := api.get("/api/notifications/mailbox", custSess.Token); code != 200 || len(mine["items"].([]any)) != 1 {
		t.Errorf("customer's mailbox: %d %v, want their one message", code, mine)
	}
	if code, one := api.get("/api/notifications/mailbox/"+id, custSess.Token); code != 200 || one["id"] != id {
		t.Errorf("customer's message: %d %v", code, one)
	}
	other := s.signUp(t)
	otherSess, err := s.id.API().Login(context.Background(), identity.LoginInput{Email: other.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if code, one := api.get("/api/notifications/mailbox/"+id, otherSess.Token); code != 404 {
		t.Errorf("another customer's message: %d %v, want 404", code, one)
	}
	if code, theirs := api.get(path, otherSess.Token); code != 200 || slices.ContainsFunc(theirs["items"].([]any), func(m any) bool { return m.(map[string]any)["id"] == id }) {
		t.Errorf("another customer asking for the recipient's mailbox: %d %v, want only their own", code, theirs)
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?recipient=nope", "?after=nope"} {
		if code, body := api.get("/api/notifications/mailbox"+bad, api.admin); code != 422 {
			t.Errorf("%s: status %d, want 422 (%v)", bad, code, body)
		}
	}
}

// httpAPI is the module's routes served over HTTP as the shop serves them.
// Every response it receives is checked against the API description.
type httpAPI struct {
	t     *testing.T
	ts    *httptest.Server
	admin string // an admin's session token
	spec  *jsonschema.Compiler
}

const specURL = "notifications:openapi.json"

func (s *shop) serveHTTP(t *testing.T) *httpAPI {
	t.Helper()
	ctx := context.Background()
	root := identitytest.Email("root")
	if _, err := s.id.API().EnsureAdmin(ctx, root, password); err != nil {
		t.Fatal(err)
	}
	adm, err := s.id.API().Login(ctx, identity.LoginInput{Email: root, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(s.cfg, slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), s.id.Authenticator(), nil)
	s.notes.Routes(srv.Router("notifications"))
	raw, err := srv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	spec := jsonschema.NewCompiler()
	spec.AssertFormat()
	if err := spec.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return &httpAPI{t: t, ts: ts, admin: adm.Token, spec: spec}
}

// get sends a GET with the token (if any) and returns the response's
// status and JSON body, once the body matched its documented schema.
func (a *httpAPI) get(path, token string) (int, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.ts.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	a.conform(path, res, raw)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body
}

// conform checks a response against the description of its operation:
// the 200 schema, or the problem document of any failure, in the content
// type the response has.
func (a *httpAPI) conform(path string, res *http.Response, raw []byte) {
	a.t.Helper()
	template := "/api/notifications/mailbox"
	if p, _, _ := strings.Cut(path, "?"); strings.HasPrefix(p, template+"/") {
		template += "/{id}"
	}
	status := "default"
	if res.StatusCode == http.StatusOK {
		status = "200"
	}
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	sch, err := a.spec.Compile(fmt.Sprintf("%s#/paths/%s/get/responses/%s/content/%s/schema",
		specURL, esc.Replace(template), status, esc.Replace(ct)))
	if err != nil {
		a.t.Fatalf("schema of GET %s %s: %v", template, status, err)
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err == nil {
		err = sch.Validate(body)
	}
	if err != nil {
		a.t.Errorf("GET %s answered %d not as described: %v\nbody: %s", path, res.StatusCode, err, raw)
	}
}
