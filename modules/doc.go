// Package modules holds the shop's business modules, one folder each. The
// rules that keep them splittable are checked by boundaries_test.go:
//
//   - a module's root package is its contract only (API, DTOs, events,
//     constants) and links no implementation: no gorm, echo or pgx, no
//     internal package, not the platform's database, HTTP, kernel or events
//     packages;
//   - a module imports another module only through its public packages (the
//     module's root package and its <module>test contract suite), never its
//     internals;
//   - a module's implementation package, <module>/<module>module (the kernel
//     plug-in: descriptor, wire set, the adapter from the contract to the
//     domain), is built by cmd/ only, and by the few tests listed in
//     boundaries_test.go;
//   - imports between modules form a DAG;
//   - platform/ never imports modules/, and nothing imports cmd/.
//
// The extraction walkthrough is in README.md beside this file.
package modules
