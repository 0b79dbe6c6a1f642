// Package reportingtest holds the behavioural contract of reporting.API:
// Contract runs against any implementation (the in-process module, or a
// remote adapter talking to a real server) using only the API and a way to
// publish the orders module's events.
package reportingtest
