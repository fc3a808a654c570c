package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

func TestDeliversSignedEnvelope(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, nil)
	ep := h.endpoint(rc.url())
	id := h.event(model.EvtCardCreated, map[string]any{"cardId": "card_1"})
	h.settle()

	got := rc.requests()
	require.Len(t, got, 1)
	r := got[0]
	require.Equal(t, id, r.eventID)
	require.Equal(t, model.EvtCardCreated, r.eventType)
	require.Equal(t, "application/json", r.contentType)
	require.Equal(t, "ledgersim-webhooks/1", r.userAgent)
	require.NoError(t, signature.Verify(r.signature, r.body, []string{ep.Secret}, h.clk.Now(), signature.DefaultTolerance))
	require.True(t, strings.HasPrefix(r.signature, "t="+strconv.FormatInt(h.clk.Now().Unix(), 10)+",v1="))
	env := decodeEnvelope(t, r.body)
	require.Equal(t, Envelope{ID: id, Object: "event", Type: model.EvtCardCreated, CreatedAt: model.Ms(t0), Data: env.Data}, env)
	require.JSONEq(t, `{"cardId":"card_1"}`, string(env.Data))

	ds := h.deliveries(ep.ID)
	require.Len(t, ds, 1)
	d := ds[0]
	require.True(t, strings.HasPrefix(d.ID, "whd_"))
	require.Equal(t, id, d.EventID)
	require.Equal(t, 1, d.Attempt)
	require.Equal(t, DeliverySucceeded, d.Status)
	require.Equal(t, 200, d.StatusCode)
	require.Equal(t, model.Ms(t0), d.AttemptedAt)
	require.Equal(t, model.Ms(t0), d.DeliveredAt)
	require.Zero(t, d.NextAttemptAt)
	require.Empty(t, d.Error)
	require.Zero(t, h.count(queuePrefix(ep.ID)))
	require.Zero(t, h.count([]byte("o/")))
}

func TestSubscriptionFilter(t *testing.T) {
	h := newHarness(t, nil)
	all := newReceiver(t, nil)
	cards := newReceiver(t, nil)
	h.endpoint(all.url())
	h.endpoint(cards.url(), model.EvtCardCreated, model.EvtCardClosed)
	a := h.event(model.EvtAgentCreated, nil)
	c := h.event(model.EvtCardCreated, nil)
	d := h.event(model.EvtCardClosed, nil)
	h.settle()
	require.Equal(t, []string{a, c, d}, all.ids())
	require.Equal(t, []string{c, d}, cards.ids())
}

func TestFailingReceiverThenSuccess(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n < 2 {
			return 500
		}
		return 204
	})
	ep := h.endpoint(rc.url())
	id := h.event(model.EvtUserApproved, nil)
	h.settle()
	require.Len(t, rc.requests(), 1)

	h.advance(10 * time.Second)
	require.Len(t, rc.requests(), 2)
	h.advance(time.Minute)
	require.Len(t, rc.requests(), 3)
	h.advance(24 * time.Hour)
	require.Len(t, rc.requests(), 3, "delivered: no more attempts")
	require.Equal(t, []string{id, id, id}, rc.ids(), "the same event ID on every attempt")

	ds := h.deliveries(ep.ID) // newest first
	require.Len(t, ds, 3)
	require.Equal(t, []int{3, 2, 1}, []int{ds[0].Attempt, ds[1].Attempt, ds[2].Attempt})
	require.Equal(t, []int{204, 500, 500}, []int{ds[0].StatusCode, ds[1].StatusCode, ds[2].StatusCode})
	require.Equal(t, DeliverySucceeded, ds[0].Status)
	require.Equal(t, DeliveryFailed, ds[1].Status)
	require.Equal(t, "receiver answered HTTP 500", ds[2].Error)
	require.Equal(t, model.Ms(t0.Add(10*time.Second)), ds[2].NextAttemptAt)
	require.Equal(t, model.Ms(t0.Add(10*time.Second)), ds[1].AttemptedAt)
	require.Equal(t, model.Ms(t0.Add(70*time.Second)), ds[1].NextAttemptAt)
	require.Equal(t, model.Ms(t0.Add(70*time.Second)), ds[0].DeliveredAt)
	require.Zero(t, h.count(queuePrefix(ep.ID)))
}

func TestReceiverTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timeout = 200 * time.Millisecond })
	rc := newReceiver(t, func(n int, r *http.Request) int {
		if n == 0 {
			// Hang until the sender gives up; the handler must return so
			// that the test server can close.
			<-r.Context().Done()
			return 0
		}
		return 200
	})
	ep := h.endpoint(rc.url())
	id := h.event(model.EvtCardFrozen, nil)
	h.settle()
	ds := h.deliveries(ep.ID)
	require.Len(t, ds, 1)
	require.Equal(t, 0, ds[0].StatusCode)
	require.Contains(t, ds[0].Error, "timeout")
	require.Equal(t, model.Ms(t0.Add(10*time.Second)), ds[0].NextAttemptAt)

	h.advance(10 * time.Second)
	require.Equal(t, []string{id}, rc.delivered())
	require.Equal(t, DeliverySucceeded, h.deliveries(ep.ID)[0].Status)
}

func TestGoneDisablesEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	gone := true
	rc := newReceiver(t, func(int, *http.Request) int {
		if gone {
			return http.StatusGone
		}
		return 200
	})
	other := newReceiver(t, nil)
	ep := h.endpoint(rc.url())
	h.endpoint(other.url())
	first := h.event(model.EvtCardCreated, nil)
	second := h.event(model.EvtCardCreated, nil)
	h.settle()
	require.Equal(t, []string{first}, rc.ids(), "410 stops the endpoint's deliveries at once")
	require.Equal(t, []string{first, second}, other.ids(), "other endpoints are not affected")

	got, err := h.svc.Get(ep.ID)
	require.NoError(t, err)
	require.Equal(t, StatusDisabled, got.Status)
	require.Equal(t, DisabledGone, got.DisabledReason)
	ds := h.deliveries(ep.ID)
	require.Len(t, ds, 1)
	require.Equal(t, http.StatusGone, ds[0].StatusCode)
	require.Zero(t, ds[0].NextAttemptAt)

	// No more attempts, however long we wait, and new events are not queued.
	h.event(model.EvtCardCreated, nil)
	for range 5 {
		h.advance(24 * time.Hour)
	}
	require.Len(t, rc.requests(), 1)
	require.Equal(t, 2, h.count(queuePrefix(ep.ID)), "the held deliveries stay queued")

	// The disabled state survives a restart.
	h.restart()
	h.advance(time.Hour)
	require.Len(t, rc.requests(), 1)

	// Enabling it again resumes the held queue, in order.
	gone = false
	enabled := StatusEnabled
	_, err = h.svc.Update(ep.ID, UpdateInput{Status: &enabled})
	require.NoError(t, err)
	h.settle()
	require.Equal(t, []string{first, first, second}, rc.ids())
}

func TestReceiverDownThenBack(t *testing.T) {
	h := newHarness(t, nil)
	addr := closedAddr(t)
	ep := h.endpoint("http://" + addr + "/hook")
	ids := h.events(3, model.EvtTxnAuthorized)
	h.settle()
	ds := h.deliveries(ep.ID)
	require.Len(t, ds, 1, "one attempt, then the endpoint rests until the retry")
	require.Equal(t, "connection refused", ds[0].Error)
	require.Equal(t, 0, ds[0].StatusCode)

	rc := newReceiverOn(t, addr, nil)
	h.advance(10 * time.Second)
	require.Equal(t, ids, rc.delivered(), "everything, in order, once the receiver is back")
	require.Zero(t, h.count(queuePrefix(ep.ID)))
}

func TestOrderPerEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	a := newReceiver(t, nil)
	b := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return 503 // the first event fails once
		}
		return 200
	})
	h.endpoint(a.url())
	h.endpoint(b.url())
	ids := h.events(40, model.EvtTxnCompleted)
	h.settle()
	require.Equal(t, ids, a.ids(), "a healthy endpoint gets every event once, in order")
	require.Equal(t, ids[:1], b.ids(), "a failing head holds back the events after it")

	h.advance(9 * time.Second)
	require.Len(t, b.ids(), 1, "until its retry time")
	h.advance(time.Second)
	require.Equal(t, append(ids[:1:1], ids...), b.ids(), "then it goes first and the rest follow in order")
}

func TestPoisonEventDoesNotBlockForDays(t *testing.T) {
	h := newHarness(t, nil)
	var poison string
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		if r.Header.Get("X-Ledger-Event-Id") == poison {
			return 500
		}
		return 200
	})
	h.endpoint(rc.url())
	poison = h.event(model.EvtCardAnomaly, nil)
	later := h.events(3, model.EvtCardFrozen)
	h.settle()
	require.Empty(t, rc.delivered())
	h.advance(10 * time.Second) // the poison's first retry fails again ...
	require.Empty(t, rc.delivered())
	h.advance(10 * time.Second) // ... the endpoint rests for the first step ...
	require.Equal(t, later, rc.delivered(), "... after which the poison no longer holds the others back")
	require.Equal(t, []string{poison, poison}, rc.ids()[:2])
	// It keeps its own schedule: the third attempt is a minute after the
	// second.
	h.advance(49 * time.Second) // now t0+69s
	require.Len(t, rc.ids(), 5)
	h.advance(time.Second)
	require.Len(t, rc.ids(), 6)
	require.Equal(t, poison, rc.ids()[5])
}

func TestRetrySchedule(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, func(int, *http.Request) int { return 500 })
	ep := h.endpoint(rc.url())
	h.event(model.EvtDepositCompleted, nil)
	h.settle()
	require.Len(t, rc.requests(), 1)

	at := t0
	for i, wait := range DefaultSchedule {
		h.advance(wait - time.Second)
		require.Len(t, rc.requests(), i+1, "attempt %d is not made early", i+2)
		h.advance(time.Second)
		require.Len(t, rc.requests(), i+2, "attempt %d is made on time", i+2)
		at = at.Add(wait)
		d := h.deliveries(ep.ID)[0]
		require.Equal(t, i+2, d.Attempt)
		require.Equal(t, model.Ms(at), d.AttemptedAt)
	}
	// Ten attempts over about 68.6 hours, then the delivery is given up.
	require.Equal(t, t0.Add(68*time.Hour+36*time.Minute+10*time.Second), at)
	last := h.deliveries(ep.ID)[0]
	require.Equal(t, 10, last.Attempt)
	require.Equal(t, DeliveryFailed, last.Status)
	require.Zero(t, last.NextAttemptAt)
	require.Zero(t, h.count(queuePrefix(ep.ID)))
	h.advance(7 * 24 * time.Hour)
	require.Len(t, rc.requests(), 10)
}

func TestBackoffJitter(t *testing.T) {
	for attempt := 1; attempt <= len(DefaultSchedule); attempt++ {
		base := DefaultSchedule[attempt-1]
		lo, ok := Backoff(DefaultSchedule, 0.2, attempt, 0)
		require.True(t, ok)
		hi, _ := Backoff(DefaultSchedule, 0.2, attempt, 0.999999)
		mid, _ := Backoff(DefaultSchedule, 0.2, attempt, 0.5)
		require.Equal(t, time.Duration(float64(base)*0.8), lo)
		require.InDelta(t, float64(base)*1.2, float64(hi), float64(base)*1e-5)
		require.Equal(t, base, mid)
	}
	_, ok := Backoff(DefaultSchedule, 0.2, len(DefaultSchedule)+1, 0.5)
	require.False(t, ok, "no wait after the last attempt")
	_, ok = Backoff(DefaultSchedule, 0.2, 0, 0.5)
	require.False(t, ok)
}

