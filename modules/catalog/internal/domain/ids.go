package domain

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// newID returns a time-ordered id, so that ordering by id is creation order
// and keyset pagination needs no second column.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", errs.Internal(fmt.Errorf("new id: %w", err), "generate id")
	}
	return id.String(), nil
}

// ParseID normalises an id from a caller. A malformed id cannot name any
// object, so it is reported as KindNotFound rather than as invalid input.
func ParseID(id, what string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", errs.E(errs.KindNotFound, "%s not found", what)
	}
	if len(id) == 36 && !strings.ContainsAny(id, "ABCDEF") {
		return id, nil // already canonical (hyphenated, lower case): no new string
	}
	return u.String(), nil
}

// parseRef normalises an optional reference carried in input (e.g. a
// category_id in a request body); a malformed one is invalid input.
func parseRef(fields *errs.Fields, field, id string) string {
	if id == "" {
		return ""
	}
	u, err := uuid.Parse(id)
	if err != nil {
		fields.Add(field, "uuid", "must be a UUID")
		return ""
	}
	return u.String()
}
