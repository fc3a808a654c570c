package webhook

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

func TestRotationSignsWithBothSecretsFor24Hours(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep := h.endpoint(rc.url())
	old := ep.Secret

	h.clk.Advance(time.Hour)
	rotated, err := h.svc.RotateSecret(ep.ID, nil)
	require.NoError(t, err)
	require.NotEqual(t, old, rotated.Secret)
	require.True(t, strings.HasPrefix(rotated.Secret, SecretPrefix))
	require.Equal(t, model.Ms(t0.Add(25*time.Hour)), rotated.PreviousSecretExpiresAt)

	verify := func(r received, secrets ...string) error {
		return signature.Verify(r.signature, r.body, secrets, h.clk.Now(), signature.DefaultTolerance)
	}

	// During the overlap: two v1 values, the new secret's first; a receiver
	// holding either secret accepts the delivery.
	h.clk.Advance(23*time.Hour + 59*time.Minute)
	h.event(model.EvtCardCreated, nil)
	h.settle()
	r := rc.requests()[0]
	require.Equal(t, 2, strings.Count(r.signature, "v1="))
	require.Equal(t, signature.SignAll([]string{rotated.Secret, old}, h.clk.Now(), r.body), r.signature)
	require.NoError(t, verify(r, old))
	require.NoError(t, verify(r, rotated.Secret))
	require.ErrorIs(t, verify(r, "whsec_unrelated"), signature.ErrMismatch)

	// After it: the new secret only.
	h.clk.Advance(time.Minute)
	h.event(model.EvtCardCreated, nil)
	h.settle()
	r = rc.requests()[1]
	require.Equal(t, 1, strings.Count(r.signature, "v1="))
	require.NoError(t, verify(r, rotated.Secret))
	require.ErrorIs(t, verify(r, old), signature.ErrMismatch)
	require.NoError(t, verify(r, old, rotated.Secret), "a receiver may keep both")

	// The rotation survives a restart.
	h.restart()
	got, err := h.svc.Get(ep.ID)
	require.NoError(t, err)
	require.Equal(t, rotated.Secret, got.Secret)
}

func TestRetryAfterRotationIsSignedAtItsOwnTime(t *testing.T) {
	h := newHarness(t, nil)
	fail := true
	rc := newReceiver(t, func(int, *http.Request) int {
		if fail {
			return 500
		}
		return 200
	})
	ep := h.endpoint(rc.url())
	h.event(model.EvtCardCreated, nil)
	h.settle()
	rotated, err := h.svc.RotateSecret(ep.ID, nil)
	require.NoError(t, err)
	fail = false
	h.advance(10 * time.Second)
	r := rc.requests()[1]
	require.NoError(t, signature.Verify(r.signature, r.body, []string{rotated.Secret}, h.clk.Now(), time.Second))
	require.NoError(t, signature.Verify(r.signature, r.body, []string{ep.Secret}, h.clk.Now(), time.Second))
}

// seen collects the event IDs a receiver answered with 2xx.
func seen(rcs ...*receiver) map[string]int {
	m := map[string]int{}
	for _, rc := range rcs {
		for _, id := range rc.delivered() {
			m[id]++
		}
	}
	return m
}

func TestCloseMidBacklogThenResume(t *testing.T) {
	h := newHarness(t, nil)
	const n, stopAt = 60, 25
	stop := make(chan struct{})
	var hits atomic.Int32
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		if hits.Add(1) == stopAt {
			close(stop)
			<-r.Context().Done() // in flight when the Service closes
			return 0
		}
		return 200
	})
	h.endpoint(rc.url())
	ids := h.events(n, model.EvtTxnAuthorized)
	h.svc.Kick()
	<-stop
	h.close() // Service, then store, mid-backlog with an attempt in flight
	require.Less(t, len(rc.delivered()), n)

	h.open()
	h.settle()
	got := seen(rc)
	for _, id := range ids {
		require.GreaterOrEqual(t, got[id], 1, "event %s delivered", id)
	}
	require.Equal(t, ids, slices.Compact(rc.delivered()), "still in order")
	require.Zero(t, h.count([]byte(pQueue)))
}

