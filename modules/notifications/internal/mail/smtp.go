package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/platform/errs"
)

// CommitReserve is the time a delivery leaves, before the event handler's
// deadline, for the handler's transaction to commit.
const CommitReserve = 2 * time.Second

// Settings configure SMTP delivery.
type Settings struct {
	Addr     string // host:port
	Username string // empty: no authentication
	Password string
	From     string        // sender address, optionally with a display name
	Timeout  time.Duration // deadline of one whole delivery
	// TLS configures STARTTLS; nil verifies the server against the
	// system's roots under the host name of Addr.
	TLS *tls.Config
}

// SMTP sends each message to a mail server with the standard library's
// net/smtp, which honours deadlines because it speaks over a connection we
// dial and put a deadline on. It upgrades with STARTTLS whenever the server
// offers it and authenticates (PLAIN) only when a username is set; net/smtp
// then refuses to send the password over a connection that is neither TLS
// nor to localhost.
type SMTP struct {
	addr, host string
	username   string
	password   string
	from       *mail.Address
	domain     string // of the sender address: names our Message-IDs and our HELO
	timeout    time.Duration
	tls        *tls.Config
}

var _ domain.Sender = (*SMTP)(nil)

// NewSMTP checks the settings and returns the sender.
func NewSMTP(s Settings) (*SMTP, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp address %q: must be host:port", s.Addr)
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("mail sender %q: %w", s.From, err)
	}
	_, dom, ok := strings.Cut(from.Address, "@")
	if !ok || dom == "" {
		return nil, fmt.Errorf("mail sender %q: no domain", s.From)
	}
	if s.Timeout <= 0 {
		return nil, errors.New("smtp timeout must be positive")
	}
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.TLS != nil {
		conf = s.TLS.Clone()
		if conf.ServerName == "" {
			conf.ServerName = host
		}
	}
	return &SMTP{addr: s.Addr, host: host, username: s.Username, password: s.Password,
		from: from, domain: dom, timeout: s.Timeout, tls: conf}, nil
}

// Send implements domain.Sender. A permanent (5xx) reply to the message's
// recipient or to its data is a *domain.Rejection carrying the reply: the
// server will never take this message. Every other failure is
// KindUnavailable, to be retried: a transient (4xx) reply, a network error,
// a timeout, and also a 5xx reply earlier in the session (greeting, HELO,
// STARTTLS, AUTH, MAIL FROM), which concerns the shop's mail settings rather
// than this message; failing messages for good there would lose every
// message of a misconfigured shop instead of dead-lettering them for
// replay once it is fixed.
//
// It fails (KindUnavailable) without connecting when ctx's deadline is too
// close for a whole delivery plus CommitReserve: the handler's transaction
// holds a batch of events under one deadline, and a delivery cut off by it
// would break that transaction, rolling back — and so later repeating — the
// deliveries already made in it. Failing early leaves only this event to be
// retried, on its own.
func (s *SMTP) Send(ctx context.Context, m domain.Message) (bool, error) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < s.timeout+CommitReserve {
		return false, errs.E(errs.KindUnavailable, "too little time left to send message %s; will retry", m.ID())
	}
	to, err := mail.ParseAddress(m.RecipientEmail())
	if err != nil {
		return false, errs.Invalid(errs.Field("recipient_email", "email", "must be an email address"))
	}
	data, err := s.compose(m, to)
	if err != nil {
		return false, errs.Internal(err, "compose mail")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err = s.deliver(ctx, to.Address, data)
	var rejected *domain.Rejection
	switch {
	case errors.As(err, &rejected):
		return false, rejected
	case err != nil:
		return false, errs.Wrap(errs.KindUnavailable, err, "smtp delivery to %s", s.addr)
	}
	return true, nil
}

// MessageID is the Message-ID header of the message with the given id. It
// depends on the id only, and the id on the event that caused the message,
// so every copy a retry sends carries the same one.
func (s *SMTP) MessageID(id string) string { return "<" + id + "@" + s.domain + ">" }

// compose renders m as an RFC 5322 message: UTF-8 plain text, quoted-
// printable (any line length, any character), the subject encoded (so no
// character of it can end the header).
func (s *SMTP) compose(m domain.Message, to *mail.Address) ([]byte, error) {
	var b bytes.Buffer
	header := [][2]string{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject())},
		{"Date", m.CreatedAt().Format(time.RFC1123Z)},
		{"Message-ID", s.MessageID(m.ID())},
		{"Auto-Submitted", "auto-generated"}, // RFC 3834: no vacation replies
		{"MIME-Version", "1.0"},
		{"Content-Type", `text/plain; charset="utf-8"`},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}
	for _, h := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b) // writes line ends as CRLF
	if _, err := w.Write([]byte(m.Body())); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// deliver runs one SMTP session under ctx's deadline, which is put on the
// connection itself (reads, writes and the TLS handshake all honour it);
// cancelling ctx cuts the connection short too.
func (s *SMTP) deliver(ctx context.Context, to string, data []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.domain); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return messageFailure("rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return messageFailure("data", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// Closing sends the final dot and reads the server's verdict on the
	// message's content.
	if err := w.Close(); err != nil {
		return messageFailure("data", err)
	}
	// The server has accepted the message. A failing QUIT must not fail the
	// delivery: the retry would send the message a second time.
	_ = c.Quit()
	return nil
}

// messageFailure wraps the failure of a step that concerns this message
// alone, its recipient or its data: there a permanent (5xx) reply is the
// server's final word on the message, a *domain.Rejection.
func messageFailure(step string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 && reply.Code <= 599 {
		return &domain.Rejection{Reply: fmt.Sprintf("%d %s", reply.Code, reply.Msg)}
	}
	return fmt.Errorf("%s: %w", step, err)
}
