package webhook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// queuedAt reads the time each event was queued for the endpoint.
func (h *harness) queuedAt(epID string) map[string]int64 {
	h.t.Helper()
	at := map[string]int64{}
	require.NoError(h.t, h.db.Scan(queuePrefix(epID), "", false, func(_, v []byte) bool {
		var q queued
		require.NoError(h.t, decodeQueued(v, &q))
		at[q.EventID] = q.EnqueuedAt
		return true
	}))
	return at
}

// deliveredTo are the event IDs the receiver answered with a 2xx for the
// endpoint whose URL has the query q.
func deliveredTo(rc *receiver, q string) []string {
	var out []string
	for _, r := range rc.requests() {
		if r.query == q && r.status >= 200 && r.status < 300 {
			out = append(out, r.eventID)
		}
	}
	return out
}

func (h *harness) cursor() decisionlog.LSN {
	h.t.Helper()
	raw, err := h.db.Get(cursorKey)
	require.NoError(h.t, err)
	return decisionlog.LSN(binary.BigEndian.Uint64(raw))
}

// TestRestartBetweenFanOutBatchesQueuesEachEventOnce crashes the machine
// after a given fan-out batch was synced and restarts on what the disk
// kept: the events of the batches before the crash stay queued as they
// were (not queued again), and those after are queued by the restart,
// each once.
func TestRestartBetweenFanOutBatchesQueuesEachEventOnce(t *testing.T) {
	const n, batch = 20, 4 // one event per record: five batches
	for _, crashAfter := range []int{0, 1, 3, 5} {
		t.Run(map[int]string{0: "before any batch", 1: "after the first", 3: "after the third", 5: "after the last"}[crashAfter], func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			h := &harness{t: t, dir: "/data", fs: mem, clk: clock.NewVirtual(t0)}
			h.cfg = Config{Rand: func() float64 { return 0.5 }, PollInterval: time.Hour, Timeout: 5 * time.Second, FanOutBatch: batch}
			h.open()
			t.Cleanup(h.close)
			// Deliveries fail, so that the queue records stay to be read.
			ep := h.endpoint("http://" + closedAddr(t) + "/hook")
			ids := h.events(n, model.EvtCardCreated)

			var image *vfs.MemFS
			if crashAfter == 0 {
				image = mem.CrashClone(vfs.CrashCloneCfg{})
			}
			batches := 0
			h.svc.mu.Lock()
			h.svc.fannedOut = func(decisionlog.LSN) {
				if batches++; batches == crashAfter {
					image = mem.CrashClone(vfs.CrashCloneCfg{})
				}
			}
			h.svc.mu.Unlock()
			h.settle()
			require.Equal(t, n/batch, batches)
			h.close()

			later := t0.Add(time.Hour)
			h2 := &harness{t: t, dir: "/data", fs: image, clk: clock.NewVirtual(later), cfg: h.cfg}
			h2.open()
			t.Cleanup(h2.close)
			h2.settle()
			at := h2.queuedAt(ep.ID)
			require.Len(t, at, n, "every event is queued")
			for i, id := range ids {
				want := model.Ms(later)
				if i < crashAfter*batch {
					want = model.Ms(t0)
				}
				require.Equal(t, want, at[id], "event %d queued once, before the crash or after it", i)
			}
			require.Equal(t, h2.log.DurableLSN(), h2.cursor())
		})
	}
}

