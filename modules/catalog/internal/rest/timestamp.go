package rest

import (
	"encoding/json"
	"reflect"
	"time"
)

// timestamp is an RFC 3339 time in a request body. time.Time reports a bad
// value as a parse error, which the edge can only call a malformed body
// (400); reporting it as a type error lets the edge name the field (422),
// like any other value of the wrong type.
type timestamp struct{ time.Time }

func (ts *timestamp) UnmarshalJSON(b []byte) error {
	if err := ts.Time.UnmarshalJSON(b); err != nil {
		return &json.UnmarshalTypeError{Value: "string " + string(b), Type: reflect.TypeFor[time.Time]()}
	}
	return nil
}

// timePtr maps an absent timestamp to an unchanged field.
func (ts *timestamp) timePtr() *time.Time {
	if ts == nil {
		return nil
	}
	return &ts.Time
}