// TestCrashMidBacklog takes a crash image of the store (only what was
// synced) while deliveries are running, then restarts on it.
func TestCrashMidBacklog(t *testing.T) {
	mem := vfs.NewCrashableMem()
	h := &harness{t: t, dir: "/data", fs: mem, clk: clock.NewVirtual(t0)}
	h.cfg = Config{Rand: func() float64 { return 0.5 }, PollInterval: time.Hour, Timeout: 5 * time.Second}
	h.open()
	t.Cleanup(h.close)

	const n = 80
	var (
		hits    atomic.Int32
		phase   atomic.Int32 // 0: before the crash, 1: the dead process, 2: after restart
		mu      sync.Mutex
		counted = map[string]map[string]bool{} // endpoint (by query) -> event IDs
		before  int
	)
	crashed := make(chan struct{})
	var image *vfs.MemFS
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		if phase.Load() == 0 && hits.Add(1) == n/2 {
			image = mem.CrashClone(vfs.CrashCloneCfg{}) // the machine dies here
			phase.Store(1)
			close(crashed)
		}
		mu.Lock()
		defer mu.Unlock()
		// What the dead process sends after the crash point does not count:
		// only the restarted process can make up for what the crash lost.
		if p := phase.Load(); p != 1 {
			if counted[r.URL.RawQuery] == nil {
				counted[r.URL.RawQuery] = map[string]bool{}
			}
			counted[r.URL.RawQuery][r.Header.Get("X-Ledger-Event-Id")] = true
			if p == 0 {
				before++
			}
		}
		return 200
	})
	a := h.endpoint(rc.url())
	b := h.endpoint(rc.url()+"?second", model.EvtTxnAuthorized)
	ids := h.events(n, model.EvtTxnAuthorized)
	h.svc.Kick()
	<-crashed
	h.close()

	h2 := &harness{t: t, dir: "/data", fs: image, clk: clock.NewVirtual(t0), cfg: h.cfg}
	phase.Store(2)
	h2.open()
	t.Cleanup(h2.close)
	h2.settle()
	mu.Lock()
	defer mu.Unlock()
	for _, q := range []string{"", "second"} {
		for _, id := range ids {
			require.True(t, counted[q][id], "event %s delivered to endpoint %q at least once", id, q)
		}
	}
	require.Greater(t, before, 0)
	require.Less(t, before, 2*n, "the crash happened mid-backlog")
	for _, ep := range []string{a.ID, b.ID} {
		require.Zero(t, h2.count(queuePrefix(ep)))
	}
}

func TestFanOutIsExactlyOnce(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(int, *http.Request) int { return 500 })
	all := h.endpoint(rc.url())
	cards := h.endpoint(rc.url(), model.EvtCardCreated)
	disabled := h.endpoint(rc.url())
	off := StatusDisabled
	_, err := h.svc.Update(disabled.ID, UpdateInput{Status: &off})
	require.NoError(t, err)

	h.events(7, model.EvtCardCreated)
	h.events(5, model.EvtAgentCreated)
	h.settle()
	require.Equal(t, 12, h.count(queuePrefix(all.ID)))
	require.Equal(t, 7, h.count(queuePrefix(cards.ID)))
	require.Zero(t, h.count(queuePrefix(disabled.ID)))

	// A restart does not fan the same events out again.
	h.restart()
	h.settle()
	require.Equal(t, 12, h.count(queuePrefix(all.ID)))
	require.Equal(t, 7, h.count(queuePrefix(cards.ID)))
	require.Len(t, h.deliveries(all.ID), 1, "one attempt so far: the endpoint rests after its failure")
}

func TestEventsRecordedWhileStoppedAreDelivered(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	h.endpoint(rc.url())
	h.svc.Close()
	h.svc = nil
	// Events recorded while no dispatcher runs (the server died after the
	// ledger synced them).
	ids := h.events(10, model.EvtUserApproved)
	h.close()
	h.open() // the dispatcher reads the log from its cursor at start, unprompted
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(rc.delivered()) < len(ids) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, ids, rc.delivered())
}

