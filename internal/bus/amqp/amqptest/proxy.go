package amqptest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP relay between a Bus and the real broker that a test can
// cut and restore, as a network partition or a broker restart would: the
// broker and the client library stay real, only the wire is interrupted.
type Proxy struct {
	t        testing.TB
	upstream string // host:port of the broker
	addr     string // host:port of the proxy
	url      string // the broker URL through the proxy

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

// NewProxy starts a proxy in front of the broker at brokerURL; it is cut
// when t ends.
func NewProxy(t testing.TB, brokerURL string) *Proxy {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatalf("amqptest: broker URL: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, upstream: u.Host, addr: ln.Addr().String()}
	via := *u
	via.Host = p.addr
	p.url = via.String()
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

// URL is the broker's URL through the proxy.
func (p *Proxy) URL() string { return p.url }

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// Down stops accepting and cuts every connection through the proxy.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Up accepts again, on the same address.
func (p *Proxy) Up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("amqptest: proxy up again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
