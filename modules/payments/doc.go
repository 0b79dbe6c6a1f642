// Package payments takes the shop's card payments through a card gateway:
// it tokenizes cards, authorizes an order's amount, captures it when the
// order is confirmed, and voids or refunds it when the order is cancelled.
// Each of those is idempotent per order, and nothing is ever charged,
// captured or refunded twice, whatever is retried or run concurrently:
//
//   - Every gateway call carries a key derived from the order and the
//     operation ("authorize:", "capture:", "void:", "refund:" + order id).
//     The gateway applies an operation once per key, so a retry after a
//     lost answer, a timeout or a crash gets the first result.
//   - No database transaction is held open across a gateway call. An
//     authorization is recorded when the gateway has answered, in the
//     order's unique payment row (two concurrent calls send the same key;
//     one row and one event result). A capture, void or refund is first
//     recorded as pending under the row lock, then sent, then settled under
//     the row lock with its event; while it is pending no opposite
//     operation starts, and a retry finishes it with the same key.
//   - A gateway error or timeout on capture or refund returns
//     KindUnavailable and leaves the payment's status as it was; the
//     caller retries. An authorization is retried a few times within one
//     gateway deadline (SHOP_PAYMENTS_GATEWAY_TIMEOUT); then it is recorded
//     failed (processing_error, or gateway_timeout — in which case the
//     authorization is also voided by its key, best effort, in case the
//     gateway approved it after all).
//   - A capture, void or refund whose caller never retries (it gave up, or
//     a process ended between the steps) is finished by a background
//     sweep (internal/sweep; Module.Start runs it on every replica, at
//     start and every 15 s). Each pending operation records when it was
//     last taken up (attempted_at: when a request started or retried it);
//     one that nobody took up for a grace period (a minute, or four
//     gateway timeouts when that is longer) is claimed in a short
//     statement with FOR UPDATE SKIP LOCKED, which stamps it taken up
//     again, and then sent with its same key and settled with its event,
//     exactly as a caller's retry would. The stamp keeps the other
//     replicas' sweeps away while the claiming one is at the gateway, with
//     no transaction open; if the gateway still fails, the payment stays
//     as it was and a sweep one grace period later tries again. The sweep
//     finishes only the operation that is pending, and starts none: a
//     refund that gave up while finishing a pending capture leaves the
//     payment captured, and asking for the refund again is the caller's.
//
// The gateway is simulated by default (internal/gateway/simulated): it
// keeps its ledger of operations in this module's schema and knows the test
// cards documented in payments.go. Likewise the card vault (table cards)
// keeps card numbers only because the simulated gateway needs them: a real
// deployment lets the provider's hosted fields tokenize cards, so that the
// shop never stores a card number, and keeps the provider's token here.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (payments.go). Importing it links none of the
// implementation, which is paymentsmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Owned tables (schema payments): cards, payments, gateway_operations (the
// simulated gateway's ledger), plus the event inbox and outbox every module
// carries.
//
// Routes:
//
//	GET /api/payments/:order_id  the payment of an order, with its capture
//	                             and refund: the order's customer (another
//	                             customer gets 404) and admins
//
// Who may read a payment is decided here, without asking orders (which
// depends on payments, not the reverse): the orders module names the
// order's customer when it authorizes the payment, and the payment keeps
// that user id. The handler (internal/rest) calls API and serves its DTO.
//
// Published events: payments.payment_authorized.v1,
// payments.payment_rejected.v1, payments.payment_captured.v1,
// payments.payment_refunded.v1, each keyed by order id.
//
// Subscriptions: none; the orders module calls the API.
//
// Background work: the sweep of abandoned gateway operations, one worker
// per replica (Module.Start, Module.Stop).
//
// Allowed dependencies: none among the modules.
package payments
