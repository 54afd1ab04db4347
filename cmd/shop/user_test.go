package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/store"
)

const ownerPassword = "correct horse battery staple"

// userCreate runs `shop user create` with the password on stdin.
func userCreate(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shopBin, append([]string{"user", "create"}, args...)...)
	cmd.Env = os.Environ()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// login posts credentials to base's login route. The binary under test is
// built with -race, which makes bcrypt several times slower; on a loaded
// machine a login can then outlast web's 5 s bus deadline and answer 503
// timeout. The tests using this are about the login working, not its
// latency (auth's benchmarks measure that), so a timeout is tried again,
// up to three times; any other answer is returned.
func login(t *testing.T, base, email, password string) *http.Response {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	for attempt := 1; ; attempt++ {
		resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || attempt == 3 {
			return resp
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("login attempt %d: %d %s; trying again", attempt, resp.StatusCode, b)
	}
}

// adminLogin signs in at base and lists the users with the session.
func adminLogin(t *testing.T, base, email string) {
	t.Helper()
	resp := login(t, base, email, ownerPassword)
	defer resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "shop_session" {
			session = c
		}
	}
	if resp.StatusCode != 200 || session == nil {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/admin/users", nil)
	req.AddCookie(session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), email) {
		t.Fatalf("admin users with the session: %d %s", resp.StatusCode, body)
	}
}

// TestUserCreateEmbedded: the first admin on the embedded default, then
// that admin opens the admin API of a shop on the same data.
func TestUserCreateEmbedded(t *testing.T) {
	db := store.SQLiteURL(t.TempDir())
	code, out := userCreate(t, ownerPassword+"\n", "--email=Owner@Example.com", "--admin", "--database-url="+db, "--bcrypt-cost=10")
	if code != 0 || !strings.Contains(out, "created admin owner@example.com") {
		t.Fatalf("user create: %d %s", code, out)
	}
	for _, tt := range []struct{ stdin, mention string }{
		{ownerPassword + "\n", "cannot"}, // taken
		{"", "no password"},
		{"password\n", "too common"},
	} {
		code, out := userCreate(t, tt.stdin, "--email=owner@example.com", "--database-url="+db, "--bcrypt-cost=10")
		if code != 1 || !strings.Contains(out, tt.mention) && !strings.Contains(out, "already registered") {
			t.Fatalf("stdin %q: %d %s", tt.stdin, code, out)
		}
	}
	if code, out := userCreate(t, ownerPassword, "--email=x@example.com", "--bcrypt-cost=9", "--database-url="+db); code != 1 || !strings.Contains(out, "at least 10") {
		t.Fatalf("cost 9: %d %s", code, out)
	}
	s := startServe(t, nil, "--workers=0", "--database-url="+db, "--bcrypt-cost=10")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve logs:\n%s", s.logs)
		}
	})
	adminLogin(t, "http://"+s.addr, "owner@example.com")
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestUserCreateOverAMQP: the same against a running auth service.
func TestUserCreateOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	bus := []string{"--bus-url=" + url, "--bus-prefix=" + prefix}
	dir := t.TempDir()
	s := startServe(t, nil, append(bus, "--workers=0", "--database-url="+store.SQLiteURL(dir), "--bcrypt-cost=10")...)
	code, out := userCreate(t, ownerPassword+"\n", append(bus, "--email=owner@example.com", "--admin")...)
	if code != 0 || !strings.Contains(out, "created admin owner@example.com") {
		t.Fatalf("user create over AMQP: %d %s", code, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve logs:\n%s", s.logs)
		}
	})
	adminLogin(t, "http://"+s.addr, "owner@example.com")
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
}
