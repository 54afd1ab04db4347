package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store/storetest"
)

// The SMTP mailer is tested against a real SMTP server, emersion/go-smtp
// (a test-only dependency: TestShopBinaryHasNoFerretDB keeps it out of
// the shop binary), listening on a loopback address: what arrives is what
// a mail server would get, envelope, headers and body, and the server's
// side of AUTH and STARTTLS is a real one.

// peerMail is one SMTP session as the peer saw it.
type peerMail struct {
	From string
	To   []string
	Data []byte // the message, as received after DATA (nil: none)
	// Auth is the SASL mechanism the client used (empty: no AUTH), with
	// what it sent and whether the connection was TLS by then.
	Auth, Identity, User, Password string
	TLSAtAuth, TLSAtData           bool
}

// smtpPeer is a go-smtp server recording every session.
type smtpPeer struct {
	addr  string // host:port
	mu    sync.Mutex
	seen  []*peerMail
	users map[string]string // accepted credentials
}

type peerOptions struct {
	host string // listen address (default 127.0.0.1)
	// startTLS offers STARTTLS with this config; implicitTLS speaks TLS
	// from the first byte instead.
	startTLS, implicitTLS *tls.Config
	users                 map[string]string
}

// startSMTPPeer runs a go-smtp server on host:0 until the test ends. It
// offers AUTH PLAIN on plain connections too (AllowInsecureAuth), so that
// whether credentials cross a plain connection is the mailer's decision,
// which is what these tests check.
func startSMTPPeer(t *testing.T, o peerOptions) *smtpPeer {
	t.Helper()
	if o.host == "" {
		o.host = "127.0.0.1"
	}
	p := &smtpPeer{users: o.users}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		m := &peerMail{}
		p.mu.Lock()
		p.seen = append(p.seen, m)
		p.mu.Unlock()
		return &peerSession{peer: p, conn: c, mail: m}, nil
	}))
	s.Domain = "peer.test"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(t.Output(), "smtp peer: ", 0)
	s.TLSConfig = o.startTLS
	var ln net.Listener
	var err error
	if o.implicitTLS != nil {
		ln, err = tls.Listen("tcp", net.JoinHostPort(o.host, "0"), o.implicitTLS)
	} else {
		ln, err = net.Listen("tcp", net.JoinHostPort(o.host, "0"))
	}
	if err != nil {
		t.Fatalf("smtp peer: %v", err)
	}
	p.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	// Closing the listener too: a Close before Serve has registered it
	// would leave Serve accepting for ever.
	t.Cleanup(func() { _ = s.Close(); _ = ln.Close(); <-done })
	return p
}

// delivered returns the messages received so far.
func (p *smtpPeer) delivered() []peerMail {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []peerMail
	for _, m := range p.seen {
		if m.Data != nil {
			out = append(out, *m)
		}
	}
	return out
}

// sessions is how many SMTP sessions the peer has had.
func (p *smtpPeer) sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// authAttempts returns the sessions in which the client sent AUTH.
func (p *smtpPeer) authAttempts() []peerMail {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []peerMail
	for _, m := range p.seen {
		if m.Auth != "" {
			out = append(out, *m)
		}
	}
	return out
}

func (p *smtpPeer) waitDelivered(t *testing.T, n int) []peerMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := p.delivered(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp peer: %d messages, want %d", len(p.delivered()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type peerSession struct {
	peer *smtpPeer
	conn *gosmtp.Conn
	mail *peerMail
}

func (s *peerSession) isTLS() bool { _, ok := s.conn.TLSConnectionState(); return ok }

func (s *peerSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *peerSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.peer.mu.Lock()
		defer s.peer.mu.Unlock()
		s.mail.Auth, s.mail.Identity, s.mail.User, s.mail.Password, s.mail.TLSAtAuth = mech, identity, user, pass, s.isTLS()
		if want, ok := s.peer.users[user]; !ok || want != pass {
			return gosmtp.ErrAuthFailed
		}
		return nil
	}), nil
}

func (s *peerSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.peer.mu.Lock()
	defer s.peer.mu.Unlock()
	s.mail.From = from
	return nil
}

func (s *peerSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.peer.mu.Lock()
	defer s.peer.mu.Unlock()
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.peer.mu.Lock()
	defer s.peer.mu.Unlock()
	s.mail.Data, s.mail.TLSAtData = b, s.isTLS()
	return nil
}

func (s *peerSession) Reset()        {}
func (s *peerSession) Logout() error { return nil }