func TestJitterIsApplied(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Rand = func() float64 { return 0 } }) // the earliest point: -20%
	rc := newReceiver(t, func(int, *http.Request) int { return 500 })
	ep := h.endpoint(rc.url())
	h.event(model.EvtCardClosed, nil)
	h.settle()
	require.Equal(t, model.Ms(t0.Add(8*time.Second)), h.deliveries(ep.ID)[0].NextAttemptAt)
	h.advance(8 * time.Second)
	require.Len(t, rc.requests(), 2)
}

func TestSendTestEvent(t *testing.T) {
	h := newHarness(t, nil)
	a := newReceiver(t, nil)
	b := newReceiver(t, nil)
	ep := h.endpoint(a.url(), model.EvtCardCreated)
	h.endpoint(b.url())
	env, err := h.svc.SendTest(ep.ID, nil)
	require.NoError(t, err)
	require.Equal(t, EventTest, env.Type)
	h.settle()
	require.Equal(t, []string{env.ID}, a.ids(), "sent whatever the subscription")
	require.Empty(t, b.ids(), "to that endpoint only")
	got := a.requests()[0]
	require.Equal(t, EventTest, got.eventType)
	require.NoError(t, signature.Verify(got.signature, got.body, []string{ep.Secret}, h.clk.Now(), time.Minute))
	_, err = GetEvent(h.db, env.ID)
	require.ErrorIs(t, err, ErrEventNotFound, "test events are not in the event log")

	_, err = h.svc.SendTest("whk_missing", nil)
	require.ErrorIs(t, err, ErrNotFound)
	disabled := StatusDisabled
	_, err = h.svc.Update(ep.ID, UpdateInput{Status: &disabled})
	require.NoError(t, err)
	_, err = h.svc.SendTest(ep.ID, nil)
	require.ErrorIs(t, err, ErrDisabled)
}

func TestDeleteDropsQueueAndLog(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, r *http.Request) int {
		if n == 0 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return 500
	})
	ep := h.endpoint(rc.url())
	h.events(5, model.EvtCardCreated)
	h.svc.Kick()
	require.Eventually(t, func() bool { return len(rc.requests()) == 1 }, 30*time.Second, time.Millisecond)
	require.NoError(t, h.svc.Delete(ep.ID))
	close(release) // the attempt in flight ends after the delete
	h.settle()
	require.Zero(t, h.count(queuePrefix(ep.ID)), "nothing is resurrected by the late outcome")
	require.Zero(t, h.count(logPrefix(ep.ID)))
	require.Zero(t, h.count(endpointKey(ep.ID)))
	require.ErrorIs(t, h.svc.Delete(ep.ID), ErrNotFound)
	h.restart()
	require.Zero(t, h.svc.Stats().Endpoints)
}

// TestRealClockRetriesWithoutKick runs on the wall clock with a short
// schedule: the dispatcher's own timer makes the retry, nobody kicks it.
// The deadline only guards against a hang.
func TestRealClockRetriesWithoutKick(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	tl := openTestLog(t, nil, dir)
	svc, err := New(Config{Store: db, Log: tl, Clock: clock.Real{}, Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, svc.Close())
		tl.close()
		require.NoError(t, db.Close())
	})
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return 502
		}
		return 200
	})
	_, err = svc.Create(CreateInput{URL: rc.url()}, nil)
	require.NoError(t, err)
	h := &harness{t: t, db: db, log: tl, clk: clock.NewVirtual(time.Now())} // only to record the event
	id := h.event(model.EvtCardCreated, nil)
	svc.Notify(tl.DurableLSN())
	require.Eventually(t, func() bool { return len(rc.delivered()) == 1 }, 30*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{id, id}, rc.ids())
}

