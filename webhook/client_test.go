package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

// TestAttemptOutcomes sends one event to receivers that answer in ways the
// client must not misread, and checks what the attempt recorded.
func TestAttemptOutcomes(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	cases := []struct {
		name    string
		timeout time.Duration
		// serve answers; elsewhere is a second receiver that must never be
		// reached.
		serve       func(w http.ResponseWriter, r *http.Request, elsewhere string)
		status      int
		errContains string // empty: the attempt succeeded
		// cutAtTimeout: the attempt ends at its timeout, not before.
		cutAtTimeout bool
	}{
		{
			name: "a redirect is a failed attempt and is not followed",
			serve: func(w http.ResponseWriter, r *http.Request, elsewhere string) {
				http.Redirect(w, r, elsewhere, http.StatusFound)
			},
			status: http.StatusFound, errContains: "receiver answered HTTP 302",
		},
		{
			name: "a permanent redirect too",
			serve: func(w http.ResponseWriter, r *http.Request, elsewhere string) {
				http.Redirect(w, r, elsewhere, http.StatusPermanentRedirect)
			},
			status: http.StatusPermanentRedirect, errContains: "receiver answered HTTP 308",
		},
		{
			name: "a 2xx with a body longer than is read is a success",
			serve: func(w http.ResponseWriter, _ *http.Request, _ string) {
				_, _ = w.Write([]byte(big))
			},
			status: http.StatusOK,
		},
		{
			name: "a 2xx with a long chunked body is a success",
			serve: func(w http.ResponseWriter, _ *http.Request, _ string) {
				for range 16 {
					_, _ = w.Write([]byte(big[:64<<10]))
					w.(http.Flusher).Flush()
				}
			},
			status: http.StatusOK,
		},
		{
			name: "a 5xx with a long body keeps its status",
			serve: func(w http.ResponseWriter, _ *http.Request, _ string) {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(big))
			},
			status: http.StatusServiceUnavailable, errContains: "receiver answered HTTP 503",
		},
		{
			// The timeout bounds the whole exchange, not the gaps between
			// reads: a receiver that answers at once and then trickles its
			// body is cut at the timeout. The body (within what is read of
			// a response) would take 20 minutes, so an attempt that were
			// not cut would outlast settle's bound and fail the test.
			name:    "a body trickled past the timeout is cut at the timeout",
			timeout: 300 * time.Millisecond,
			serve: func(w http.ResponseWriter, r *http.Request, _ string) {
				const n = 60_000 // below maxResponseBytes: all of it is read
				w.Header().Set("Content-Length", strconv.Itoa(n))
				w.WriteHeader(http.StatusOK)
				for range n {
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			},
			errContains: "timeout: no response within 300ms", cutAtTimeout: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if tc.timeout != 0 {
					c.Timeout = tc.timeout
				}
			})
			elsewhere := newReceiver(t, nil)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.serve(w, r, elsewhere.url())
			}))
			t.Cleanup(srv.Close)
			ep := h.endpoint(srv.URL + "/hook")
			h.event(model.EvtCardCreated, nil)
			h.settle()

			ds := h.deliveries(ep.ID)
			require.Len(t, ds, 1)
			d := ds[0]
			require.Equal(t, tc.status, d.StatusCode)
			if tc.errContains == "" {
				require.Equal(t, DeliverySucceeded, d.Status)
				require.Empty(t, d.Error)
				require.Zero(t, h.count(queuePrefix(ep.ID)))
			} else {
				require.Equal(t, DeliveryFailed, d.Status)
				require.Contains(t, d.Error, tc.errContains)
				require.Equal(t, model.Ms(t0.Add(10*time.Second)), d.NextAttemptAt)
			}
			if tc.cutAtTimeout {
				// The deadline is taken from the attempt's start; the
				// latency is rounded to the millisecond.
				require.GreaterOrEqual(t, d.LatencyMs, tc.timeout.Milliseconds()-1)
			}
			require.Empty(t, elsewhere.requests(), "redirects are never followed")
		})
	}
}

// hangTimeout only keeps a broken test from hanging: no assertion depends on
// how fast anything happens.
const hangTimeout = 30 * time.Second

