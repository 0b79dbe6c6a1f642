// Package notificationstest holds the behavioural contract of
// notifications.API: Contract runs against any implementation (the
// in-process module, or a remote adapter talking to a real server) using
// only the API and a way to sign a user up (and, where a mail server is
// configured, one whose address that server refuses).
package notificationstest
