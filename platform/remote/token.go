package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// IdentityModule is the only module whose key signs user assertions: the
// module that authenticates sessions.
const IdentityModule = "identity"

// EdgeCaller is the pseudo-module every process signs as when it acts as
// the shop's edge: when it forwards a public request to the process that
// hosts the request's module, and when it asks identity in another process
// who holds a session token. It hosts no API and calls identity's
// Authenticate only.
const EdgeCaller = "edge"

// Token types, so that no kind of token can pass for another. A type
// also fixes how its tokens are authenticated, and its name says how:
// call and forwarded tokens, each from one known module to one other, carry
// an HMAC-SHA256 tag under the key of that pair of modules (mac,
// verifyMAC); user assertions, which travel along a chain of calls and any
// module checks, carry identity's Ed25519 signature (sign, verifySigned).
// A token is checked only by the scheme of the type expected, and its type
// claim must be that type: a signed token never passes as a tagged one, nor
// the other way round, nor a call token of the signed days ("call").
const (
	typeCall    = "call-hmac"
	typeUser    = "user"
	typeForward = "forward-hmac"
)

// claims are what a token states. A call token: Issuer is the calling
// module, Audience the callee, Method and Body (the SHA-256 of the
// arguments) the one call it is good for, so a token that leaks cannot
// serve another method or other arguments; Service set when the call acts
// as the calling module itself (auth.Service(Issuer)). A user assertion:
// Issuer is identity, no audience (it travels along a chain of calls),
// Principal the user it speaks for. A forwarded request's token: Issuer is
// the edge, Audience the module that owns the route, Method and Path the
// request's, Client the address of the client the edge resolved.
type claims struct {
	Type      string          `json:"typ"`
	Issuer    string          `json:"iss"`
	Audience  string          `json:"aud,omitempty"`
	Method    string          `json:"mth,omitempty"`
	Body      string          `json:"bdy,omitempty"`
	Expires   int64           `json:"exp"` // Unix milliseconds
	ID        string          `json:"jti"`
	Service   bool            `json:"svc,omitempty"`
	Principal *auth.Principal `json:"sub,omitempty"`
	Path      string          `json:"pth,omitempty"`
	Client    string          `json:"cip,omitempty"`
}

// seal returns the compact form base64url(claims) "." base64url(tag) of
// c with a fresh id, tag authenticating the encoded claims.
func seal(c claims, tag func(payload []byte) []byte) (string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	c.ID = hex.EncodeToString(id)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(tag(payload)), nil
}

// sign returns c signed with key: a user assertion.
func sign(key ed25519.PrivateKey, c claims) (string, error) {
	return seal(c, func(payload []byte) []byte { return ed25519.Sign(key, payload) })
}

// mac returns c tagged with the key of the pair c.Issuer, c.Audience,
// which this process works out as the issuer: a call or forwarded token.
func mac(keys Keys, c claims) (string, error) {
	key, ok := keys.PairKey(c.Issuer, c.Audience, AsCaller)
	if !ok {
		return "", errs.E(errs.KindInternal, "this process holds no key of module %q, or knows none of %q", c.Issuer, c.Audience)
	}
	return seal(c, func(payload []byte) []byte { return macTag(key, payload) })
}

// macTag is the HMAC-SHA256 of payload under key.
func macTag(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(payload)
	return h.Sum(nil)
}

// open checks a token's form and type, its tag with authentic, then its
// audience and expiry, and returns its claims; every failure is
// KindUnauthenticated.
func open(token, typ, audience string, now time.Time, authentic func(c claims, payload, tag []byte) error) (claims, error) {
	var c claims
	fail := func(format string, args ...any) (claims, error) {
		return claims{}, errs.E(errs.KindUnauthenticated, format, args...)
	}
	p, t, ok := strings.Cut(token, ".")
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	tag, err2 := enc.DecodeString(t)
	if !ok || err1 != nil || err2 != nil || json.Unmarshal(payload, &c) != nil {
		return fail("the %s token is malformed", typ)
	}
	if c.Type != typ {
		return fail("a %s token is not a %s token", c.Type, typ)
	}
	if err := authentic(c, payload, tag); err != nil {
		return claims{}, err
	}
	switch {
	case c.Audience != audience:
		return fail("the %s token is for %q, not %q", typ, c.Audience, audience)
	case !now.Before(time.UnixMilli(c.Expires)):
		return fail("the %s token expired", typ)
	}
	return c, nil
}

