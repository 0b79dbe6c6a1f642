// Package domain holds the identity rules: validated users, Argon2id password
// hashing, server-side sessions rotated on login, login rate limits and the
// bootstrap of the first admin. It knows storage only through Repository.
package domain
