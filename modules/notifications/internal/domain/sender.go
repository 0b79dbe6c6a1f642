package domain

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Sender hands a message to its recipient beyond the mailbox. It runs
// inside the event handler's transaction, after the message is stored and
// before that transaction commits.
type Sender interface {
	// Send delivers m, or reports sent false when messages stay in the
	// mailbox only. A *Rejection means the mail server refused m for good
	// (such as an unknown recipient): m did not arrive and never will, so
	// the caller records the failure instead of retrying. Any other error
	// means m may or may not have arrived: the caller rolls back and the
	// event is retried, and the receiver can drop a second copy by its
	// Message-ID, which is made from m's id.
	Send(ctx context.Context, m Message) (sent bool, err error)
}

// Rejection is a mail server's permanent refusal of one message.
type Rejection struct {
	Reply string // the server's reply, such as "550 5.1.1 mailbox unavailable"
}

func (r *Rejection) Error() string { return "message rejected by the mail server: " + r.Reply }

// MaxFailureLen bounds the reason a failed message keeps, in bytes: a
// server's reply can run over many lines, and operators need its start.
const MaxFailureLen = 1000

// failureReason turns a server's reply into text the mailbox can store:
// valid UTF-8 without NUL bytes (PostgreSQL's text refuses both, which
// would turn a permanent refusal into an endless retry), not empty, and at
// most MaxFailureLen bytes long without cutting a character.
func failureReason(reply string) string {
	s := strings.TrimSpace(strings.ReplaceAll(strings.ToValidUTF8(reply, "\uFFFD"), "\x00", ""))
	if s == "" {
		return "refused without a reason"
	}
	if len(s) <= MaxFailureLen {
		return s
	}
	cut := MaxFailureLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
