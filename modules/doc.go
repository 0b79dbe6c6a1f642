// Package modules holds the shop's business modules, one folder each. The
// rules that keep them splittable are checked by boundaries_test.go:
//
//   - a module imports another module only through its public packages (the
//     module's root package and its <module>test contract suite), never its
//     internals;
//   - imports between modules form a DAG;
//   - platform/ never imports modules/, and nothing imports cmd/.
//
// The extraction walkthrough is in README.md beside this file.
package modules
