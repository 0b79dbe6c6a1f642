// Package notifications sends the shop's messages to users: the welcome
// message of every new account, the notice to an account's owner that
// someone tried to sign up with its address (the sign-up's answer does not
// say the address is taken, so that it reveals no accounts), and the emails
// of an order's life (confirmed with its items and total, failed or rejected
// with the reason, shipped).
// Each message is caused by one event and written into the module's mailbox
// in the same transaction that marks the event handled, so an event causes at
// most one message however often it is delivered. An order's messages name
// the order (order_id) as a field, not only in their text. Customers read
// their own messages in the mailbox; operators read all of it.
//
// # Sending
//
// Without SHOP_SMTP_ADDR a message is kept in the mailbox only (status
// "kept"). With it, the message is stored and also sent to that SMTP server
// from within the event handler's transaction (status "sent", sent_at). The
// standard library's net/smtp does the talking: the connection is dialled
// here and carries the deadline (SHOP_SMTP_TIMEOUT, and never beyond the
// handler's own deadline), so every step, STARTTLS's handshake included,
// honours it; no mail library is needed. STARTTLS is used whenever the
// server offers it, PLAIN authentication only when SHOP_SMTP_USERNAME is set
// (and net/smtp sends the password only over TLS or to localhost).
//
// A delivery the server refuses for good, with a permanent (5xx) reply to
// the message's recipient or to its data (550 mailbox unavailable, 553 bad
// address, 554 content refused), can never succeed: the message stays in
// the mailbox with status "failed" and the server's reply as its failure,
// and the handler succeeds, so the event is neither retried nor
// dead-lettered and the server is asked once. Any other failed delivery
// fails the handler: a transient (4xx) reply, a network error or a timeout,
// and also a 5xx reply earlier in the session (greeting, HELO, STARTTLS,
// AUTH, MAIL FROM), which is about the shop's mail settings rather than the
// message, so that a misconfigured shop dead-letters its messages for replay
// instead of failing them for good. The handler's transaction then rolls
// back, so no message row remains, and the event pipeline retries with
// backoff and dead-letters the event after its last attempt, where
// operators see it and replay it.
//
// SMTP delivery is at-least-once. A process that dies after the server
// accepted a message and before the transaction committed, a commit that
// fails, or a server whose acceptance never reaches us, all lead to the
// message being sent again on redelivery. Each copy carries the same
// Message-ID header, <message id@sender domain>, because the message id is
// derived from the event's id and time, not drawn at random: receivers can
// drop duplicates. A delivery that could not finish before the handler's
// deadline is not started (the event is retried on its own), so that a slow
// server cannot break a batch's transaction and re-send its other messages.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (notifications.go). Importing it links none of the
// implementation, which is notificationsmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Owned tables (schema notifications): mailbox (plus the event inbox and
// outbox every module carries).
//
// Routes:
//
//	GET /api/notifications/mailbox      page (recipient, after, limit): own messages; admins: all
//	GET /api/notifications/mailbox/:id  one message: own (another's is 404); admins: any
//
// The handlers (internal/rest) call API and serve its DTOs.
//
// Subscriptions:
//
//	notifications.welcome_email               ← identity.user_registered.v1
//	notifications.registration_repeated_email ← identity.registration_repeated.v1
//	notifications.order_emails                ← orders.order_confirmed.v1, orders.order_failed.v1,
//	                                            orders.order_rejected.v1, orders.order_shipped.v1
//
// One subscriber id for every order event keeps an order's messages in the
// order of its events.
//
// Published events: none.
//
// Configuration: SHOP_SMTP_ADDR, SHOP_SMTP_USERNAME, SHOP_SMTP_PASSWORD,
// SHOP_MAIL_FROM, SHOP_SMTP_TIMEOUT (which must stay 2s below
// SHOP_EVENTS_HANDLER_TIMEOUT).
//
// Allowed dependencies: identity's and orders' public packages, only to name
// their events.
package notifications