// TestCloseCutsAttemptInFlight closes the Service while a receiver holds an
// attempt: Close cuts the attempt's connection and returns without waiting
// for the attempt's deadline (an hour away), and the attempt is not
// recorded, so it is made again after the restart.
func TestCloseCutsAttemptInFlight(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timeout = time.Hour })
	var hits atomic.Int32
	held := make(chan struct{})
	cut := make(chan struct{})
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		if hits.Add(1) == 1 {
			close(held)
			<-r.Context().Done() // until the sender goes away
			close(cut)
			return 0
		}
		return 200
	})
	ep := h.endpoint(rc.url())
	id := h.event(model.EvtCardCreated, nil)
	h.svc.Kick()
	<-held

	closed := make(chan error, 1)
	go func() { closed <- h.svc.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(hangTimeout):
		t.Fatal("Close waits for the attempt in flight")
	}
	h.svc = nil
	select {
	case <-cut:
	case <-time.After(hangTimeout):
		t.Fatal("Close returned, but the receiver still holds the attempt's connection")
	}

	h.restart()
	h.settle()
	require.Equal(t, []string{id, id}, rc.ids())
	require.Equal(t, []string{id}, rc.delivered())
	ds := h.deliveries(ep.ID)
	require.Len(t, ds, 1, "the abandoned attempt left no record")
	require.Equal(t, 1, ds[0].Attempt)
	require.Equal(t, DeliverySucceeded, ds[0].Status)
}

// TestReceiverClosesIdleConnection: a receiver that closes keep-alive
// connections soon after each request (as many servers do after 5 s) must
// not make the next attempt fail on the closed connection. Each attempt
// after the first is made only once the receiver has closed the previous
// connection (its ConnState reports it), on a client that still holds that
// connection as idle.
func TestReceiverClosesIdleConnection(t *testing.T) {
	h := newHarness(t, nil)
	var conns atomic.Int32
	closed := make(chan struct{}, 8)
	rc := &receiver{t: t}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	// Short, so the test is short; nothing waits for it but the close.
	rc.srv.Config.IdleTimeout = 20 * time.Millisecond
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed:
			closed <- struct{}{}
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	ep := h.endpoint(rc.url())

	var ids []string
	for i := range 3 {
		ids = append(ids, h.event(model.EvtCardCreated, nil))
		h.settle()
		ds := h.deliveries(ep.ID)
		require.Len(t, ds, i+1)
		last := ds[0] // newest first
		require.Equal(t, DeliverySucceeded, last.Status, "attempt %d: %s", i+1, last.Error)
		select {
		case <-closed: // the receiver closed the idle connection
		case <-time.After(hangTimeout):
			t.Fatalf("the receiver did not close the idle connection after attempt %d", i+1)
		}
	}
	require.Equal(t, ids, rc.delivered())
	for _, d := range h.deliveries(ep.ID) {
		require.Equal(t, 1, d.Attempt)
		require.Equal(t, DeliverySucceeded, d.Status)
	}
	require.Equal(t, int32(3), conns.Load(), "a new connection after each close")
}

// TestHTTPS delivers over TLS with an injected client that trusts the test
// receiver's certificate, and checks that the default client verifies
// certificates.
func TestHTTPS(t *testing.T) {
	var got atomic.Pointer[http.Request]
	var body atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body.Store(b)
		got.Store(r)
	}))
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	t.Run("an injected client that trusts the receiver", func(t *testing.T) {
		client := &fasthttp.Client{TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
		h := newHarness(t, func(c *Config) { c.Client = client })
		ep := h.endpoint(srv.URL + "/hook")
		id := h.event(model.EvtCardCreated, nil)
		h.settle()
		require.Equal(t, DeliverySucceeded, h.deliveries(ep.ID)[0].Status)
		r := got.Load()
		require.NotNil(t, r)
		require.NotNil(t, r.TLS)
		require.Equal(t, id, r.Header.Get("X-Ledger-Event-Id"))
		require.NoError(t, signature.Verify(r.Header.Get(signature.Header), body.Load().([]byte), []string{ep.Secret},
			h.clk.Now(), signature.DefaultTolerance))
	})
	t.Run("the default client verifies the certificate", func(t *testing.T) {
		got.Store(nil)
		h := newHarness(t, nil)
		ep := h.endpoint(srv.URL + "/hook")
		h.event(model.EvtCardCreated, nil)
		h.settle()
		d := h.deliveries(ep.ID)[0]
		require.Equal(t, DeliveryFailed, d.Status)
		require.Contains(t, d.Error, "certificate")
		require.Nil(t, got.Load())
	})
}

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that answers status
// (200: it opens the tunnel) and records what it was asked.
type connectProxy struct {
	ln     net.Listener
	status int
	mu     sync.Mutex
	asked  []string // CONNECT targets
	auths  []string // Proxy-Authorization headers
}