func TestDeadReceiverKeepsMemoryBounded(t *testing.T) {
	const perEndpoint, total = 4, 10
	h := newHarness(t, func(c *Config) {
		c.MaxBufferedPerEndpoint, c.MaxBuffered, c.FanOutBatch = perEndpoint, total, 50
	})
	addr := closedAddr(t)
	var eps []Endpoint
	for i := range 3 {
		eps = append(eps, h.endpoint("http://"+addr+"/hook/"+string(rune('a'+i))))
	}
	const n = 400
	h.events(n, model.EvtTxnDeclined)
	h.settle()
	for range 20 {
		h.advance(10 * time.Second)
		st := h.svc.Stats()
		require.LessOrEqual(t, st.Buffered, total)
	}
	h.advance(3 * 24 * time.Hour)
	st := h.svc.Stats()
	require.LessOrEqual(t, st.BufferedHighWater, total, "total in memory is capped")
	require.LessOrEqual(t, st.EndpointHighWater, perEndpoint, "per endpoint in memory is capped")
	require.Equal(t, total, st.BufferedHighWater, "and the cap was reached")
	queued := 0
	for _, ep := range eps {
		queued += h.count(queuePrefix(ep.ID))
	}
	require.Greater(t, queued, 3*n-3*perEndpoint, "the backlog lives in the store")
	h.svc.mu.Lock()
	for _, st := range h.svc.eps {
		require.LessOrEqual(t, len(st.window), perEndpoint)
	}
	h.svc.mu.Unlock()
}

func TestNotifyNeverBlocks(t *testing.T) {
	h := newHarness(t, nil)
	hold := make(chan struct{})
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		return 200
	})
	h.endpoint(rc.url())
	h.event(model.EvtCardCreated, nil)
	h.svc.Kick()
	require.Eventually(t, func() bool { return len(rc.requests()) == 1 }, 30*time.Second, time.Millisecond)
	// The receiver is stuck; notifications must still return at once.
	done := make(chan struct{})
	go func() {
		for range 100000 {
			h.svc.Notify(1)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Notify blocked")
	}
	close(hold)
}

// TestWithLedger wires the dispatcher to a real ledger, as the server
// does: fan-out reads the ledger's decision log.
func TestWithLedger(t *testing.T) {
	h := newLedgerHarness(t)
	rc := newReceiver(t, nil)
	ep := h.endpoint(rc.url(), model.EvtUserApproved)
	l := h.l
	ctx := context.Background()
	u, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "A", LastName: "B", Email: "a@example.com"})
	require.NoError(t, err)
	_, err = l.StartVerification(ctx, u.ID)
	require.NoError(t, err)
	_, err = l.DecideKYC(ctx, u.ID, true)
	require.NoError(t, err)
	h.settle()
	got := rc.requests()
	require.Len(t, got, 1)
	require.Equal(t, model.EvtUserApproved, got[0].eventType)
	require.NoError(t, signature.Verify(got[0].signature, got[0].body, []string{ep.Secret}, h.clk.Now(), time.Minute))
	env := decodeEnvelope(t, got[0].body)
	stored, err := GetEvent(h.db, env.ID)
	require.NoError(t, err)
	require.Equal(t, stored, env, "the body is the event as GET /v1/events/{id} shows it")
}

