// Package modules holds the shop's business modules, one folder each. The
// rules that keep them splittable are checked by boundaries_test.go:
//
//   - a module's root package is its contract only (API, DTOs, events,
//     constants) and links no implementation: no gorm, echo or pgx, no
//     internal package, not the platform's database, HTTP, kernel or events
//     packages;
//   - a module imports another module only through its public packages (the
//     module's root package, its <module>test contract suite and its
//     <module>remote client), never its internals;
//   - a module's implementation package, <module>/<module>module (the kernel
//     plug-in: descriptor, wire set, the adapter from the contract to the
//     domain), is built by cmd/ only, and by the few tests listed in
//     boundaries_test.go;
//   - imports between modules form a DAG;
//   - platform/ never imports modules/, and nothing imports cmd/.
//
// Every module's API has a remote form, <module>/<module>remote, generated
// by cmd/remotegen (make generate) on platform/remote: a client that
// implements the API by calls to the module's internal endpoints, and those
// endpoints. A method whose comment ends with the directive line
// //shop:idempotent (a read, or a command keyed by a caller-chosen key) is
// retried by the client when a call fails in transit; remote_test.go fails
// when a method has no remote form.
//
// The extraction walkthrough is in README.md beside this file.
package modules
