// Package remote carries calls between modules that run in different
// processes: the client behind every generated <module>remote.NewClient and
// the server of the internal endpoints behind every <module>remote.Methods.
// In one process none of it runs: a call is a plain Go method call, and
// nothing is encoded, signed or verified.
//
// # Wire protocol
//
// A call of method M of module m is POST /internal/m/M with a JSON object
// of the arguments (ctx excluded) and answers 200 with a JSON object of the
// results. A failure answers application/problem+json (platform/problem):
// the error kind, the message, the field errors, and Retry-After in whole
// seconds, rounded up; the client rebuilds an *errs.Error of the same kind,
// so a not-found stays a not-found and a rate limit keeps its Retry-After.
// An internal error's message stays in the callee's log.
//
// With every call travel: the time the caller has left (Shop-Timeout, in
// milliseconds rounded up, relative so that clock skew does not matter; the
// server applies it to the handler's context, whose deadline so never ends
// before the caller's), W3C trace context (traceparent, the
// propagator platform/events uses) and the request id (X-Request-Id).
//
// # Per neighbour
//
// The client keeps, per callee module: a circuit breaker (gobreaker) that
// opens after Options.BreakerFailures consecutive failures — transport
// errors and 5xx answers, not refusals on the merits, nor a call whose
// caller's deadline passed within Options.BreakerSlowCall (a caller in a
// hurry, like the cart waiting half a second for prices, says nothing of
// the neighbour's health) — and then fails calls
// at once with KindUnavailable and a Retry-After, which the edge answers
// 503; and a limit of Options.MaxInFlight calls in flight, beyond which a
// call waits for a slot until its deadline, then fails with
// KindUnavailable. Methods the contract marks idempotent (a directive line
// //shop:idempotent in the method's comment) are retried on transport errors
// and 502/503/504, never on a 4xx or another 5xx, with capped exponential
// backoff and full jitter, and only while the caller's deadline leaves time
// for the wait.
//
// Metrics: shop_remote_calls_total{caller,callee,method,outcome} and
// shop_remote_call_duration_seconds{caller,callee,method}.
//
// # Service-to-service authentication
//
// Every call carries a call token (Shop-Caller-Token): issuer the calling
// module, audience the callee, the method and the SHA-256 of the arguments,
// expiry (Options.TokenTTL, a minute) and a unique id, tagged with
// HMAC-SHA256 under the key of that pair of modules. The server answers 401
// when it is missing, malformed, forged, expired or meant for another
// module, method or arguments (so a token that leaks serves no other call;
// a replay of the same call within the minute is not detected: no cache of
// the ids seen is kept), and 403 when the issuer may not call the callee: a
// module may call only the modules it depends on (AllowedCallers, from the
// module descriptors' DependsOn). Which principal may use which method
// stays the API's own business (auth.RequireRole and the like), exactly as
// in process.
//
// The principal travels in one of two ways, never merely asserted by the
// calling module:
//
//   - a module acting on its own behalf (auth.Service(caller)) sets the
//     token's svc claim; the server restores auth.Service(issuer), so a
//     module can act only as itself;
//   - a user is vouched for by a user assertion (Shop-User-Assertion): the
//     principal, signed with identity's key — identity being the only
//     module that authenticates sessions — and short-lived. The process
//     that authenticated the session attaches it to the context with
//     WithUserAssertion; a process hosting identity mints it when a call
//     needs one (AssertUser). The server verifies it (401 when forged or
//     expired), puts the principal in the context and keeps the assertion
//     there, so that the callee's own remote calls act for the same user.
//
// The assertion rides beside auth.Principal in the context rather than in
// it, so auth.Principal stays what it is in process and nothing of it is
// hidden from the wire.
//
// Assertions spare the Ed25519 work a call needs beyond its own token: a
// process signing them hands the same one out for the same principal for
// the first half of its life (so that any receiver can still use it for a
// whole request), and a process verifying them remembers the exact tokens
// it verified until they expire. Call and forwarded tokens, one per call,
// are tagged and checked every time, under remembered pair keys.
//
// # Tokens and keys
//
// A token is base64url(claims) "." base64url(tag). Its type claim fixes how
// the tag is made, and a token is checked only by the scheme of the type
// expected: call tokens ("call-hmac") and forwarded tokens
// ("forward-hmac") carry an HMAC-SHA256 tag, user assertions ("user") an
// Ed25519 signature; so a signed token never passes for a tagged one, nor
// the other way round.
//
// Each module has an Ed25519 key pair (Keys). A call and a forwarded
// token go from one known module to one other, so they need no signature
// anyone can verify, only proof for the one receiver: each module's key
// also serves as an X25519 key (the conversion libsodium's
// crypto_sign_ed25519_*_to_curve25519 makes), and the key of the tokens
// module A sends module B is HKDF-SHA256 of the X25519 shared secret of A
// and B, with "shop call mac v1: A -> B" as info (DerivePairKey). A works
// it out from its private key and B's public key, B from its private key
// and A's public key, and no one else can: no new setting, and another key
// for each direction. Keys remembers the pair keys worked out (one X25519
// exchange costs about a signature, an HMAC about a microsecond), and
// a process works one out only as a module it hosts: a server checks only
// tokens addressed to a module it hosts, and refuses the others with 401,
// as any token meant for another module.
//
// What the tag proves: a MAC shared by two parties proves to the callee
// that the caller, or the callee itself, made the token; no third module,
// holding only its own private key and the public keys, can forge it, nor
// can it check one (it does not learn whether a token it saw is genuine).
// The callee could make tokens that seem to come from the caller, but only
// to itself: nobody else accepts them. (So whoever steals a module's
// private key can call others in that module's name, as with a signing
// key, and also call that module in any module's name.) A token that
// leaks is still bound to its callee, method and arguments' hash and
// expires within a minute, as a signed one was. What a tag cannot do is
// convince a third party, which is why user assertions, which travel along
// a chain of calls and any module checks, stay signed by identity.
//
// # The edge
//
// Every process also signs as the pseudo-module "edge" (EdgeCaller), for
// two things:
//
//   - A process that does not host identity checks session tokens with
//     Sessions: it calls identity.Authenticate as the edge, the one method
//     the edge may call (AllowedCallers lets it call identity; the server
//     refuses it any other method). The server answers such a call with
//     identity's assertion of the user in Shop-User-Assertion, which
//     Sessions puts in the request's context. No session is cached, so a
//     logout anywhere is refused at once everywhere.
//   - A process that forwards a public request to the process hosting its
//     route's module makes a forwarded token (Shop-Forwarded-Token,
//     SignForwarded), tagged under the key of the edge and the module:
//     audience the module, the method and path, and the
//     client address the edge resolved, short-lived. The owner believes
//     that address for its per-IP limits only with a valid token
//     (VerifyForwarded). The body is not covered, since it is streamed.
//
// Keys come through the Keys interface: the private keys of the modules
// this process hosts, the public keys of all, and the pair keys worked out
// from them. DevKeys derives them all from one development secret; NewKeys
// takes configured ones (the hosted modules' and the edge's private keys,
// every public key), which a production split topology needs.
//
// # Mounting
//
// Server is a plain http.Handler for PathPrefix (/internal/). It must never
// be mounted among the public routes: a process serves it on a listener of
// its own (SHOP_HTTP_INTERNAL_ADDR, see httpapi.Server.MountInternal),
// where the public listener answers 404.
package remote
