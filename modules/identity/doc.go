// Package identity owns users, passwords, sessions and roles.
//
// Passwords are hashed with Argon2id (OWASP parameters, stored as PHC
// strings). Sessions are server-side: the client holds a random 256-bit
// token, the database only its SHA-256. A session ends at its absolute
// expiry (SHOP_AUTH_SESSION_TTL) however busy, and earlier when unused for
// the idle timeout (SHOP_AUTH_SESSION_IDLE_TIMEOUT); its last use is written
// at most once a minute, by a conditional update, so authenticating does not
// write on every request. A login always opens a new session and revokes the
// session cookie the browser presented (session fixation); a bearer token
// sent along is left alone, since an API client ends its token with logout
// only, and signing in on a web page must not end it behind its back. Logout
// revokes the presented session, bearer or cookie, and clears the cookie
// only when the cookie was it: without a session it changes nothing, so a
// cross-site form (which carries no cookie) cannot sign a browser out. A
// user can end all of their sessions; an admin can end anyone's. Changing
// one's password ends every other session; a change of role (by an admin,
// never of their own role) and the promotion of the first admin end all of
// the user's sessions, so no token keeps rights its holder lost or gains
// ones it was not issued with.
//
// Rate limits live in PostgreSQL, so they hold across replicas: failed
// logins per client IP (successful ones take their hit back), failed logins
// per account and client IP (so a stranger cannot lock the owner out; a
// wrong current password when changing it counts too), and sign-ups per
// client IP, counted before the password is hashed.
//
// A sign-up does not reveal whether its email has an account: the HTTP
// answer is the same, and a taken email costs the same work (one Argon2
// hash, one transaction); instead of creating anything it publishes
// RegistrationRepeated, on which the owner is told by email. Trusted
// in-process callers get KindConflict.
//
// Owned tables (schema identity): users, sessions, login_attempts (the
// rate-limit windows of logins and sign-ups).
//
// Routes:
//
//	POST   /api/identity/register             {"email","password","name"} → 202 {"email","message"}, new or taken alike
//	POST   /api/identity/login                {"email","password"} → 200 session + cookie
//	POST   /api/identity/logout               (any caller) → 204, presented session revoked; cookie cleared if it was that
//	GET    /api/identity/me                   (signed in) → 200 user
//	DELETE /api/identity/sessions             (signed in) → 204, every own session revoked, cookie cleared
//	PUT    /api/identity/password             (signed in) {"current_password","new_password"} → 204, other sessions revoked
//	DELETE /api/identity/users/{id}/sessions  (admin) → 204, every session of the user revoked
//	PUT    /api/identity/users/{id}/role      (admin) {"role"} → 200 user, sessions revoked on a change; own role 409
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (identity.go). Importing it links none of the
// implementation, which is identitymodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// The handlers (internal/rest) call API and serve its User and Session.
//
// Published events (see identity.go), each keyed by user id:
// identity.user_registered.v1 (UserRegistered), in the transaction that
// inserts the user, and identity.registration_repeated.v1
// (RegistrationRepeated), in the transaction of a sign-up whose email was
// taken.
//
// Allowed dependencies: none (platform only). The module implements
// auth.Authenticator for the HTTP edge.
package identity
