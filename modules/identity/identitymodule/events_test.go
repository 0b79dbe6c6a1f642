package identitymodule_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/kernel"
)

// outboxEvent is a row of identity.event_outbox; payload is raw read as a
// registration.
type outboxEvent struct {
	typ, key string
	raw      []byte
	payload  identity.UserRegistered
}

// outbox reads identity's outbox through the owner connection.
func outbox(t *testing.T, dbs *kernel.Databases) []outboxEvent {
	t.Helper()
	rows, err := dbs.Owner().Pool().Query(context.Background(),
		`SELECT type, key, payload::text FROM identity.event_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var e outboxEvent
		var raw string
		if err := rows.Scan(&e.typ, &e.key, &raw); err != nil {
			t.Fatal(err)
		}
		e.raw = []byte(raw)
		if err := json.Unmarshal(e.raw, &e.payload); err != nil {
			t.Fatalf("payload %s: %v", raw, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantRegistered(t *testing.T, e outboxEvent, u identity.User) {
	t.Helper()
	want := identity.UserRegistered{UserID: u.ID, Email: u.Email, Name: u.Name, RegisteredAt: u.CreatedAt}
	if e.typ != "identity.user_registered.v1" || e.key != u.ID {
		t.Errorf("event %s key %s, want identity.user_registered.v1 key %s", e.typ, e.key, u.ID)
	}
	if e.payload.UserID != want.UserID || e.payload.Email != want.Email || e.payload.Name != want.Name ||
		!e.payload.RegisteredAt.Equal(want.RegisteredAt) {
		t.Errorf("payload %+v, want %+v", e.payload, want)
	}
}

// TestRegisterPublishesUserRegistered: a sign-up publishes the
// registration; one with a taken email creates nothing and publishes, in
// its stead, the notice to the owner: about the existing account (its id
// and name, not the newcomer's), at the time of the attempt.
func TestRegisterPublishesUserRegistered(t *testing.T) {
	t.Parallel()
	dbs := dbtestDatabases(t)
	clk := newClock()
	api, ctx := newModule(t, dbs, testConfig(t, nil), clk.Now).API(), context.Background()
	u := register(t, api)

	clk.Advance(time.Hour)
	_, err := api.Register(ctx, identity.RegisterInput{Email: strings.ToUpper(u.Email), Password: "another password", Name: "Eve"})
	if !errs.Is(err, errs.KindConflict) {
		t.Fatalf("duplicate Register = %v, want conflict", err)
	}
	got := outbox(t, dbs)
	if len(got) != 2 {
		t.Fatalf("outbox holds %d events, want 2: %+v", len(got), got)
	}
	wantRegistered(t, got[0], u)
	var repeated identity.RegistrationRepeated
	if err := json.Unmarshal(got[1].raw, &repeated); err != nil {
		t.Fatal(err)
	}
	want := identity.RegistrationRepeated{UserID: u.ID, Email: u.Email, Name: u.Name, AttemptedAt: clk.Now()}
	if got[1].typ != "identity.registration_repeated.v1" || got[1].key != u.ID || repeated != want {
		t.Errorf("second event %s key %s %+v, want identity.registration_repeated.v1 key %s %+v", got[1].typ, got[1].key, repeated, u.ID, want)
	}
}

// TestEnsureAdminPublishes: creating the first admin is a registration;
// promoting an existing customer is not.
func TestEnsureAdminPublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("created", func(t *testing.T) {
		t.Parallel()
		dbs := dbtestDatabases(t)
		api := newModule(t, dbs, testConfig(t, nil), nil).API()
		email := identitytest.Email("root")
		if created, err := api.EnsureAdmin(ctx, email, password); err != nil || !created {
			t.Fatalf("EnsureAdmin = %v, %v", created, err)
		}
		s, err := api.Login(ctx, identity.LoginInput{Email: email, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		got := outbox(t, dbs)
		if len(got) != 1 {
			t.Fatalf("outbox holds %d events, want 1", len(got))
		}
		wantRegistered(t, got[0], s.User)
	})
	t.Run("promoted", func(t *testing.T) {
		t.Parallel()
		dbs := dbtestDatabases(t)
		api := newModule(t, dbs, testConfig(t, nil), nil).API()
		u := register(t, api)
		if created, err := api.EnsureAdmin(ctx, u.Email, password); err != nil || !created {
			t.Fatalf("EnsureAdmin = %v, %v", created, err)
		}
		if got := outbox(t, dbs); len(got) != 1 || got[0].key != u.ID {
			t.Fatalf("outbox = %+v, want only the customer's registration", got)
		}
	})
}

// TestEnsureAdminPromotionRevokesSessions: a token issued to the customer
// must not authenticate as the admin the customer became.
func TestEnsureAdminPromotionRevokesSessions(t *testing.T) {
	t.Parallel()
	api, ctx := freshModule(t, nil, nil).API(), context.Background()
	u := register(t, api)
	other := register(t, api)
	before, err := api.Login(ctx, identity.LoginInput{Email: u.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	bystander, err := api.Login(ctx, identity.LoginInput{Email: other.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if created, err := api.EnsureAdmin(ctx, u.Email, "the new admin password"); err != nil || !created {
		t.Fatalf("EnsureAdmin = %v, %v", created, err)
	}
	if p, err := api.Authenticate(ctx, before.Token); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("pre-promotion token authenticates as %+v (%v), want unauthenticated", p, err)
	}
	if _, err := api.Authenticate(ctx, bystander.Token); err != nil {
		t.Errorf("another user's session was revoked too: %v", err)
	}
}

// TestLoginControlCharacters: an email with control characters is wrong
// credentials, answered before the rate-limit table is touched (PostgreSQL
// would refuse a NUL: it used to be a 500).
func TestLoginControlCharacters(t *testing.T) {
	t.Parallel()
	dbs := dbtestDatabases(t)
	api, ctx := newModule(t, dbs, testConfig(t, nil), nil).API(), context.Background()
	for _, email := range []string{"ada\x00@example.com", "ada\x1b@example.com", "\xffada@example.com", "ada\u202e@example.com"} {
		_, err := api.Login(ctx, identity.LoginInput{Email: email, Password: password, ClientIP: "192.0.2.1"})
		if !errs.Is(err, errs.KindUnauthenticated) {
			t.Errorf("Login(%q) = %v, want unauthenticated", email, err)
		}
	}
	var n int
	if err := dbs.Owner().Pool().QueryRow(ctx, `SELECT count(*) FROM identity.login_attempts`).Scan(&n); err != nil || n != 0 {
		t.Errorf("login_attempts holds %d rows (%v), want 0", n, err)
	}
}

func TestRegisterRejectsControlCharacters(t *testing.T) {
	t.Parallel()
	api, ctx := freshModule(t, nil, nil).API(), context.Background()
	cases := map[string]identity.RegisterInput{
		"NUL in name":          {Email: identitytest.Email("c"), Password: password, Name: "Ada\x00"},
		"bidi override":        {Email: identitytest.Email("c"), Password: password, Name: "Ada\u202eecilA"},
		"invalid UTF-8 name":   {Email: identitytest.Email("c"), Password: password, Name: "Ada\xff"},
		"line separator":       {Email: identitytest.Email("c"), Password: password, Name: "Ada\u2028Lovelace"},
		"NUL in email":         {Email: "ada\x00" + identitytest.Email("c"), Password: password, Name: "Ada"},
		"invalid UTF-8 email ": {Email: "\xff" + identitytest.Email("c"), Password: password, Name: "Ada"},
	}
	for name, in := range cases {
		if _, err := api.Register(ctx, in); !errs.Is(err, errs.KindInvalid) {
			t.Errorf("%s: Register = %v, want invalid", name, err)
		}
	}
	// Joiners are part of ordinary names (Persian ZWNJ) and stay allowed.
	if _, err := api.Register(ctx, identity.RegisterInput{Email: identitytest.Email("c"), Password: password, Name: "می\u200cخواهم"}); err != nil {
		t.Errorf("name with a zero-width non-joiner: %v", err)
	}
}

// TestDescriptor: the descriptor is a function, so a caller's copy cannot
// change what the module states.
func TestDescriptor(t *testing.T) {
	t.Parallel()
	d := identitymodule.Descriptor()
	d.Name = "changed"
	if got := identitymodule.Descriptor(); got.Name != "identity" || len(got.DependsOn) != 0 {
		t.Errorf("Descriptor() = %+v", got)
	}
}