func newConnectProxy(t *testing.T, status int) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{ln: ln, status: status}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	p.mu.Lock()
	p.asked = append(p.asked, req.RequestURI)
	p.auths = append(p.auths, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.status != http.StatusOK {
		_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", p.status, http.StatusText(p.status))
		return
	}
	up, err := net.Dial("tcp", req.RequestURI)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() {
		_, _ = io.Copy(up, br)
		_ = up.Close()
	}()
	_, _ = io.Copy(c, up)
}

func (p *connectProxy) url(userinfo string) *url.URL {
	u, _ := url.Parse("http://" + userinfo + p.ln.Addr().String())
	return u
}

func (p *connectProxy) requests() (asked, auths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked), slices.Clone(p.auths)
}

// TestProxy sends attempts through a CONNECT proxy, as the default client
// does when HTTP_PROXY or HTTPS_PROXY names one.
func TestProxy(t *testing.T) {
	tlsRecv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsRecv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(tlsRecv.Certificate())
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pa ss"))

	cases := []struct {
		name        string
		status      int    // the proxy's answer to CONNECT
		userinfo    string // in the proxy's URL
		scheme      string // of the proxy's URL, when not http
		https       bool   // the receiver is tlsRecv
		errContains string // empty: delivered
		auth        string // the Proxy-Authorization the proxy must see
	}{
		{name: "http through the proxy", status: 200},
		{name: "with credentials", status: 200, userinfo: "user:pa%20ss@", auth: basic},
		{name: "https through the proxy", status: 200, https: true},
		{name: "the proxy refuses", status: 407, errContains: "proxy answered CONNECT with HTTP 407"},
		{name: "socks5 is not supported", status: 200, scheme: "socks5", errContains: `proxy scheme "socks5" is not supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newConnectProxy(t, tc.status)
			pu := p.url(tc.userinfo)
			if tc.scheme != "" {
				pu.Scheme = tc.scheme
			}
			proxy := func(*http.Request) (*url.URL, error) { return pu, nil }
			var h *harness
			var target string
			if tc.https {
				// The default client does not trust the test certificate: the
				// same client, with roots that do.
				d := newDialer(context.Background())
				d.proxy = proxy
				t.Cleanup(d.closeAll)
				client := newClient(&Config{MaxInFlight: 4}, d)
				client.TLSConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
				h = newHarness(t, func(c *Config) { c.Client = client })
				target = tlsRecv.URL + "/hook"
			} else {
				h = newHarness(t, nil)
				h.svc.dialer.proxy = proxy
				rc := newReceiver(t, nil)
				target = rc.url()
			}
			ep := h.endpoint(target)
			h.event(model.EvtCardCreated, nil)
			h.settle()

			d := h.deliveries(ep.ID)[0]
			if tc.errContains != "" {
				require.Equal(t, DeliveryFailed, d.Status)
				require.Contains(t, d.Error, tc.errContains)
				require.NotContains(t, d.Error, "pa ss")
				return
			}
			require.Equal(t, DeliverySucceeded, d.Status, d.Error)
			tu, err := url.Parse(target)
			require.NoError(t, err)
			asked, auths := p.requests()
			require.Equal(t, []string{tu.Host}, asked, "one tunnel, to the receiver")
			require.Equal(t, []string{tc.auth}, auths)
		})
	}
}
