// Package notifications sends the shop's messages to users. For now that is
// the welcome message of every new account: the module listens to
// identity.user_registered.v1 and writes the message into its mailbox in the
// same transaction that marks the event handled, so each registration gets
// exactly one message however often the event is delivered. Operators read
// the mailbox; actual mail delivery is a later step.
//
// The public contract is API in notifications.go; everything else is
// internal.
//
// Owned tables (schema notifications): mailbox (plus the event inbox and
// outbox every module carries).
//
// Routes:
//
//	GET /api/notifications/mailbox      page (recipient, after, limit) (admin)
//	GET /api/notifications/mailbox/:id  one message (admin)
//
// Subscriptions: notifications.welcome_email ← identity.user_registered.v1.
//
// Published events: none.
//
// Allowed dependencies: identity's public package, only to name its events.
package notifications