// testCert is a self-signed certificate for the IP address ip, and a pool
// that trusts it.
func testCert(t *testing.T, ip string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp peer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// newTestMailer is NewMailer's SMTP mailer, trusting roots (nil: the
// system's).
func newTestMailer(t *testing.T, rawURL, from string, roots *x509.CertPool) *smtpMailer {
	t.Helper()
	m, err := NewMailer(rawURL, from, slog.Default())
	if err != nil {
		t.Fatalf("NewMailer(%s): %v", rawURL, err)
	}
	sm, ok := m.(*smtpMailer)
	if !ok {
		t.Fatalf("NewMailer(%s) = %T, want the SMTP mailer", rawURL, m)
	}
	sm.roots = roots
	return sm
}

func send(m Mailer, to, subject, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Send(ctx, to, subject, body)
}

// wantHeaders are the mailer's header fields, in its order: nothing else
// may appear, so no input can add one.
var wantHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

var headerLine = regexp.MustCompile(`^([A-Za-z-]+): [^\r\n]*$`)

// readMessage checks the shape of a received message — CRLF line ends
// only, the mailer's header fields each on one line and nothing else,
// body lines of at most 76 characters as quoted-printable wants — and
// returns its headers and decoded body.
func readMessage(t *testing.T, data []byte) (mail.Header, string) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) {
		t.Fatalf("a bare CR or LF in the message:\n%q", data)
	}
	head, rawBody, ok := strings.Cut(string(data), "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of headers in %q", data)
	}
	var keys []string
	for _, line := range strings.Split(head, "\r\n") {
		m := headerLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("header line %q: not one field on one line", line)
		}
		keys = append(keys, m[1])
	}
	if !slices.Equal(keys, wantHeaders) {
		t.Fatalf("header fields %q, want %q", keys, wantHeaders)
	}
	for _, line := range strings.Split(rawBody, "\r\n") {
		if len(line) > 76 {
			t.Fatalf("body line of %d characters: %q", len(line), line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decode quoted-printable body: %v", err)
	}
	return msg.Header, string(body)
}

func address(t *testing.T, h mail.Header, key string) *mail.Address {
	t.Helper()
	list, err := h.AddressList(key)
	if err != nil || len(list) != 1 {
		t.Fatalf("%s %q: %v, %v", key, h.Get(key), list, err)
	}
	return list[0]
}

func decodedSubject(t *testing.T, h mail.Header) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", h.Get("Subject"), err)
	}
	return s
}

