package remote

import (
	"context"
	"net/http"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Sessions checks session tokens for a process that does not host
// identity: it calls identity.Authenticate in the process that does, as
// the edge (EdgeCaller), and takes from the answer identity's assertion of
// the user, so that the calls the request's modules make to other
// processes act for that user. Nothing is cached: a session revoked a
// moment ago is refused on the next request, as in the monolith.
type Sessions struct {
	c *Client
}

var _ auth.ContextAuthenticator = (*Sessions)(nil)

// NewSessions returns the session checker of a process that reaches
// identity at cfg.Endpoints[IdentityModule]; cfg.Caller is ignored (the
// calls are the edge's).
func NewSessions(cfg ClientConfig) (*Sessions, error) {
	cfg.Caller = EdgeCaller
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Sessions{c: c}, nil
}

// Authenticate implements auth.Authenticator.
func (s *Sessions) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	ctx, err := s.WithSession(ctx, token)
	if err != nil {
		return auth.Principal{}, err
	}
	p, _ := auth.FromContext(ctx)
	return p, nil
}

// sessionArgs is the wire form of identity.Authenticate's arguments.
type sessionArgs struct {
	Token string `json:"token"`
}

// WithSession implements auth.ContextAuthenticator: ctx acting for the
// holder of token, with identity's assertion of them. KindUnauthenticated
// when identity refuses the token; KindUnavailable when identity cannot
// be reached (its circuit is open, or it does not answer in time).
func (s *Sessions) WithSession(ctx context.Context, token string) (context.Context, error) {
	var (
		res    sessionAnswer
		answer http.Header
	)
	if err := s.c.observed(ctx, IdentityModule, edgeMethod, true, sessionArgs{Token: token}, &res, &answer); err != nil {
		return ctx, err
	}
	assertion := answer.Get(HeaderUser)
	p, err := s.c.assertions.verify(s.c.keys, assertion, s.c.now())
	if err != nil || p != res.Result {
		return ctx, errs.E(errs.KindInternal, "%s answered %s.%s without a valid assertion of the user", IdentityModule, IdentityModule, edgeMethod)
	}
	return WithUserAssertion(ctx, p, assertion), nil
}
