package domain

import "context"

// Sender hands a message to its recipient beyond the mailbox. It runs
// inside the event handler's transaction, after the message is stored and
// before that transaction commits.
type Sender interface {
	// Send delivers m, or reports sent false when messages stay in the
	// mailbox only. An error means m may or may not have arrived: the
	// caller rolls back and the event is retried, and the receiver can
	// drop a second copy by its Message-ID, which is made from m's id.
	Send(ctx context.Context, m Message) (sent bool, err error)
}
