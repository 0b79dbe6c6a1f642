// Package paymentstest holds the behavioural contract of payments.API:
// Contract runs against any implementation (the in-process module, or a
// remote adapter talking to a real server) whose gateway knows the test
// cards documented in the payments package.
package paymentstest