func TestDeliveryLogIsPruned(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxDeliveryLog = 10 })
	rc := newReceiver(t, nil)
	ep := h.endpoint(rc.url())
	ids := h.events(25, model.EvtCardCreated)
	h.settle()
	require.Equal(t, ids, rc.delivered())
	n := h.count(logPrefix(ep.ID))
	require.GreaterOrEqual(t, n, 10)
	require.LessOrEqual(t, n, 11, "pruned to the limit, in steps of a tenth")
	require.Equal(t, ids[24], h.deliveries(ep.ID)[0].EventID, "the newest are kept")
	h.restart()
	require.Equal(t, n, h.count(logPrefix(ep.ID)))
}

// concurrency wraps a receiver's answers to count the requests it holds at
// once; each request waits up to hold for others to arrive, so that
// requests sent together overlap.
type concurrency struct {
	mu        sync.Mutex
	now, most int
	hold      time.Duration
}

func (c *concurrency) serve(status int) func(int, *http.Request) int {
	return func(int, *http.Request) int {
		c.mu.Lock()
		c.now++
		c.most = max(c.most, c.now)
		c.mu.Unlock()
		time.Sleep(c.hold)
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
		return status
	}
}

func (c *concurrency) reset() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	most := c.most
	c.most = 0
	return most
}

// A backlog deeper than the endpoint's window goes out several at a time
// (dispatched in event order, up to MaxInFlightPerEndpoint), each event
// once; a short queue goes one at a time.
func TestBacklogIsDeliveredConcurrently(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBufferedPerEndpoint, c.MaxInFlightPerEndpoint = 8, 4 })
	conc := &concurrency{hold: 20 * time.Millisecond}
	rc := newReceiver(t, conc.serve(200))
	ep := h.endpoint(rc.url())

	short := h.events(6, model.EvtTxnAuthorized)
	h.settle()
	require.Equal(t, short, rc.delivered(), "a queue that fits the window: in order")
	require.Equal(t, 1, conc.reset(), "one at a time")

	long := h.events(60, model.EvtTxnAuthorized)
	h.settle()
	got := rc.delivered()[len(short):]
	require.ElementsMatch(t, long, got, "every event once")
	most := conc.reset()
	require.Greater(t, most, 1, "a backlog goes several at a time")
	require.LessOrEqual(t, most, 4)
	require.Zero(t, h.count(queuePrefix(ep.ID)))
	require.Len(t, h.deliveries(ep.ID), 66)
	st := h.svc.Stats()
	require.LessOrEqual(t, st.EndpointHighWater, 8)
	require.Zero(t, st.InFlight)
}

// After a failure an endpoint with a backlog goes back to one attempt at a
// time, and to several again after a success.
func TestFailureFallsBackToOneAtATime(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBufferedPerEndpoint, c.MaxInFlightPerEndpoint = 8, 4 })
	conc := &concurrency{hold: 20 * time.Millisecond}
	var fail atomic.Bool
	fail.Store(true)
	failing, ok := conc.serve(503), conc.serve(200)
	rc := newReceiver(t, func(n int, r *http.Request) int {
		if fail.Load() {
			return failing(n, r)
		}
		return ok(n, r)
	})
	ep := h.endpoint(rc.url())
	ids := h.events(40, model.EvtCardCreated)
	h.settle()
	first := len(rc.requests())
	require.Greater(t, first, 1, "the backlog's first attempts went together")
	require.LessOrEqual(t, first, 4)
	conc.reset()

	// Still failing: one attempt at a time, one per pause.
	h.advance(10 * time.Second)
	require.Equal(t, first+1, len(rc.requests()))
	require.Equal(t, 1, conc.reset())

	// Back: one at a time until the first success, then several again.
	fail.Store(false)
	for range 10 {
		h.advance(time.Minute)
	}
	require.ElementsMatch(t, ids, rc.delivered())
	require.Greater(t, conc.reset(), 1)
	require.Zero(t, h.count(queuePrefix(ep.ID)))
}
