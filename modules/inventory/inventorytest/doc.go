// Package inventorytest holds the behavioural contract of inventory.API:
// Contract runs against any implementation (the in-process module, or a
// remote adapter talking to a real server) using only the API.
package inventorytest