// TestOldStoresOutboxIsDelivered: a store written before fan-out tailed
// the log keeps its undelivered events as outbox markers. They are
// delivered once and deleted; the log is read from the durable LSN of
// the first start (the events before it that anyone wanted have markers).
func TestOldStoresOutboxIsDelivered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dropCursor bool // a store of the old layout has none
	}{
		{"a store of the old layout", true},
		{"a conversion that stopped half-way", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rc := newReceiver(t, nil)
			h.endpoint(rc.url())
			h.endpoint(rc.url()+"?cards", model.EvtCardCreated)
			require.NoError(t, h.svc.Close())
			h.svc = nil
			// What the old ledger wrote: events in the log and the store,
			// and a marker for each still to fan out.
			recorded := h.events(3, model.EvtUserApproved)
			var marked []string
			b := h.db.NewBatch()
			for i := range 4 {
				typ := model.EvtCardCreated
				if i%2 == 1 {
					typ = model.EvtUserApproved
				}
				ev := h.newEvent(typ, map[string]int{"n": i})
				b.Put(keyspace.EventKey(ev.id), ev.raw)
				b.Put(keyspace.OutboxKey(ev.id), nil)
				marked = append(marked, ev.id)
			}
			if tc.dropCursor {
				b.Delete(cursorKey)
			}
			require.NoError(t, h.db.Commit(b))
			h.close()

			h.open()
			h.settle()
			require.Zero(t, h.count(keyspace.OutboxPrefix), "the markers are deleted")
			want := marked
			if !tc.dropCursor {
				// The cursor was kept: the log after it is read too.
				want = append(append([]string(nil), recorded...), marked...)
			}
			require.ElementsMatch(t, want, deliveredTo(rc, ""))
			require.ElementsMatch(t, []string{marked[0], marked[2]}, deliveredTo(rc, "cards"), "to the endpoints that subscribe")
			require.Equal(t, h.log.DurableLSN(), h.cursor())

			later := h.event(model.EvtUserApproved, nil)
			h.restart()
			h.settle()
			require.ElementsMatch(t, append(want, later), deliveredTo(rc, ""), "nothing again after a restart, and the log after")
			require.Len(t, deliveredTo(rc, "cards"), 2)
		})
	}
}

// TestNeededLSN: the log is kept for fan-out only while an endpoint is
// enabled, and then from the record after its durable cursor.
func TestNeededLSN(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	h.events(3, model.EvtCardCreated)
	h.settle()
	require.Zero(t, h.svc.NeededLSN(), "no endpoint: nothing is held back")

	ep := h.endpoint(rc.url())
	require.Equal(t, h.log.DurableLSN()+1, h.svc.NeededLSN(), "an endpoint starts with what happens after it")
	h.events(2, model.EvtCardCreated)
	require.Equal(t, h.log.DurableLSN()-1, h.svc.NeededLSN(), "the records fan-out has not read are kept")
	h.settle()
	require.Equal(t, h.log.DurableLSN()+1, h.svc.NeededLSN())
	require.Len(t, rc.delivered(), 2)

	off := StatusDisabled
	_, err := h.svc.Update(ep.ID, UpdateInput{Status: &off})
	require.NoError(t, err)
	h.events(2, model.EvtCardCreated)
	require.Zero(t, h.svc.NeededLSN(), "a disabled endpoint holds nothing back")
}

// TestCursorBelowTheLogsStart: when the log no longer holds the records
// after the cursor (here dropped by a retention that did not ask), the
// events of the records that are left are delivered, and the log says
// which were lost.
func TestCursorBelowTheLogsStart(t *testing.T) {
	var logged bytes.Buffer
	h := newHarness(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	rc := newReceiver(t, nil)
	h.endpoint(rc.url())
	require.NoError(t, h.svc.Close())
	h.svc = nil
	pad := strings.Repeat("x", 600<<10) // two records fill a segment
	var ids []string
	var lsns []decisionlog.LSN
	for i := range 4 {
		ev := h.newEvent(model.EvtCardCreated, map[string]any{"n": i, "pad": pad})
		lsns = append(lsns, h.record(ev))
		ids = append(ids, ev.id)
	}
	require.NoError(t, h.log.dlog.TruncateBelow(lsns[2]))
	err := h.log.dlog.ReadFrom(lsns[0], func(decisionlog.LSN, []byte) error { return nil })
	var te *decisionlog.TruncatedError
	require.ErrorAs(t, err, &te, "the first records are gone")
	first := te.First

	h.close()
	h.open()
	h.settle()
	var want []string
	for i, lsn := range lsns {
		if lsn >= first {
			want = append(want, ids[i])
		}
	}
	require.NotEmpty(t, want)
	require.Less(t, len(want), len(ids))
	require.Equal(t, want, rc.delivered(), "what the log still has")
	require.Contains(t, logged.String(), "no longer holds the records after the delivery cursor")
	require.Contains(t, logged.String(), fmt.Sprintf("logStartsAt=%d", first))
	require.Equal(t, h.log.DurableLSN(), h.cursor())
}
