// Package domain holds the payment rules: what a card number must be, what
// a payment is and which state changes it allows, and how the service
// drives the card gateway so that nothing is charged, captured or refunded
// twice. It knows storage only through Repository and the provider only
// through gateway.Gateway; nothing of HTTP, JSON, SQL or events.
package domain
