// Package gateway is the boundary to a card payment provider: the interface
// a real provider's client implements, and the vocabulary of its answers.
// The simulated provider the shop runs by default is in the simulated
// subpackage.
//
// Every operation carries an idempotency key chosen by the caller. A
// provider applies an operation once per key: a repeated key returns the
// first result, so a call retried after a lost answer, a timeout or a crash
// never charges, captures or refunds twice.
package gateway

import (
	"context"
	"errors"
)

// Errors a provider returns besides transport failures. Any error means the
// outcome is unknown to the caller, who may retry with the same key.
var (
	// ErrKeyReused: the key was used before for a different operation or
	// amount; the provider did nothing.
	ErrKeyReused = errors.New("gateway: idempotency key reused with different parameters")
	// ErrUnknownReference: the reference names no approved authorization.
	ErrUnknownReference = errors.New("gateway: unknown authorization reference")
	// ErrAmount: the amount exceeds what the authorization holds.
	ErrAmount = errors.New("gateway: amount does not match the authorization")
)

// Amount is money in minor units of a currency.
type Amount struct {
	Minor    int64
	Currency string
}

// Authorization is a provider's answer to an authorization request: a
// reference when approved, or the reason of a decline.
type Authorization struct {
	Ref           string // set when approved
	DeclineReason string // set when declined
}

// Approved reports whether the issuer approved the authorization.
func (a Authorization) Approved() bool { return a.DeclineReason == "" }

// Gateway is what the payments module needs from a card provider. Every
// method respects ctx: when it ends, the call returns its error (the
// operation may or may not have happened; retry with the same key).
type Gateway interface {
	// Authorize holds amount on the card. A decline is an answer, not an
	// error. card is what the provider knows the card by (its token, or
	// for the simulated provider the number).
	Authorize(ctx context.Context, card string, amount Amount, key string) (Authorization, error)
	// Capture takes amount of the authorization ref.
	Capture(ctx context.Context, ref string, amount Amount, key string) error
	// Void cancels the authorization ref before capture. ref is the
	// authorization's reference or, when its answer never arrived (a
	// timeout), the idempotency key it was requested with: providers accept
	// such a "technical cancel" for exactly that case.
	Void(ctx context.Context, ref, key string) error
	// Refund gives back amount of the captured authorization ref.
	Refund(ctx context.Context, ref string, amount Amount, key string) error
}
