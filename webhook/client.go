package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Doer sends one request and reads its response, giving up at deadline.
// *fasthttp.Client and *fasthttp.HostClient are Doers. It must not follow
// redirects: a 3xx is a failed attempt.
type Doer interface {
	DoDeadline(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error
}

// readBufferBytes bounds a response's status line and headers: fasthttp
// fails a response whose headers do not fit its read buffer, and its
// default (4 KiB) is small enough that a receiver behind a proxy adding
// cookies or tracing headers could trip it. The buffer is pooled and held
// only while a response is read, so the margin costs little.
const readBufferBytes = 16 << 10

// idleConnTimeout keeps an idle connection for as long as net/http's
// default transport did, so that an endpoint with a few events a minute
// does not pay a new connection (and TLS handshake) for each.
const idleConnTimeout = 90 * time.Second

// newClient builds the default Doer. It is one fasthttp.Client for all
// endpoints rather than a HostClient per endpoint: the Client keeps a
// HostClient per host and scheme itself (endpoints on the same host share
// connections), creates them on first use and drops them once idle, so
// nothing has to follow endpoints being created, changed or deleted; what
// it adds per attempt is a map lookup under a read lock.
//
// Connections come from the dialer, so that Close can cut them and
// proxies from the environment are used. fasthttp's Client.Do never
// follows redirects. A POST is not retried by fasthttp (it is not
// idempotent), except once when its connection turns out to be closed
// before any answer (see retryStale).
func newClient(cfg *Config, dial *dialer) *fasthttp.Client {
	return &fasthttp.Client{
		NoDefaultUserAgentHeader: true, // send sets UserAgent
		ConfigureClient:          dial.configure,
		// No attempt ever waits for a connection or fails for want of one:
		// at most MaxInFlight attempts are in flight, all endpoints together.
		MaxConnsPerHost:     cfg.MaxInFlight,
		MaxIdleConnDuration: idleConnTimeout,
		ReadBufferSize:      readBufferBytes,
		// A longer body makes DoDeadline fail with ErrBodyTooLarge after the
		// status was read; send then records the status, as net/http's
		// client did when it read this much and dropped the rest.
		MaxResponseBodySize: maxResponseBytes,
		// The receiver gets the path exactly as registered.
		DisablePathNormalizing:    true,
		RetryIfErr:                retryStale,
		MaxIdemponentCallAttempts: 2,
	}
}

// retryStale retries an attempt whose connection was found closed before
// anything was answered: a keep-alive connection the receiver closed while
// it was idle (many servers close them after 5 s). net/http notices those
// in the background and drops them; fasthttp only notices on use, so
// without this the first attempt after a pause would fail and rest the
// endpoint. The request may have been received, so this may deliver twice,
// which at-least-once delivery allows (receivers deduplicate on the event
// ID). fasthttp retries once at most (MaxIdemponentCallAttempts), within
// the same deadline.
func retryStale(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	if err == io.EOF { // fasthttp's "closed before the first response byte"
		return false, true
	}
	var op *net.OpError
	return false, errors.As(err, &op) && op.Op == "write"
}

// dialer opens the default client's connections and keeps the open ones,
// so that Close can close them: fasthttp has no cancellation, and without
// this an attempt in flight would hold Close until its deadline (30 s by
// default). Dials run under the Service's context, so Close stops those
// too.
//
// It also honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY as net/http does,
// through a CONNECT tunnel (fasthttp's own fasthttpproxy would add
// golang.org/x/net to the module). Unlike net/http it tunnels plain http
// too, rather than sending the proxy absolute URLs, and it does not speak
// SOCKS5: an attempt through a socks5:// proxy fails.
type dialer struct {
	ctx context.Context
	net net.Dialer
	// proxy picks the proxy for a request (nil: none); only the scheme
	// and host of its URL are set. http.ProxyFromEnvironment, which tests
	// replace: it reads the environment once per process and never
	// proxies loopback addresses.
	proxy func(*http.Request) (*url.URL, error)

	mu     sync.Mutex
	open   map[*trackedConn]struct{} // at most the client's connections
	closed bool
}

func newDialer(ctx context.Context) *dialer {
	return &dialer{ctx: ctx, proxy: http.ProxyFromEnvironment, open: map[*trackedConn]struct{}{}}
}

// configure gives each of the client's host clients a dial that knows
// its scheme, which the proxy choice depends on.
func (d *dialer) configure(hc *fasthttp.HostClient) error {
	scheme := "http"
	if hc.IsTLS {
		scheme = "https"
	}
	hc.DialTimeout = func(addr string, timeout time.Duration) (net.Conn, error) {
		return d.dial(scheme, addr, timeout)
	}
	return nil
}

// dial connects to addr (host:port), through the proxy if one applies;
// timeout is what is left of the attempt's deadline.
func (d *dialer) dial(scheme, addr string, timeout time.Duration) (net.Conn, error) {
	ctx := d.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	proxy, err := d.proxy(&http.Request{URL: &url.URL{Scheme: scheme, Host: addr}})
	if err != nil {
		return nil, fmt.Errorf("proxy from the environment: %w", err)
	}
	var c net.Conn
	if proxy == nil {
		c, err = d.net.DialContext(ctx, "tcp", addr)
	} else {
		c, err = d.tunnel(ctx, proxy, addr)
	}
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, d: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	d.open[tc] = struct{}{}
	return tc, nil
}

// tunnel connects to addr through an HTTP CONNECT proxy. Errors name the
// proxy's host but not its credentials.
func (d *dialer) tunnel(ctx context.Context, proxy *url.URL, addr string) (_ net.Conn, err error) {
	port := proxy.Port()
	switch {
	case proxy.Scheme != "http" && proxy.Scheme != "https":
		return nil, fmt.Errorf("proxy scheme %q is not supported", proxy.Scheme)
	case port == "" && proxy.Scheme == "https":
		port = "443"
	case port == "":
		port = "80"
	}
	c, err := d.net.DialContext(ctx, "tcp", net.JoinHostPort(proxy.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	// Close cancels ctx: a deadline in the past ends the exchange below.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if proxy.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: proxy.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		c = tc
	}
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("proxy answered CONNECT with HTTP %d", resp.StatusCode)
	}
	// The receiver has not been sent anything yet, so nothing of its can
	// be buffered; bytes here would be the proxy's and would corrupt the
	// exchange.
	if br.Buffered() > 0 {
		return nil, errors.New("proxy sent data after its CONNECT answer")
	}
	if !stop() {
		return nil, ctx.Err()
	}
	_ = c.SetDeadline(time.Time{}) // the attempt sets its own
	return c, nil
}

// closeAll closes every connection, in use or idle, and refuses new ones.
func (d *dialer) closeAll() {
	d.mu.Lock()
	open := d.open
	d.open, d.closed = nil, true
	d.mu.Unlock()
	for tc := range open {
		_ = tc.Conn.Close()
	}
}

// trackedConn leaves its dialer's set when fasthttp closes it.
type trackedConn struct {
	net.Conn
	d *dialer
}

func (tc *trackedConn) Close() error {
	tc.d.mu.Lock()
	delete(tc.d.open, tc)
	tc.d.mu.Unlock()
	return tc.Conn.Close()
}