// TestSMTPMailerMessage: what the SMTP peer receives from Send — the
// envelope, every header field as the mailer sets it, and a
// quoted-printable body that decodes to the text sent, line breaks as
// CRLF, long lines and a line of a single dot (SMTP's end of data)
// included.
func TestSMTPMailerMessage(t *testing.T) {
	peer := startSMTPPeer(t, peerOptions{users: map[string]string{"mailer": "s3cret"}})
	m := newTestMailer(t, "smtp://"+peer.addr, "Shop Team <no-reply@shop.example>", nil)
	body := "Hello Ann,\n\nopen https://shop.example/account/password-reset?token=" + strings.Repeat("Ab9-_", 12) + "\n.\n..\nFrom here: grüße, 100% = sure\n"
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	if err := send(m, "Ann Example <ann@example.com>", "Reset your password — now", body); err != nil {
		t.Fatal(err)
	}
	got := peer.waitDelivered(t, 1)
	if len(got) != 1 || got[0].From != "no-reply@shop.example" || !slices.Equal(got[0].To, []string{"ann@example.com"}) {
		t.Fatalf("envelope %+v", got)
	}
	if got[0].Auth != "" {
		t.Fatalf("AUTH %s without credentials in the URL", got[0].Auth)
	}
	h, text := readMessage(t, got[0].Data)
	if a := address(t, h, "From"); a.Name != "Shop Team" || a.Address != "no-reply@shop.example" {
		t.Errorf("From %q", h.Get("From"))
	}
	if a := address(t, h, "To"); a.Name != "Ann Example" || a.Address != "ann@example.com" {
		t.Errorf("To %q", h.Get("To"))
	}
	if s := decodedSubject(t, h); s != "Reset your password — now" {
		t.Errorf("Subject %q decodes to %q", h.Get("Subject"), s)
	}
	if d, err := h.Date(); err != nil || d.Before(before) || d.After(time.Now()) {
		t.Errorf("Date %q: %v, %v", h.Get("Date"), d, err)
	}
	if id := h.Get("Message-Id"); !regexp.MustCompile(`^<[A-Z2-7]{26}@shop\.example>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if v := h.Get("Mime-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "text/plain" || params["charset"] != "utf-8" || len(params) != 1 {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	if v := h.Get("Content-Transfer-Encoding"); v != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding %q", v)
	}
	if want := strings.ReplaceAll(body, "\n", "\r\n"); text != want {
		t.Errorf("body decodes to\n%q\nwant\n%q", text, want)
	}
	// A second message has its own Message-ID.
	if err := send(m, "ann@example.com", "again", "x"); err != nil {
		t.Fatal(err)
	}
	second := peer.waitDelivered(t, 2)[1]
	h2, _ := readMessage(t, second.Data)
	if h2.Get("Message-Id") == h.Get("Message-Id") {
		t.Errorf("two messages with Message-ID %s", h.Get("Message-Id"))
	}
}

// TestSMTPMailerHeaderInjection: a CR or LF in a display name, an
// address, the subject or the sender cannot add a header or a recipient.
// A name that carries one (an encoded word decodes to it) is encoded
// again, as data; an address or quoted name with a raw one is refused,
// and nothing is sent.
func TestSMTPMailerHeaderInjection(t *testing.T) {
	peer := startSMTPPeer(t, peerOptions{})
	const evil = "Ann\r\nBcc: evil@example.com"
	m := newTestMailer(t, "smtp://"+peer.addr, "=?utf-8?b?U2hvcA0KQmNjOiBldmlsQGV4YW1wbGUuY29t?= <no-reply@shop.example>", nil)

	for _, tt := range []struct {
		name, to, subject string
		toName            string // the To display name the message must carry
	}{
		{"display name decoding to CR LF", "=?utf-8?b?QW5uDQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?= <ann@example.com>", "Reset", evil},
		{"subject with CR LF", "ann@example.com", "Reset\r\nBcc: evil@example.com", ""},
		{"subject with a bare LF", "ann@example.com", "Reset\nBcc: evil@example.com", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := len(peer.delivered())
			if err := send(m, tt.to, tt.subject, "body"); err != nil {
				t.Fatal(err)
			}
			got := peer.waitDelivered(t, n+1)[n]
			if !slices.Equal(got.To, []string{"ann@example.com"}) {
				t.Fatalf("RCPT TO %q", got.To)
			}
			h, _ := readMessage(t, got.Data) // no field but the mailer's, each on one line
			if to := address(t, h, "To"); to.Name != tt.toName || to.Address != "ann@example.com" {
				t.Errorf("To %q: %q <%s>", h.Get("To"), to.Name, to.Address)
			}
			if s := decodedSubject(t, h); s != tt.subject {
				t.Errorf("Subject %q decodes to %q, want %q", h.Get("Subject"), s, tt.subject)
			}
			if from := address(t, h, "From"); from.Name != "Shop\r\nBcc: evil@example.com" || from.Address != "no-reply@shop.example" {
				t.Errorf("From %q", h.Get("From"))
			}
		})
	}
	for _, to := range []string{
		"ann@example.com\r\nBcc: evil@example.com",
		"ann@example.com\nBcc: evil@example.com",
		"\"Ann\r\nBcc: evil@example.com\" <ann@example.com>",
		"Ann\r\n <ann@example.com>",
		"ann@example.com, evil@example.com",
	} {
		n := peer.sessions()
		err := send(m, to, "Reset", "body")
		if err == nil || !strings.Contains(err.Error(), "mail to") {
			t.Errorf("Send to %q: %v, want a refused address", to, err)
		}
		if peer.sessions() != n {
			t.Errorf("Send to %q reached the server", to)
		}
	}
	// A sender with a raw line break is refused when the mailer is made.
	for _, from := range []string{"shop <no-reply@shop.example>\r\nBcc: evil@example.com", "\"shop\r\n\" <no-reply@shop.example>"} {
		if _, err := NewMailer("smtp://"+peer.addr, from, slog.Default()); err == nil || !strings.Contains(err.Error(), "mail from") {
			t.Errorf("NewMailer from %q: %v", from, err)
		}
	}
}

// TestSMTPMailerAuth: AUTH PLAIN happens only when the URL has
// credentials, and the credentials only go over TLS (STARTTLS, which the
// mailer uses whenever offered, or smtps://) or to localhost — net/smtp's
// rule, which the mailer keeps: over plain text to any other host it
// refuses before sending them. A TLS upgrade that fails fails the send;
// it never falls back to plain text.
func TestSMTPMailerAuth(t *testing.T) {
	users := map[string]string{"mailer": "s3cr:et"}
	const from = "shop <no-reply@shop.example>"
	// 127.0.0.2 is loopback too, but not "localhost" to net/smtp.
	const remote = "127.0.0.2"
	cert, roots := testCert(t, remote)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	check := func(t *testing.T, peer *smtpPeer, wantAuth, wantTLS bool) {
		t.Helper()
		got := peer.waitDelivered(t, 1)
		if wantAuth != (got[0].Auth != "") {
			t.Fatalf("AUTH %q, want it %v", got[0].Auth, wantAuth)
		}
		if wantAuth && (got[0].Auth != sasl.Plain || got[0].User != "mailer" || got[0].Password != "s3cr:et" || got[0].Identity != "" || got[0].TLSAtAuth != wantTLS) {
			t.Fatalf("AUTH %+v", got[0])
		}
		if got[0].TLSAtData != wantTLS {
			t.Fatalf("message sent with TLS %v, want %v", got[0].TLSAtData, wantTLS)
		}
	}
	refused := func(t *testing.T, peer *smtpPeer, err error, mention string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), mention) {
			t.Fatalf("Send: %v, want an error mentioning %q", err, mention)
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Fatalf("error shows the password: %v", err)
		}
		if a := peer.authAttempts(); len(a) != 0 {
			t.Fatalf("credentials sent: %+v", a)
		}
		if d := peer.delivered(); len(d) != 0 {
			t.Fatalf("message sent: %+v", d)
		}
	}

	t.Run("no credentials: no AUTH, though offered", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{users: users})
		if err := send(newTestMailer(t, "smtp://"+peer.addr, from, nil), "ann@example.com", "s", "b"); err != nil {
			t.Fatal(err)
		}
		check(t, peer, false, false)
	})
	t.Run("credentials to localhost over plain text", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{users: users})
		if err := send(newTestMailer(t, "smtp://mailer:s3cr%3Aet@"+peer.addr, from, nil), "ann@example.com", "s", "b"); err != nil {
			t.Fatal(err)
		}
		check(t, peer, true, false)
	})
	t.Run("credentials to another host over plain text: refused", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{host: remote, users: users})
		err := send(newTestMailer(t, "smtp://mailer:s3cr%3Aet@"+peer.addr, from, roots), "ann@example.com", "s", "b")
		refused(t, peer, err, "offered no STARTTLS")
	})
	t.Run("credentials to another host after STARTTLS", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{host: remote, users: users, startTLS: tlsCfg})
		if err := send(newTestMailer(t, "smtp://mailer:s3cr%3Aet@"+peer.addr, from, roots), "ann@example.com", "s", "b"); err != nil {
			t.Fatal(err)
		}
		check(t, peer, true, true)
	})
	t.Run("no credentials: STARTTLS still used when offered", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{host: remote, users: users, startTLS: tlsCfg})
		if err := send(newTestMailer(t, "smtp://"+peer.addr, from, roots), "ann@example.com", "s", "b"); err != nil {
			t.Fatal(err)
		}
		check(t, peer, false, true)
	})
	t.Run("smtps: TLS from the first byte", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{host: remote, users: users, implicitTLS: tlsCfg})
		if err := send(newTestMailer(t, "smtps://mailer:s3cr%3Aet@"+peer.addr, from, roots), "ann@example.com", "s", "b"); err != nil {
			t.Fatal(err)
		}
		check(t, peer, true, true)
	})
	t.Run("STARTTLS with an untrusted certificate: no fallback", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{host: remote, users: users, startTLS: tlsCfg})
		err := send(newTestMailer(t, "smtp://mailer:s3cr%3Aet@"+peer.addr, from, nil), "ann@example.com", "s", "b")
		refused(t, peer, err, "starttls")
	})
	t.Run("wrong password", func(t *testing.T) {
		peer := startSMTPPeer(t, peerOptions{users: users})
		err := send(newTestMailer(t, "smtp://mailer:wrong@"+peer.addr, from, nil), "ann@example.com", "s", "b")
		if err == nil || !strings.Contains(err.Error(), "auth") || !strings.Contains(err.Error(), "535") {
			t.Fatalf("Send: %v, want the server's 535", err)
		}
		if d := peer.delivered(); len(d) != 0 {
			t.Fatalf("message sent: %+v", d)
		}
	})
}

// TestSMTPURL: what --smtp-url accepts, and a clear error, without the
// password, for what it does not.
func TestSMTPURL(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want SMTPTarget
	}{
		{"smtp://mail.example", SMTPTarget{Host: "mail.example", Addr: "mail.example:587"}},
		{"smtp://mail.example/", SMTPTarget{Host: "mail.example", Addr: "mail.example:587"}},
		{"smtps://mail.example", SMTPTarget{Host: "mail.example", Addr: "mail.example:465", ImplicitTLS: true}},
		{"smtp://u%40x:p%3Aw@mail.example:2525", SMTPTarget{Host: "mail.example", Addr: "mail.example:2525", User: "u@x", Password: "p:w"}},
		{"smtp://[::1]:25", SMTPTarget{Host: "::1", Addr: "[::1]:25"}},
	} {
		got, err := ParseSMTPURL(tt.url)
		if err != nil || got != tt.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ url, mention string }{
		{"http://mail.example", `scheme "http": want smtp:// (STARTTLS when offered) or smtps://`},
		{"mail.example:587", `scheme "mail.example"`},
		{"mail.example", `scheme ""`},
		{"smtp://", "no host"},
		{"smtp://:25", "no host"},
		{"smtp:///x", "no host"},
		{"smtp:mail.example", "no host"},
		{"smtps://u:secret@", "no host"},
		{"smtp://mail.example:0", `port "0": want 1 to 65535`},
		{"smtp://mail.example:99999", `port "99999"`},
		{"smtp://mail.example:smtp", "invalid port"},
		{"smtp://u:secret@mail example", "invalid character"},
		{"smtp://mail.example/inbox", `unexpected "/inbox" after the host`},
		{"smtp://mail.example?tls=off", `unexpected "?tls=off" after the host`},
		{"smtp://mail.example#x", `unexpected "#x"`},
		{"smtp://user@mail.example", "credentials: want user:password@"},
		{"smtp://:secret@mail.example", "credentials"},
	} {
		_, err := ParseSMTPURL(tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.mention) || !strings.HasPrefix(err.Error(), "smtp url ") {
			t.Errorf("ParseSMTPURL(%q): %v, want an error mentioning %q", tt.url, err, tt.mention)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseSMTPURL(%q): the error shows the password: %v", tt.url, err)
		}
		// The module refuses it too, at Validate and at New.
		cfg := Config{SMTPURL: tt.url}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("Validate with %q: %v", tt.url, err)
		}
	}
	if err := (Config{SMTPURL: "smtp://mail.example", MailFrom: "not an address"}).Validate(); err == nil || !strings.Contains(err.Error(), `mail from "not an address"`) {
		t.Errorf("Validate with a bad --mail-from: %v", err)
	}
	if err := (Config{SMTPURL: "smtps://u:p@mail.example"}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestPasswordResetOverSMTP: the whole reset through the module and a
// real SMTP server: the mail arrives, its quoted-printable body decodes to
// the link with the token (longer than a QP line, so it is split by soft
// line breaks on the wire), and the token resets the password.
func TestPasswordResetOverSMTP(t *testing.T) {
	peer := startSMTPPeer(t, peerOptions{})
	cfg := testConfig()
	cfg.SMTPURL, cfg.MailFrom, cfg.PublicURL = "smtp://"+peer.addr, "Shop <no-reply@shop.example>", "https://shop.example"
	h := start(t, storetest.SQLite(t), cfg)
	if _, ok := h.Module.mailer.(*smtpMailer); !ok {
		t.Fatalf("mailer %T, want SMTP", h.Module.mailer)
	}
	bg := context.Background()
	call(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	call(t, bg, h, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: "ann@example.com", Client: client})
	got := peer.waitDelivered(t, 1)[0]
	if got.From != "no-reply@shop.example" || !slices.Equal(got.To, []string{"ann@example.com"}) {
		t.Fatalf("envelope %+v", got)
	}
	if !bytes.Contains(got.Data, []byte("=\r\n")) {
		t.Fatalf("no soft line break on the wire: the link should be longer than a line\n%s", got.Data)
	}
	hdr, text := readMessage(t, got.Data)
	if decodedSubject(t, hdr) != "Reset your password" || address(t, hdr, "To").Address != "ann@example.com" {
		t.Fatalf("headers %v", hdr)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.Contains(text, "https://shop.example/account/password-reset?token=") {
		t.Fatalf("no link in\n%s", text)
	}
	token := resetToken(t, text)
	if !wellFormedToken(token) {
		t.Fatalf("token %q", token)
	}
	call(t, bg, h, contract.ConfirmPasswordReset, contract.ConfirmPasswordResetRequest{Token: token, NewPassword: pw2})
	call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client})
	var be *bus.Error
	if _, err := bus.Call(bg, h.bus, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client}); !errors.As(err, &be) || be.Code != bus.CodeUnauthorized {
		t.Fatalf("old password after the reset: %v", err)
	}
}