// TestEventsOutOfIDOrderAreDelivered: events are numbered before their
// records are appended, and appends overlap, so the log can hold an event
// after a newer one. Fan-out follows the log, so every one is delivered,
// with no rescan.
func TestEventsOutOfIDOrderAreDelivered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records [][]int // per record, the events it has, by their ID order
	}{
		{"a newer record first", [][]int{{1}, {0}}},
		{"one record, IDs descending", [][]int{{2, 1, 0}}},
		{"interleaved across records", [][]int{{3, 0}, {5}, {1, 4}, {2}}},
		{"an older event after the batch that read a newer one", [][]int{{4}, {5}, {6}, {0}, {1, 2, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.FanOutBatch = 1 })
			rc := newReceiver(t, nil)
			h.endpoint(rc.url())
			n := 0
			for _, r := range tc.records {
				n += len(r)
			}
			evs := make([]testEvent, n) // in ID order
			for i := range evs {
				evs[i] = h.newEvent(model.EvtCardCreated, map[string]int{"n": i})
			}
			var want []string
			for i, r := range tc.records {
				var rec []testEvent
				for _, k := range r {
					rec = append(rec, evs[k])
					want = append(want, evs[k].id)
				}
				h.svc.Notify(h.record(rec...))
				if i%2 == 0 {
					h.settle() // some records are read before the next is written
				}
			}
			h.settle()
			require.ElementsMatch(t, want, rc.delivered(), "every event, once")
		})
	}
}

func TestWantsFollowsTheEnabledEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	other := newReceiver(t, nil)
	require.False(t, h.svc.Wants(model.EvtCardCreated), "no endpoint, no one to deliver to")

	cards := h.endpoint(other.url(), model.EvtCardCreated)
	require.True(t, h.svc.Wants(model.EvtCardCreated))
	require.False(t, h.svc.Wants(model.EvtTxnAuthorized), "only the types subscribed to")

	disabled := StatusDisabled
	_, err := h.svc.Update(cards.ID, UpdateInput{Status: &disabled})
	require.NoError(t, err)
	require.False(t, h.svc.Wants(model.EvtCardCreated), "a disabled endpoint wants nothing")

	all := h.endpoint(rc.url())
	require.True(t, h.svc.Wants(model.EvtTxnAuthorized), "an empty list is every event")
	h.event(model.EvtTxnAuthorized, nil)
	h.settle()
	require.Eventually(t, func() bool {
		ep, err := h.svc.Get(all.ID)
		return err == nil && ep.Status == StatusDisabled
	}, 10*time.Second, time.Millisecond)
	require.False(t, h.svc.Wants(model.EvtTxnAuthorized), "410 Gone disables the endpoint, and its subscriptions with it")

	enabled := StatusEnabled
	_, err = h.svc.Update(cards.ID, UpdateInput{Status: &enabled})
	require.NoError(t, err)
	require.True(t, h.svc.Wants(model.EvtCardCreated))
	require.NoError(t, h.svc.Delete(cards.ID))
	require.False(t, h.svc.Wants(model.EvtCardCreated), "a deleted endpoint wants nothing")

	h.endpoint(other.url(), model.EvtUserApproved)
	h.restart()
	require.True(t, h.svc.Wants(model.EvtUserApproved), "subscriptions are read back on start")
	require.False(t, h.svc.Wants(model.EvtCardCreated))
}

// TestEventsWithoutSubscribersAreNotQueued: an event no endpoint
// subscribes to is in the event log but queued for no one, and the events
// after an endpoint subscribes are delivered (not those before).
func TestEventsWithoutSubscribersAreNotQueued(t *testing.T) {
	h := newLedgerHarness(t)
	rc := newReceiver(t, nil)
	l := h.l
	ctx := context.Background()
	approve := func(email string) {
		u, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "A", LastName: "B", Email: email})
		require.NoError(t, err)
		_, err = l.StartVerification(ctx, u.ID)
		require.NoError(t, err)
		_, err = l.DecideKYC(ctx, u.ID, true)
		require.NoError(t, err)
	}
	approve("before@example.com")
	require.Len(t, l.EventIDsByType(model.EvtUserApproved, "", 10), 1, "the event is recorded")
	h.settle()
	require.Zero(t, h.count([]byte(pQueue)), "but queued for no one")
	require.Zero(t, h.svc.NeededLSN(), "and the log is not kept for it")

	h.endpoint(rc.url(), model.EvtUserApproved)
	approve("after@example.com")
	h.settle()
	got := rc.requests()
	require.Len(t, got, 1, "only the event after the endpoint subscribed")
	env := decodeEnvelope(t, got[0].body)
	require.Equal(t, model.EvtUserApproved, env.Type)
}
