package modules_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/reporting"
)

// Every method of every module API can cross a network: ctx first, error
// last, and every argument and result a plain value that JSON carries
// whole (no channel, func or interface, no field hidden with `json:"-"` or
// unexported, none without a JSON name).
func TestContractsAreSerializable(t *testing.T) {
	t.Parallel()
	for _, api := range []reflect.Type{
		reflect.TypeFor[identity.API](), reflect.TypeFor[catalog.API](), reflect.TypeFor[inventory.API](),
		reflect.TypeFor[cart.API](), reflect.TypeFor[payments.API](), reflect.TypeFor[orders.API](),
		reflect.TypeFor[notifications.API](), reflect.TypeFor[reporting.API](),
	} {
		for _, p := range contractProblems(api) {
			t.Errorf("%s: %s", api, p)
		}
	}
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	timeType    = reflect.TypeFor[time.Time]()
)

// contractProblems lists what keeps an API interface from crossing a network.
func contractProblems(api reflect.Type) []string {
	var out []string
	for i := range api.NumMethod() {
		m := api.Method(i)
		ft := m.Type
		if ft.NumIn() == 0 || ft.In(0) != contextType {
			out = append(out, m.Name+": the first argument must be context.Context")
		}
		if ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errorType {
			out = append(out, m.Name+": the last result must be error")
		}
		for j := 1; j < ft.NumIn(); j++ {
			out = append(out, wireProblems(ft.In(j), fmt.Sprintf("%s argument %d", m.Name, j), map[reflect.Type]bool{})...)
		}
		for j := 0; j < ft.NumOut()-1; j++ {
			out = append(out, wireProblems(ft.Out(j), fmt.Sprintf("%s result %d", m.Name, j), map[reflect.Type]bool{})...)
		}
	}
	return out
}

// wireProblems lists what of t JSON would lose or refuse.
func wireProblems(t reflect.Type, where string, seen map[reflect.Type]bool) []string {
	if seen[t] || t == timeType {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return nil
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return wireProblems(t.Elem(), where, seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return []string{fmt.Sprintf("%s: %s has keys that are not strings", where, t)}
		}
		return wireProblems(t.Elem(), where, seen)
	case reflect.Struct:
		var out []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case !f.IsExported():
				out = append(out, fmt.Sprintf("%s: %s.%s is unexported", where, t, f.Name))
			case name == "-":
				out = append(out, fmt.Sprintf("%s: %s.%s is hidden from JSON", where, t, f.Name))
			case name == "" && !f.Anonymous:
				out = append(out, fmt.Sprintf("%s: %s.%s has no JSON name", where, t, f.Name))
			}
			out = append(out, wireProblems(f.Type, where, seen)...)
		}
		return out
	}
	return []string{fmt.Sprintf("%s: %s (%s) does not cross a network", where, t, t.Kind())}
}

// The check itself, on types that must fail it.
func TestContractProblemsAreDetected(t *testing.T) {
	t.Parallel()
	type hidden struct {
		Key string `json:"-"`
	}
	type unnamed struct{ Key string }
	type unexported struct {
		key string //lint:ignore U1000 an unexported field is the point of the case
	}
	type withChan struct {
		C chan int `json:"c"`
	}
	for _, tc := range []struct {
		api  reflect.Type
		want string
	}{
		{reflect.TypeFor[interface{ M(string) error }](), "first argument must be context.Context"},
		{reflect.TypeFor[interface{ M(context.Context) string }](), "last result must be error"},
		{reflect.TypeFor[interface {
			M(context.Context, hidden) error
		}](), "hidden from JSON"},
		{reflect.TypeFor[interface {
			M(context.Context) (unnamed, error)
		}](), "has no JSON name"},
		{reflect.TypeFor[interface {
			M(context.Context, []unexported) error
		}](), "is unexported"},
		{reflect.TypeFor[interface {
			M(context.Context, *withChan) error
		}](), "does not cross a network"},
		{reflect.TypeFor[interface {
			M(context.Context, func()) error
		}](), "does not cross a network"},
		{reflect.TypeFor[interface {
			M(context.Context, any) error
		}](), "does not cross a network"},
		{reflect.TypeFor[interface {
			M(context.Context, map[int]string) error
		}](), "keys that are not strings"},
	} {
		got := strings.Join(contractProblems(tc.api), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want one containing %q", tc.api, got, tc.want)
		}
	}
}
