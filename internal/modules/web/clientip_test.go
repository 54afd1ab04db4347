package web

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, tt := range []struct {
		list string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{" 10.0.0.0/8 , 192.168.0.0/16,2001:db8::/32 ", []string{"10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"}},
		{"192.0.2.1", []string{"192.0.2.1/32"}},
		{"2001:db8::1", []string{"2001:db8::1/128"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"::ffff:192.0.2.1", []string{"192.0.2.1/32"}},
		{"0.0.0.0/0", []string{"0.0.0.0/0"}},
	} {
		got, err := ParseTrustedProxies(tt.list)
		if err != nil {
			t.Errorf("ParseTrustedProxies(%q): %v", tt.list, err)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if !slices.Equal(s, tt.want) {
			t.Errorf("ParseTrustedProxies(%q) = %q, want %q", tt.list, s, tt.want)
		}
	}
	for _, tt := range []struct{ list, mention string }{
		{"10.0.0.0/33", `trusted proxy "10.0.0.0/33": not a CIDR range`},
		{"10.0.0.0/8,banana", `trusted proxy "banana": not an address or CIDR range`},
		{"10.0.0.0/8, 10.1.2.300/16", `"10.1.2.300/16"`},
		{"10.0.0.1/8", `trusted proxy "10.0.0.1/8": bits set past the /8 prefix; did you mean 10.0.0.0/8?`},
		{"10.0.0.0/8,,192.168.0.0/16", "empty entry"},
		{"10.0.0.0/8,", "empty entry"},
		{"fe80::1%eth0", `"fe80::1%eth0"`},
		{"fe80::%eth0/64", `"fe80::%eth0/64"`},
		{"proxy.internal", `"proxy.internal"`},
		{"10.0.0.0 /8", `"10.0.0.0 /8"`},
	} {
		_, err := ParseTrustedProxies(tt.list)
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseTrustedProxies(%q): %v, want an error mentioning %q", tt.list, err, tt.mention)
		}
	}
}

// TestClientIP: the rightmost untrusted X-Forwarded-For entry, only when
// the peer is trusted; the peer otherwise, and whenever the part of the
// list the walk reads is malformed.
func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:1::/48, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	const client = "198.51.100.7"
	for _, tt := range []struct {
		name    string
		peer    string
		xff     []string // header lines; nil: no header
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy trusted: the peer", "203.0.113.5:4000", []string{client}, nil, "203.0.113.5"},
		{"untrusted peer: its X-Forwarded-For ignored", "203.0.113.5:4000", []string{client}, trusted, "203.0.113.5"},
		{"trusted peer, no header", "10.0.0.2:4000", nil, trusted, "10.0.0.2"},
		{"trusted peer: the entry it appended", "10.0.0.2:4000", []string{client}, trusted, client},
		{"a bare trusted address", "192.0.2.1:4000", []string{client}, trusted, client},
		{"trusted chain walked from the right", "10.0.0.2:4000", []string{client + ", 10.9.9.9, 10.0.0.3"}, trusted, client},
		{"the client's own entries on the left are not read", "10.0.0.2:4000", []string{"203.0.113.66, 8.8.8.8, " + client}, trusted, client},
		{"a client's spoofed trusted address on the left is not reached", "10.0.0.2:4000", []string{"10.1.1.1, " + client}, trusted, client},
		{"garbage on the client's side does not move the key", "10.0.0.2:4000", []string{"not-an-ip, " + client}, trusted, client},
		{"several header lines are one list", "10.0.0.2:4000", []string{"203.0.113.66", client + ", 10.0.0.3"}, trusted, client},
		{"every hop trusted: the leftmost", "10.0.0.2:4000", []string{"10.0.0.9, 10.0.0.3"}, trusted, "10.0.0.9"},
		{"no spaces", "10.0.0.2:4000", []string{"203.0.113.66," + client + ",10.0.0.3"}, trusted, client},
		{"IPv6 client through an IPv6 proxy", "[2001:db8:1::5]:4000", []string{"2001:db8:2::7"}, trusted, "2001:db8:2::7"},
		{"IPv4-mapped entries are IPv4", "[::ffff:10.0.0.2]:4000", []string{"::ffff:198.51.100.7, ::ffff:10.0.0.3"}, trusted, client},
		{"IPv6 peer outside the trusted /48", "[2001:db8:2::5]:4000", []string{client}, trusted, "2001:db8:2::5"},
		// Malformed where the walk reads it: the peer.
		{"empty header", "10.0.0.2:4000", []string{""}, trusted, "10.0.0.2"},
		{"empty entry", "10.0.0.2:4000", []string{client + ",,10.0.0.3"}, trusted, "10.0.0.2"},
		{"trailing comma", "10.0.0.2:4000", []string{client + ","}, trusted, "10.0.0.2"},
		{"entry with a port", "10.0.0.2:4000", []string{client + ":5555"}, trusted, "10.0.0.2"},
		{"bracketed IPv6", "10.0.0.2:4000", []string{"[2001:db8:2::7]"}, trusted, "10.0.0.2"},
		{"unknown", "10.0.0.2:4000", []string{"unknown"}, trusted, "10.0.0.2"},
		{"zone", "10.0.0.2:4000", []string{"fe80::1%eth0"}, trusted, "10.0.0.2"},
		{"a name", "10.0.0.2:4000", []string{"client.example"}, trusted, "10.0.0.2"},
		{"header injection attempt", "10.0.0.2:4000", []string{client + "\r\nX-Evil: 1"}, trusted, "10.0.0.2"},
		// The peer itself.
		{"peer without a port", "10.0.0.2", []string{client}, trusted, client},
		{"unparsable peer (a Unix socket)", "@", []string{client}, trusted, ""},
		{"IPv4-mapped peer", "[::ffff:203.0.113.5]:4000", nil, nil, "203.0.113.5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			if got := clientIP(tt.peer, h, tt.trusted); got != tt.want {
				t.Errorf("clientIP(%q, %q) = %q, want %q", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
}
