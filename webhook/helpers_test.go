package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// t0 is where every virtual clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness is a store, a virtual clock and a Service on them, with helpers
// to write events the way the ledger does.
type harness struct {
	t   *testing.T
	dir string
	fs  vfs.FS
	db  *store.DB
	clk *clock.Virtual
	svc *Service
	cfg Config
	ids model.IDGen
}

// newHarness opens a Service with no jitter and a long poll interval, so
// that only Kick and Settle make it act; mutate adjusts the config.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clk: clock.NewVirtual(t0)}
	h.cfg = Config{Rand: func() float64 { return 0.5 }, PollInterval: time.Hour, Timeout: 5 * time.Second}
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.open()
	t.Cleanup(h.close)
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := store.Open(store.Options{Dir: h.dir, FS: h.fs})
	require.NoError(h.t, err)
	h.db = db
	cfg := h.cfg
	cfg.Store, cfg.Clock = db, h.clk
	h.svc, err = New(cfg)
	require.NoError(h.t, err)
}

// close stops the Service, then the store (idempotent).
func (h *harness) close() {
	if h.svc != nil {
		require.NoError(h.t, h.svc.Close())
		h.svc = nil
	}
	if h.db != nil {
		require.NoError(h.t, h.db.Close())
		h.db = nil
	}
}

func (h *harness) restart() {
	h.t.Helper()
	h.close()
	h.open()
}

// event commits an event as ledger's change.event does: the record, its
// type index and its outbox marker in one synced batch.
func (h *harness) event(typ string, data any) string {
	h.t.Helper()
	now := h.clk.Now()
	ev := model.Event{ID: h.ids.New(model.PrefixEvent, now), Type: typ, CreatedAt: model.Ms(now), Data: data}
	b := h.db.NewBatch()
	require.NoError(h.t, b.PutJSON(store.EventKey(ev.ID), ev))
	b.Put(store.OutboxKey(ev.ID), nil)
	require.NoError(h.t, h.db.Commit(b))
	return ev.ID
}

func (h *harness) events(n int, typ string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = h.event(typ, map[string]any{"n": i})
	}
	return ids
}

// settle waits (with a deadline that only guards against hangs) until the
// dispatcher has nothing due at the virtual clock's time.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(h.t, h.svc.Settle(ctx))
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	h.settle()
}

func (h *harness) endpoint(url string, events ...string) Endpoint {
	h.t.Helper()
	ep, err := h.svc.Create(CreateInput{URL: url, Events: events}, nil)
	require.NoError(h.t, err)
	return ep
}

func (h *harness) deliveries(id string) []Delivery {
	h.t.Helper()
	p, err := h.svc.Deliveries(id, 100, "")
	require.NoError(h.t, err)
	require.False(h.t, p.HasMore)
	return p.Items
}

// count is the number of records under prefix.
func (h *harness) count(prefix []byte) int {
	n := 0
	require.NoError(h.t, h.db.Scan(prefix, "", false, func(_, _ []byte) bool { n++; return true }))
	return n
}

// received is one request a receiver got.
type received struct {
	eventID, eventType, signature, userAgent, contentType, query string
	body                                                         []byte
	status                                                       int
}

// receiver is a real HTTP server on 127.0.0.1 that records requests and
// answers with what respond returns (200 when nil).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, r *http.Request) int
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// newReceiverOn starts a receiver on a given address (to bring a "down"
// receiver back on its old port).
func newReceiverOn(t *testing.T, addr string, respond func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, respond: respond}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	_ = rc.srv.Listener.Close()
	rc.srv.Listener = ln
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, received{eventID: r.Header.Get("X-Ledger-Event-Id"), eventType: r.Header.Get("X-Ledger-Event-Type"),
		signature: r.Header.Get("X-Ledger-Signature"), userAgent: r.Header.Get("User-Agent"),
		contentType: r.Header.Get("Content-Type"), query: r.URL.RawQuery, body: body})
	rc.mu.Unlock()
	status := 200
	if rc.respond != nil {
		status = rc.respond(n, r)
	}
	rc.mu.Lock()
	rc.got[n].status = status
	rc.mu.Unlock()
	if status > 0 {
		w.WriteHeader(status)
	}
}

func (rc *receiver) url() string { return rc.srv.URL + "/hook" }

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// ids are the event IDs of the requests, in arrival order.
func (rc *receiver) ids() []string {
	var out []string
	for _, r := range rc.requests() {
		out = append(out, r.eventID)
	}
	return out
}

// delivered are the event IDs the receiver answered with a 2xx, in order.
func (rc *receiver) delivered() []string {
	var out []string
	for _, r := range rc.requests() {
		if r.status >= 200 && r.status < 300 {
			out = append(out, r.eventID)
		}
	}
	return out
}

// closedAddr returns a 127.0.0.1 address nobody listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func decodeEnvelope(t *testing.T, raw []byte) Envelope {
	var env Envelope
	require.NoError(t, json.Unmarshal(raw, &env))
	return env
}
