package webhook

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// t0 is where every virtual clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness is a store, a decision log, a virtual clock and a Service on
// them, with helpers to write events the way the ledger does.
type harness struct {
	t   *testing.T
	dir string
	fs  vfs.FS
	db  *store.DB
	log *testLog
	// l, when withLedger, is a real ledger on the store: its log is the
	// one fan-out reads, and the harness writes no events of its own.
	withLedger bool
	l          *ledger.Ledger
	clk        *clock.Virtual
	svc        *Service
	cfg        Config
	ids        model.IDGen
}

// testLog is a real decision log whose records are bare events (an ID and
// an event's stored form each, as many as a record has), read as the
// ledger's ReadEvents reads its records: fan-out sees the same LSNs,
// durability and retention as with the ledger.
type testLog struct {
	t    testing.TB
	dlog decisionlog.Log
}

func openTestLog(t testing.TB, fs vfs.FS, dir string) *testLog {
	t.Helper()
	if fs == nil {
		fs = vfs.Default
	}
	// Segments as small as they go, so that a test can make the log's
	// retention drop some.
	dlog, err := decisionlog.Open(decisionlog.Config{Dir: fs.PathJoin(dir, "log"), FS: fs, SegmentBytes: decisionlog.MaxRecordBytes + 64,
		OnFatal: func(err error) { t.Errorf("decision log failed: %v", err) }})
	require.NoError(t, err)
	return &testLog{t: t, dlog: dlog}
}

func (l *testLog) DurableLSN() decisionlog.LSN { return l.dlog.Durable() }

var errStopRead = errors.New("stop")

func (l *testLog) ReadEvents(after decisionlog.LSN, fn func(lsn decisionlog.LSN, id string, raw []byte) error) (decisionlog.LSN, error) {
	durable := l.dlog.Durable()
	if after >= durable {
		return after, nil
	}
	err := l.dlog.ReadFrom(after+1, func(lsn decisionlog.LSN, rec []byte) error {
		if lsn > durable {
			return errStopRead
		}
		for len(rec) > 0 {
			var parts [2][]byte
			for i := range parts {
				n, k := binary.Uvarint(rec)
				if k <= 0 || n > uint64(len(rec)-k) {
					return errors.New("malformed test record")
				}
				parts[i], rec = rec[k:k+int(n)], rec[k+int(n):]
			}
			if err := fn(lsn, string(parts[0]), parts[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopRead) {
		return after, err
	}
	return durable, nil
}

// testEvent is an event for a test record.
type testEvent struct {
	id  string
	raw []byte
}

// append writes one record with the events evs and waits for it to be
// durable.
func (l *testLog) append(evs ...testEvent) decisionlog.LSN {
	var rec []byte
	for _, e := range evs {
		rec = binary.AppendUvarint(rec, uint64(len(e.id)))
		rec = append(rec, e.id...)
		rec = binary.AppendUvarint(rec, uint64(len(e.raw)))
		rec = append(rec, e.raw...)
	}
	lsn, err := l.dlog.Append(rec)
	require.NoError(l.t, err)
	require.NoError(l.t, l.dlog.WaitDurable(lsn))
	return lsn
}

func (l *testLog) close() { require.NoError(l.t, l.dlog.Close()) }

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
	if h.withLedger {
		v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("ab", 32)})
		require.NoError(h.t, err)
		h.l, err = ledger.Open(ledger.Config{Store: db, Vault: v, Clock: h.clk})
		require.NoError(h.t, err)
		cfg.Log = h.l
	} else {
		h.log = openTestLog(h.t, h.fs, h.dir)
		cfg.Log = h.log
	}
	h.svc, err = New(cfg)
	require.NoError(h.t, err)
	if h.l != nil {
		h.l.AttachEventReader(h.svc)
	}
}

// newLedgerHarness is newHarness on a real ledger.
func newLedgerHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clk: clock.NewVirtual(t0), withLedger: true}
	h.cfg = Config{Rand: func() float64 { return 0.5 }, PollInterval: time.Hour, Timeout: 5 * time.Second}
	h.open()
	t.Cleanup(h.close)
	return h
}

// close stops the Service, then the log and the store (idempotent).
func (h *harness) close() {
	if h.svc != nil {
		require.NoError(h.t, h.svc.Close())
		h.svc = nil
	}
	if h.l != nil {
		require.NoError(h.t, h.l.Close())
		h.l = nil
	}
	if h.log != nil {
		h.log.close()
		h.log = nil
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

// event records an event as the ledger's change.event does: in a
// decision record, durable when event returns, and in the store (where
// the events API reads it).
func (h *harness) event(typ string, data any) string {
	h.t.Helper()
	ev := h.newEvent(typ, data)
	h.record(ev)
	return ev.id
}

// newEvent encodes an event with a new ID, as the ledger does.
func (h *harness) newEvent(typ string, data any) testEvent {
	h.t.Helper()
	now := h.clk.Now()
	raw, err := eventlog.AppendJSON(nil, model.Ms(now), typ, data)
	require.NoError(h.t, err)
	return testEvent{id: h.ids.New(model.PrefixEvent, now), raw: raw}
}

// record writes one decision record with the events evs, and the events
// into the store, and returns its LSN.
func (h *harness) record(evs ...testEvent) decisionlog.LSN {
	h.t.Helper()
	lsn := h.log.append(evs...)
	b := h.db.NewBatch()
	for _, e := range evs {
		b.Put(keyspace.EventKey(e.id), e.raw)
	}
	require.NoError(h.t, h.db.Commit(b))
	return lsn
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
