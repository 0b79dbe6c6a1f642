// Package carttest holds the behavioural contract of cart.API: Contract
// runs against any implementation (the in-process module, or a remote
// adapter talking to a real server) using only the API and a Shop that
// creates, reprices and hides products and sets their stock.
package carttest
