package remote

import (
	"sync"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
)

// assertions spares the Ed25519 work of user assertions, which every call
// acting for a user carries, on every hop of a chain of calls:
//   - those this process signs (as identity) are reused for the same
//     principal while at least half their life is left, so that whoever
//     receives one can still use it for a whole request;
//   - those it verified are remembered by their exact text until they
//     expire: the same bytes, signed by the same key, verify the same.
//
// A principal that changes (another role) is another key, so it gets an
// assertion of its own; nothing about sessions is cached: the session
// behind a request is checked at identity on every request as before.
// Each map holds at most maxAssertions; when full, the expired go, and if
// none has expired the map starts again empty.
type assertions struct {
	mu       sync.Mutex
	signed   map[auth.Principal]assertion
	verified map[string]assertion
}

// maxAssertions bounds each map: about as many users acting at once in
// one process's minute, at a few hundred bytes each.
const maxAssertions = 10_000

type assertion struct {
	token     string
	principal auth.Principal
	expires   time.Time
	reuseTill time.Time // signed: until when it is handed out again
}

// sign returns an assertion of p with identity's key, valid for ttl, or
// one signed earlier that has at least half of ttl left.
func (a *assertions) sign(keys Keys, p auth.Principal, ttl time.Duration, now time.Time) (string, error) {
	a.mu.Lock()
	got, ok := a.signed[p]
	a.mu.Unlock()
	if ok && now.Before(got.reuseTill) {
		return got.token, nil
	}
	token, err := AssertUser(keys, p, ttl, now)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.signed == nil {
		a.signed = map[auth.Principal]assertion{}
	}
	room(a.signed, now)
	a.signed[p] = assertion{token: token, principal: p, expires: now.Add(ttl), reuseTill: now.Add(ttl / 2)}
	return token, nil
}

// verify returns the user token speaks for, as verifyUser does, from
// memory when the same token verified before and has not expired.
func (a *assertions) verify(keys Keys, token string, now time.Time) (auth.Principal, error) {
	a.mu.Lock()
	got, ok := a.verified[token]
	a.mu.Unlock()
	if ok && now.Before(got.expires) {
		return got.principal, nil
	}
	c, p, err := verifyUserClaims(keys, token, now)
	if err != nil {
		return auth.Principal{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verified == nil {
		a.verified = map[string]assertion{}
	}
	room(a.verified, now)
	a.verified[token] = assertion{principal: p, expires: time.UnixMilli(c.Expires)}
	return p, nil
}

// room makes room for one more entry in m.
func room[K comparable](m map[K]assertion, now time.Time) {
	if len(m) < maxAssertions {
		return
	}
	for k, v := range m {
		if !now.Before(v.expires) {
			delete(m, k)
		}
	}
	if len(m) >= maxAssertions {
		clear(m)
	}
}
