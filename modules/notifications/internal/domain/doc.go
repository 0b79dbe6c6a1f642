// Package domain holds the notification rules: what each message says, that
// one event causes at most one message (whose id, and so its Message-ID,
// follows from the event), how a message is handed to a Sender, who may read
// the mailbox, and how it is paged. It knows storage only through Repository
// and delivery only through Sender, and nothing of HTTP, JSON, SQL, SMTP or
// events.
package domain
