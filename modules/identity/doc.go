// Package identity owns users, passwords, sessions and roles.
//
// Passwords are hashed with Argon2id (OWASP parameters, stored as PHC
// strings). Sessions are server-side: the client holds a random 256-bit
// token, the database only its SHA-256. A login always opens a new session
// and revokes the session cookie the browser presented (session fixation);
// a bearer token sent along is left alone, since an API client ends its
// token with logout only, and signing in on a web page must not end it
// behind its back. Logout revokes the presented session, bearer or cookie. Promoting a user to admin revokes their sessions. Login attempts
// are rate limited in PostgreSQL, so the limits hold across replicas: per
// client IP, and failures per account and client IP (so a stranger cannot
// lock the owner out).
//
// Owned tables (schema identity): users, sessions, login_attempts.
//
// Routes:
//
//	POST /api/identity/register  {"email","password","name"} → 201 user
//	POST /api/identity/login     {"email","password"} → 200 session + cookie
//	POST /api/identity/logout    (any caller) → 204, presented session revoked, cookie cleared
//	GET  /api/identity/me        (signed in) → 200 user
//
// The handlers (http.go) call API and serve its User and Session.
//
// Published events (see identity.go): identity.user_registered.v1
// (UserRegistered, key user id), in the transaction that inserts the user.
//
// Allowed dependencies: none (platform only). The module implements
// auth.Authenticator for the HTTP edge.
package identity
