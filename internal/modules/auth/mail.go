package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/redact"
)

// Mailer sends the auth module's mail: plain-text messages to one
// recipient.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// NewMailer returns the SMTP mailer of rawURL (see ParseSMTPURL), or, when
// rawURL is empty, the development mailer that logs messages and keeps
// the last ones.
func NewMailer(rawURL, from string, log *slog.Logger) (Mailer, error) {
	if rawURL == "" {
		return newDevMailer(log), nil
	}
	t, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	addr, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	m := &smtpMailer{target: t, from: addr}
	if t.User != "" {
		m.auth = smtp.PlainAuth("", t.User, t.Password, t.Host)
	}
	return m, nil
}

// SMTPTarget is a checked --smtp-url: where the SMTP mailer connects, how,
// and with which credentials.
type SMTPTarget struct {
	Host string // the server's name: TLS verifies it, PLAIN auth checks it
	Addr string // host:port (587 for smtp://, 465 for smtps:// by default)
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise the
	// mailer upgrades with STARTTLS whenever the server offers it.
	ImplicitTLS    bool
	User, Password string // AUTH PLAIN, when User is set
}

// ParseSMTPURL checks an --smtp-url:
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it (net/smtp
//	                            sends credentials only over TLS or to localhost)
//	smtps://user:pass@host:465  TLS from the first byte
//
// Credentials are optional (user and password together, URL-escaped); the
// URL has nothing after the host: no path, query or fragment, which the
// mailer would otherwise silently ignore. Errors name the URL with its
// password hidden.
func ParseSMTPURL(rawURL string) (SMTPTarget, error) {
	shown := redact.URL(rawURL)
	bad := func(format string, args ...any) (SMTPTarget, error) {
		return SMTPTarget{}, fmt.Errorf("smtp url %s: %s", shown, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL it quotes, password and all
		}
		return bad("%v", err)
	}
	switch {
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return bad("scheme %q: want smtp:// (STARTTLS when offered) or smtps:// (TLS)", u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return bad("no host: want %s://[user:password@]host[:port]", u.Scheme)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		tail := u.EscapedPath()
		if u.RawQuery != "" {
			tail += "?" + u.RawQuery
		}
		if u.Fragment != "" {
			tail += "#" + u.EscapedFragment()
		}
		return bad("unexpected %q after the host: nothing is read there; want %s://[user:password@]host[:port]", tail, u.Scheme)
	}
	t := SMTPTarget{Host: u.Hostname(), ImplicitTLS: u.Scheme == "smtps"}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "465", false: "587"}[t.ImplicitTLS]
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("port %q: want 1 to 65535", port)
	}
	t.Addr = net.JoinHostPort(t.Host, port)
	if u.User != nil {
		pass, ok := u.User.Password()
		if u.User.Username() == "" || !ok {
			return bad("credentials: want user:password@ (both, URL-escaped) or none")
		}
		t.User, t.Password = u.User.Username(), pass
	}
	return t, nil
}

// parseFrom checks --mail-from: one address, display name optional.
func parseFrom(from string) (*mail.Address, error) {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail from %q: want an address such as \"shop <no-reply@shop.example>\": %w", from, err)
	}
	return addr, nil
}

// smtpMailer sends through one SMTP server with net/smtp.
type smtpMailer struct {
	target SMTPTarget
	from   *mail.Address
	auth   smtp.Auth
	// roots verifies the server's certificate (nil: the system's roots);
	// tests trust their own CA with it.
	roots *x509.CertPool
}

// sendTimeout bounds a Send whose context has no deadline.
const sendTimeout = time.Minute

func (m *smtpMailer) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: m.target.Host, RootCAs: m.roots, MinVersion: tls.VersionTLS12}
}

// Send delivers one message. The recipient is parsed as an address (a
// display name allowed), and only its address goes into RCPT TO; every
// header is built by compose, so nothing a user typed can add a header or
// a recipient. Credentials go only over TLS or to localhost (net/smtp's
// rule); STARTTLS is used whenever offered, and a failed upgrade fails
// the send rather than falling back to plain text.
func (m *smtpMailer) Send(ctx context.Context, to, subject, body string) error {
	msg, rcpt, err := compose(m.from, to, subject, body, time.Now())
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	addr := m.target.Addr
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if m.target.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: m.tlsConfig()}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	// A cancelled context ends the conversation at once, not at the deadline.
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })()
	c, err := smtp.NewClient(conn, m.target.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !m.target.ImplicitTLS {
		if err := c.StartTLS(m.tlsConfig()); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", addr, err)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			if _, isTLS := c.TLSConnectionState(); !isTLS {
				return fmt.Errorf("smtp %s: auth: %w (credentials go only over TLS, and this server offered no STARTTLS, or to localhost)", addr, err)
			}
			return fmt.Errorf("smtp %s: auth: %w", addr, err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO: %w", addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: write: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of data: %w", addr, err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp %s: QUIT: %w", addr, err)
	}
	return nil
}

// compose builds an RFC 5322 plain-text message and returns it with the
// recipient's bare address, for RCPT TO. Nothing given goes into a header
// as it came: the addresses are parsed and formatted again by net/mail
// (a display name with a CR or LF comes out as an encoded word), the
// subject is encoded by mime (likewise), the body is quoted-printable
// after the one blank line that ends the headers. An address net/mail
// cannot parse is refused.
func compose(from *mail.Address, to, subject, body string, now time.Time) ([]byte, string, error) {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return nil, "", fmt.Errorf("mail to %q: %w", to, err)
	}
	domain := from.Address[strings.LastIndex(from.Address, "@")+1:] // a quoted local part may hold an @
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", from.String()},
		{"To", rcpt.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + rand.Text() + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("text/plain", map[string]string{"charset": "utf-8"})},
		{"Content-Transfer-Encoding", "quoted-printable"},
	} {
		// The encoders above never leave a line break in a value; this
		// keeps it so should one of them ever change.
		if strings.ContainsAny(h[1], "\r\n") {
			return nil, "", fmt.Errorf("mail header %s: line break in %q", h[0], h[1])
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	// The writer ends every line with CRLF, whether the body's lines
	// ended in LF, CRLF or CR.
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, "", fmt.Errorf("encode mail body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, "", fmt.Errorf("encode mail body: %w", err)
	}
	return b.Bytes(), rcpt.Address, nil
}

// devMailKeep is how many messages the development mailer keeps.
const devMailKeep = 50

// devMailer is the mailer without SMTP: development only. It logs each
// message (so a developer can follow a reset link from the log) and keeps
// the last ones for the development mail page.
type devMailer struct {
	log  *slog.Logger
	mu   sync.Mutex
	sent []contract.Mail // newest last
}

func newDevMailer(log *slog.Logger) *devMailer { return &devMailer{log: log} }

func (d *devMailer) Send(_ context.Context, to, subject, body string) error {
	d.log.Info("mail not sent: no --smtp-url (development mailer)", "to", to, "subject", subject, "body", body)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, contract.Mail{To: to, Subject: subject, Body: body, Sent: time.Now().UTC()})
	if len(d.sent) > devMailKeep {
		d.sent = d.sent[len(d.sent)-devMailKeep:]
	}
	return nil
}

// last returns the kept messages, newest first.
func (d *devMailer) last() []contract.Mail {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]contract.Mail, len(d.sent))
	for i, m := range d.sent {
		out[len(out)-1-i] = m
	}
	return out
}