// verifySigned opens a signed token: its signature must be its issuer's.
func verifySigned(keys Keys, token, typ, audience string, now time.Time) (claims, error) {
	return open(token, typ, audience, now, func(c claims, payload, sig []byte) error {
		if pub, ok := keys.Public(c.Issuer); !ok || !ed25519.Verify(pub, payload, sig) {
			return errs.E(errs.KindUnauthenticated, "the %s token's signature is not %q's", typ, c.Issuer)
		}
		return nil
	})
}

// verifyMAC opens a tagged token: its audience must be a module this
// process hosts, and its tag that of the pair of its issuer and audience,
// which only those two modules can work out.
func verifyMAC(keys Keys, token, typ, audience string, now time.Time) (claims, error) {
	return open(token, typ, audience, now, func(c claims, payload, tag []byte) error {
		key, ok := keys.PairKey(c.Issuer, c.Audience, AsCallee)
		switch {
		case !ok:
			return errs.E(errs.KindUnauthenticated, "the %s token is for %q, which this process does not host, or from unknown %q", typ, c.Audience, c.Issuer)
		case !hmac.Equal(macTag(key, payload), tag):
			return errs.E(errs.KindUnauthenticated, "the %s token's tag is not that of %q to %q", typ, c.Issuer, c.Audience)
		}
		return nil
	})
}

// call is what a call token is for.
type call struct {
	caller, callee, method string
	body                   []byte
	service                bool
}

// bodyHash is how a call token names the arguments it is good for.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// callToken makes the token of one call.
func callToken(keys Keys, c call, ttl time.Duration, now time.Time) (string, error) {
	return mac(keys, claims{Type: typeCall, Issuer: c.caller, Audience: c.callee, Method: c.method, Body: bodyHash(c.body),
		Service: c.service, Expires: now.Add(ttl).UnixMilli()})
}

// AssertUser signs a user assertion for p with identity's key: what the
// process that authenticated a session attaches to the context (see
// WithUserAssertion) so that remote calls can act for the user. It fails
// with KindInternal when this process does not host identity.
func AssertUser(keys Keys, p auth.Principal, ttl time.Duration, now time.Time) (string, error) {
	key, ok := keys.Private(IdentityModule)
	if !ok {
		return "", errs.E(errs.KindInternal, "this process does not host %s and cannot assert a user", IdentityModule)
	}
	if p.Role == auth.RoleService {
		return "", errs.E(errs.KindInternal, "%s is a service, not a user", p.UserID)
	}
	return sign(key, claims{Type: typeUser, Issuer: IdentityModule, Principal: &p, Expires: now.Add(ttl).UnixMilli()})
}

// verifyUserClaims checks a user assertion and returns its claims and the
// user it speaks for.
func verifyUserClaims(keys Keys, assertion string, now time.Time) (claims, auth.Principal, error) {
	c, err := verifySigned(keys, assertion, typeUser, "", now)
	if err != nil {
		return claims{}, auth.Principal{}, err
	}
	if c.Issuer != IdentityModule || c.Principal == nil || c.Principal.Role == auth.RoleService {
		return claims{}, auth.Principal{}, errs.E(errs.KindUnauthenticated, "the user assertion does not come from %s", IdentityModule)
	}
	return c, *c.Principal, nil
}

// assertionKey carries the user assertion a context's principal came with.
type assertionKey struct{}

type carriedAssertion struct {
	principal auth.Principal
	token     string
}

// WithUserAssertion returns ctx acting for p, with the assertion identity
// signed for p: the remote calls made with the context carry it. The
// internal endpoint server does this for every call that came with an
// assertion, so the assertion travels on along a chain of calls.
func WithUserAssertion(ctx context.Context, p auth.Principal, assertion string) context.Context {
	return context.WithValue(auth.WithPrincipal(ctx, p), assertionKey{}, carriedAssertion{principal: p, token: assertion})
}

// userAssertion returns the assertion carried for p, if ctx has one.
func userAssertion(ctx context.Context, p auth.Principal) (string, bool) {
	a, ok := ctx.Value(assertionKey{}).(carriedAssertion)
	if !ok || a.principal != p {
		return "", false
	}
	return a.token, true
}
