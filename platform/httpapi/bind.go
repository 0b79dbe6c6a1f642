package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/errs"
)

// Validator checks request structs with `validate` tags and names fields by
// their JSON names.
type Validator struct{ v *validator.Validate }

// NewValidator returns a validator that reports JSON field names.
func NewValidator() *Validator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return &Validator{v: v}
}

// Validate returns an Invalid error naming each broken rule, or nil.
func (v *Validator) Validate(s any) error {
	err := v.v.Struct(s)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return errs.Internal(err, "validate request")
	}
	var fields errs.Fields
	for _, fe := range ves {
		fields.Add(fieldPath(fe.Namespace()), fe.Tag(), ruleMessage(fe))
	}
	return fields.Err()
}

// fieldPath drops the struct name validator puts first ("req.items[0].sku" → "items[0].sku").
func fieldPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func ruleMessage(fe validator.FieldError) string {
	p := fe.Param()
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be an email address"
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at least %s characters", p)
		}
		return "must be at least " + p
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at most %s characters", p)
		}
		return "must be at most " + p
	case "gte":
		return "must be greater than or equal to " + p
	case "gt":
		return "must be greater than " + p
	case "lte":
		return "must be less than or equal to " + p
	case "lt":
		return "must be less than " + p
	case "len":
		return "must have length " + p
	case "oneof":
		return "must be one of: " + p
	case "uuid", "uuid4":
		return "must be a UUID"
	case "iso4217":
		return "must be an ISO 4217 currency code"
	case "url", "http_url":
		return "must be a URL"
	}
	return "breaks the rule " + fe.Tag()
}

// Bind decodes a JSON request body strictly into dst and validates it:
//   - 415 when the content type is not JSON,
//   - 400 when the body is empty, malformed or holds more than one value,
//   - 413 when the body exceeds the limit,
//   - 422 naming the field for a wrong type, an unknown field or a broken rule.
func Bind(c echo.Context, v *Validator, dst any) error {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errs.E(errs.KindUnsupportedMedia, "send the body as application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooLarge(err) {
			return decodeError(err)
		}
		return errs.E(errs.KindMalformed, "the body must hold exactly one JSON value")
	}
	return v.Validate(dst)
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	return errors.As(err, &mbe) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge)
}

func decodeError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case tooLarge(err):
		return errs.E(errs.KindTooLarge, "the request body is too large")
	case errors.Is(err, io.EOF):
		return errs.E(errs.KindMalformed, "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.KindMalformed, "the request body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return errs.E(errs.KindMalformed, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errs.E(errs.KindMalformed, "the body must be a JSON object")
		}
		return errs.Invalid(errs.Field(field, "type", "must be "+describeType(typ.Type)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Invalid(errs.Field(name, "unknown", "is not a known field"))
	}
	return errs.E(errs.KindMalformed, "the request body cannot be read: %v", err)
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		if t.String() == "time.Time" {
			return "an RFC 3339 timestamp"
		}
		return "an object"
	}
	return "a " + t.String()
}
