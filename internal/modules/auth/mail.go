package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// Mailer sends the auth module's mail: plain-text messages to one
// recipient.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// NewMailer returns the SMTP mailer of rawURL, or, when rawURL is empty,
// the development mailer that logs messages and keeps the last ones.
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it (net/smtp
//	                            sends credentials only over TLS or to localhost)
//	smtps://user:pass@host:465  TLS from the first byte
func NewMailer(rawURL, from string, log *slog.Logger) (Mailer, error) {
	if rawURL == "" {
		return newDevMailer(log), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("smtp url %s: scheme must be smtp or smtps", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("smtp url %s: no host", u.Redacted())
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail from %q: %w", from, err)
	}
	m := &smtpMailer{host: u.Hostname(), addr: u.Host, from: addr, implicitTLS: u.Scheme == "smtps"}
	if u.Port() == "" {
		m.addr = net.JoinHostPort(m.host, map[bool]string{true: "465", false: "587"}[m.implicitTLS])
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	return m, nil
}

// smtpMailer sends through one SMTP server with net/smtp.
type smtpMailer struct {
	host, addr  string
	from        *mail.Address
	auth        smtp.Auth
	implicitTLS bool
}

func (m *smtpMailer) Send(ctx context.Context, to, subject, body string) error {
	msg, err := compose(m.from, to, subject, body, time.Now())
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if m.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: m.host}}).DialContext(ctx, "tcp", m.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", m.addr)
	}
	if err != nil {
		return fmt.Errorf("smtp %s: %w", m.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", m.addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !m.implicitTLS {
		if err := c.StartTLS(&tls.Config{ServerName: m.host}); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", m.addr, err)
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", m.addr, err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", m.addr, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO: %w", m.addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", m.addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: write: %w", m.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of data: %w", m.addr, err)
	}
	return c.Quit()
}

// compose builds an RFC 5322 plain-text message: addresses formatted by
// net/mail, the subject encoded by mime, the body quoted-printable.
func compose(from *mail.Address, to, subject, body string, now time.Time) ([]byte, error) {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("mail to %q: %w", to, err)
	}
	_, domain, _ := strings.Cut(from.Address, "@")
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
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
