package remote

import (
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// HeaderForwarded carries the token of a public request that an edge
// forwards to the process hosting the request's module (see Forwarded).
const HeaderForwarded = "Shop-Forwarded-Token"

// Forwarded is a public request one process (acting as the edge) forwards
// to the process that hosts its route's module, as its token states it.
// The body is not covered: the edge streams it without reading it first.
type Forwarded struct {
	Module string // the module owning the route: the token's audience
	Method string
	Path   string // the request's URL path, unescaped
	// Client is the client address the edge resolved (the peer, or the
	// address its trusted proxies reported): the per-IP limits of the
	// owner count it, not the edge's own address.
	Client string
}

// SignForwarded returns the token vouching for f, tagged with the key of
// the edge (EdgeCaller) and f.Module and valid for ttl: what the owner's
// internal listener needs to believe f.Client. KindInternal when this
// process holds no edge key.
func SignForwarded(keys Keys, f Forwarded, ttl time.Duration, now time.Time) (string, error) {
	if _, ok := keys.Private(EdgeCaller); !ok {
		return "", errs.E(errs.KindInternal, "this process holds no %s key and cannot forward requests", EdgeCaller)
	}
	return mac(keys, claims{Type: typeForward, Issuer: EdgeCaller, Audience: f.Module, Method: f.Method, Path: f.Path,
		Client: f.Client, Expires: now.Add(ttl).UnixMilli()})
}

// VerifyForwarded checks the token of a request forwarded for module's
// route method path, and returns the client address it states. It fails
// with KindUnauthenticated when the token is malformed, not the edge's,
// expired, or for another module, method or path.
func VerifyForwarded(keys Keys, token, module, method, path string, now time.Time) (client string, err error) {
	c, err := verifyMAC(keys, token, typeForward, module, now)
	if err != nil {
		return "", err
	}
	if c.Issuer != EdgeCaller || c.Method != method || c.Path != path {
		return "", errs.E(errs.KindUnauthenticated, "the forwarded token is for another request")
	}
	return c.Client, nil
}
