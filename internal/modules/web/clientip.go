package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/shopengine/shop/internal/contract"
)

// The client's address is what auth throttles failed sign-ins by (and
// what a session records). Behind a reverse proxy every request comes from
// the proxy, so the address must come from X-Forwarded-For — but only
// from the part of it that trusted proxies wrote.
//
// Each proxy appends the address of the peer it received the request from,
// so the list reads client, proxy1, proxy2, … and the entries on the right
// are written by the proxies closest to us. Walking it from the right,
// past the addresses of trusted proxies, the first untrusted address is
// the one a trusted proxy saw connecting: the client. The leftmost entry
// is not used because the client writes it: anyone can send
// "X-Forwarded-For: 203.0.113.9" and a proxy that appends keeps it, so
// taking the leftmost would let every client choose its throttle key —
// dodge its own limit with a fresh address per request, or lock someone
// else out with theirs.

// ParseTrustedProxies reads --trusted-proxies: a comma list of CIDR
// ranges (10.0.0.0/8, 2001:db8::/32; a bare address is a range of one).
// Empty means no proxy is trusted and X-Forwarded-For is never read. An
// entry that is not a range, or has bits set past its prefix length
// (10.0.0.1/8: which was meant?), fails naming the entry.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for _, entry := range strings.Split(list, ",") {
		e := strings.TrimSpace(entry)
		if e == "" {
			return nil, fmt.Errorf("trusted proxies %q: empty entry", list)
		}
		if !strings.Contains(e, "/") {
			a, err := netip.ParseAddr(e)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR range (want e.g. 10.0.0.0/8, 2001:db8::/32 or 192.0.2.1)", e)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not a CIDR range (want e.g. 10.0.0.0/8 or 2001:db8::/32)", e)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("trusted proxy %q: bits set past the /%d prefix; did you mean %s?", e, p.Bits(), p.Masked())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are compared
			// unmapped.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, nil
}

// trusts reports whether a is in one of the trusted ranges.
func trusts(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP returns the address of the client that sent a request from
// remoteAddr (http.Request.RemoteAddr) with header h: the peer's own
// address unless the peer is a trusted proxy, and then the rightmost
// address of X-Forwarded-For that is not a trusted proxy (see above), or
// the leftmost when all are. A malformed list — an entry the walk reaches
// that is not a bare IP address (with a port, "unknown", empty) — is not
// guessed at: the peer's address is used. Entries left of the client are
// never read, so what a client writes there cannot move its key, not even
// onto the proxy's address by writing garbage. An unparsable peer address
// (a Unix socket) gives "", which auth counts as one unknown client.
func clientIP(remoteAddr string, h http.Header, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	peer = peer.WithZone("").Unmap()
	if len(trusted) == 0 || !trusts(trusted, peer) {
		return peer.String()
	}
	values := h.Values("X-Forwarded-For")
	if len(values) == 0 {
		return peer.String()
	}
	// Several header lines are one list, in order (RFC 9110, 5.3).
	hops := strings.Split(strings.Join(values, ","), ",")
	client := netip.Addr{}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil || a.Zone() != "" {
			return peer.String()
		}
		client = a.Unmap()
		if !trusts(trusted, client) {
			return client.String()
		}
	}
	return client.String() // every hop trusted: the leftmost is where it began
}

// clientOf is what auth learns of the HTTP client: its address (see
// clientIP) and user agent.
func (m *Module) clientOf(r *http.Request) contract.Client {
	return contract.Client{IP: clientIP(r.RemoteAddr, r.Header, m.cfg.TrustedProxies), UserAgent: r.UserAgent()}
}
