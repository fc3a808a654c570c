package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

// UserAgent is sent with every delivery.
const UserAgent = "ledgersim-webhooks/1"

// maxResponseBytes is how much of a receiver's response body is read (and
// discarded); a longer one is not read, and its connection is closed.
const maxResponseBytes = 64 << 10

// run is the dispatcher: one goroutine that starts attempts. Attempts run
// in their own goroutines; the recorder writes their outcomes and wakes it,
// and so does fanout when it has queued new deliveries.
func (s *Service) run() {
	defer close(s.done)
	var waiters []chan struct{}
	timer := time.NewTimer(s.cfg.PollInterval)
	defer timer.Stop()
	for {
		next, quiet := s.pass()
		if quiet {
			for _, w := range waiters {
				close(w)
			}
			waiters = nil
		}
		sleep := s.cfg.PollInterval
		if !next.IsZero() {
			if d := next.Sub(s.clk.Now()); d < sleep {
				sleep = max(d, time.Millisecond)
			}
		}
		timer.Reset(sleep)
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		case w := <-s.settle:
			waiters = append(waiters, w)
		}
	}
}

// pass starts attempts for every endpoint that is free and has due
// deliveries. next is the earliest time something becomes due (zero:
// nothing is waiting on time). quiet reports that fan-out had read the
// log up to what was durable and offered its deliveries before the pass
// looked, that nothing was started and that
// nothing is in flight or waiting to be recorded.
func (s *Service) pass() (next time.Time, quiet bool) {
	// The flags are read before fanBusy, which fanout sets before it
	// clears them: if both read clear, whatever it did was offered to the
	// windows before this pass looks at them.
	fanIdle := !s.logDirty.Load()
	fanIdle = fanIdle && !s.fanBusy.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return time.Time{}, true
	}
	now := s.clk.Now()
	nowMs := model.Ms(now)
	started := 0
	n := len(s.order)
	s.rr++
	for i := range n {
		nx, k := s.dispatch(s.eps[s.order[(s.rr+i)%n]], now, nowMs)
		if !nx.IsZero() {
			next = earliest(next, nx)
		}
		started += k
	}
	return next, fanIdle && started == 0 && s.inflight == 0
}

// dispatch starts the endpoint's due deliveries, as many as its limit
// allows, oldest first. next is when one of them becomes due (zero: none
// is waiting on time). The dispatcher calls it for every endpoint on every
// pass, and the recorder for the endpoints whose attempts it recorded, so
// that the next attempt starts without a trip through the dispatcher. The
// caller holds mu.
func (s *Service) dispatch(st *epState, now time.Time, nowMs int64) (next time.Time, started int) {
	if st.ep.Status != StatusEnabled || st.deleted {
		return time.Time{}, 0
	}
	s.fill(st)
	if !st.loaded {
		return time.Time{}, 0 // reloaded once its attempts in flight are recorded
	}
	if nowMs < st.ep.PausedUntil {
		return time.UnixMilli(st.ep.PausedUntil), 0
	}
	limit := s.limit(st)
	from := 0
	for st.busy < limit {
		q, at, wait := st.due(nowMs, from)
		if q == nil {
			if wait != 0 {
				next = time.UnixMilli(wait)
			}
			break
		}
		if s.inflight >= s.cfg.MaxInFlight {
			break // an attempt being recorded wakes the dispatcher
		}
		s.start(st, q, now)
		started++
		from = at + 1
	}
	return next, started
}

// limit is how many attempts the endpoint may have in flight: one while
// its whole queue fits in its window (it keeps up) or after a failure, and
// up to MaxInFlightPerEndpoint, dispatched in event order, while it has
// fallen behind. The caller holds mu.
func (s *Service) limit(st *epState) int {
	if st.complete || st.failed {
		return 1
	}
	return s.cfg.MaxInFlightPerEndpoint
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// due returns the oldest delivery in the window, from index from on, that
// is not in flight and is due at nowMs, with its index; or the earliest
// time one will be.
func (st *epState) due(nowMs int64, from int) (*queued, int, int64) {
	var wait int64
	for i := from; i < len(st.window); i++ {
		q := st.window[i]
		if q.busy {
			continue
		}
		if q.NextAttemptAt <= nowMs {
			return q, i, 0
		}
		if wait == 0 || q.NextAttemptAt < wait {
			wait = q.NextAttemptAt
		}
	}
	return nil, 0, wait
}

// fill loads the endpoint's window: from the start of its queue when it is
// not loaded (and nothing of it is in flight), and from after the last
// record it read when it is half empty and the store holds more. The
// caller holds mu.
func (s *Service) fill(st *epState) {
	per := s.cfg.MaxBufferedPerEndpoint
	after := st.through
	if !st.loaded {
		if st.busy > 0 {
			return
		}
		s.buffered -= len(st.window)
		clear(st.window)
		st.window, st.through, st.complete, after = st.window[:0], "", false, ""
	} else if st.complete || len(st.window) > per/2 {
		return
	}
	room := min(per-len(st.window), s.cfg.MaxBuffered-s.buffered)
	if room <= 0 {
		st.loaded = true // no room: wait for other endpoints to drain
		return
	}
	prefix := queuePrefix(st.ep.ID)
	var (
		got  []*queued
		last = after
		more bool
	)
	err := s.db.Scan(prefix, after, false, func(k, v []byte) bool {
		if len(got) == room {
			more = true
			return false
		}
		last = tail(k, prefix)
		if s.held[last] {
			return true // offered once synced
		}
		q := new(queued)
		if err := decodeQueued(v, q); err != nil {
			s.log.Error("webhook: corrupt queue record skipped", "webhook", st.ep.ID, "err", err)
			return true
		}
		got = append(got, q)
		return true
	})
	if err != nil {
		s.log.Error("webhook: queue scan", "webhook", st.ep.ID, "err", err)
		return
	}
	st.window = append(st.window, got...)
	s.buffered += len(got)
	st.through, st.complete, st.loaded = last, !more, true
	s.noteHighWater(st)
}

func (s *Service) noteHighWater(st *epState) {
	s.highWater = max(s.highWater, s.buffered)
	s.epHigh = max(s.epHigh, len(st.window))
}

// offer adds newly queued deliveries (in event order) to the endpoint's
// window, keeping the window's rule: every queue record up to through is
// in it. A delivery after through stays in the store until fill reads it
// (unless the window is complete and has room). One that sorts before
// through (its event was committed after newer ones were queued) goes into
// the window, which, when full, gives up its newest record to make room.
// The caller holds mu.
func (s *Service) offer(st *epState, qs []*queued) {
	if !st.loaded {
		return // read from the store when the window is loaded
	}
	per := s.cfg.MaxBufferedPerEndpoint
	for _, q := range qs {
		if !st.complete && q.EventID > st.through {
			continue
		}
		if len(st.window) >= per || s.buffered >= s.cfg.MaxBuffered {
			if len(st.window) == 0 {
				st.complete, st.through = false, ""
				continue
			}
			last := st.window[len(st.window)-1]
			if q.EventID > last.EventID {
				// The window's records are the queue up to last.
				st.complete, st.through = false, last.EventID
				continue
			}
			if last.busy {
				st.loaded = false // rare: read it all again when idle
				return
			}
			st.window = st.window[:len(st.window)-1]
			s.buffered--
			st.complete = false
			st.insert(q)
			s.buffered++
			st.through = st.window[len(st.window)-1].EventID
			continue
		}
		st.insert(q)
		s.buffered++
		if st.complete {
			st.through = max(st.through, q.EventID)
		}
	}
	s.noteHighWater(st)
}

// insert puts q into the window in event order.
func (st *epState) insert(q *queued) {
	i := len(st.window)
	for i > 0 && st.window[i-1].EventID > q.EventID {
		i--
	}
	st.window = append(st.window, nil)
	copy(st.window[i+1:], st.window[i:])
	st.window[i] = q
}

// poke wakes the dispatcher without blocking.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start begins an attempt. The caller holds mu.
//
// Attempts run on worker goroutines that outlive them, rather than one
// goroutine each: an HTTP exchange needs a deeper stack than a goroutine
// starts with, and growing it by copying cost a goroutine per attempt
// about a sixth of the attempt's CPU. There are at most MaxInFlight
// workers; one that is idle takes the attempt, and a new one is started
// while there are fewer.
func (s *Service) start(st *epState, q *queued, now time.Time) {
	q.busy = true
	st.busy++
	s.inflight++
	j := job{st: st, ep: st.ep, q: q, snap: *q, at: now}
	select {
	case s.jobs <- j:
		return
	default:
	}
	if s.nworkers < s.cfg.MaxInFlight {
		s.nworkers++
		s.workers.Add(1)
		go s.worker(j)
		return
	}
	// Every worker exists and none is idle, but fewer than MaxInFlight
	// attempts are being sent (this one was allowed to start), so a worker
	// is between attempts, handing an outcome over (which does not take
	// mu), and takes this one next.
	s.jobs <- j
}

// job is an attempt for a worker: the window's record (busy until the
// outcome is recorded) and copies of it and of its endpoint to send.
type job struct {
	st   *epState
	ep   Endpoint
	q    *queued
	snap queued
	at   time.Time
}

// worker makes attempts until the Service closes, starting with j.
func (s *Service) worker(j job) {
	defer s.workers.Done()
	for {
		s.attempt(&j)
		j = job{} // hold nothing of a finished attempt while idle
		select {
		case j = <-s.jobs:
		case <-s.ctx.Done():
			return
		}
	}
}

// outcome is what an attempt got.
type outcome struct {
	statusCode int
	latency    time.Duration
	err        string
}

func (o outcome) ok() bool { return o.statusCode >= 200 && o.statusCode <= 299 }

// result is an attempt that ended, waiting to be recorded. q is the
// window's record (busy until recorded); attempts is its count before the
// attempt.
type result struct {
	st  *epState
	q   *queued
	at  time.Time
	res outcome
}

// attempt makes one attempt with a copy of the queue record and hands its
// outcome to the recorder.
func (s *Service) attempt(j *job) {
	res := s.send(&j.ep, &j.snap, j.at)
	s.resMu.Lock()
	s.pending = append(s.pending, result{st: j.st, q: j.q, at: j.at, res: res})
	s.resMu.Unlock()
	select {
	case s.recordWake <- struct{}{}:
	default:
	}
}

// recorder writes the outcomes of the attempts that ended, all that are
// waiting in one batch (group commit). It does not wait for a batch's sync
// before the next: the windows are updated when a batch is applied, so the
// endpoint's next attempt need not wait for the disk, and syncer waits for
// the batches in order. A crash before the sync loses the outcomes, and the
// attempts are made again after restart (at least once).
func (s *Service) recorder() {
	defer close(s.recDone)
	applied := make(chan *store.Batch, maxUnsynced)
	synced := make(chan struct{})
	go s.syncer(applied, synced)
	defer func() {
		close(applied)
		<-synced
	}()
	var spare []result
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.recordWake:
		}
		for s.ctx.Err() == nil {
			s.resMu.Lock()
			rs := s.pending
			s.pending = spare[:0]
			s.resMu.Unlock()
			if len(rs) == 0 {
				spare = rs
				break
			}
			b := s.record(rs)
			s.poke()
			if b != nil {
				applied <- b // blocks while maxUnsynced batches wait for the disk
			}
			clear(rs)
			spare = rs
		}
	}
}

// maxUnsynced bounds the recorded batches waiting for their sync.
const maxUnsynced = 64

// syncer waits for the recorder's batches to be synced, in order.
func (s *Service) syncer(applied <-chan *store.Batch, done chan<- struct{}) {
	defer close(done)
	for b := range applied {
		if err := b.Wait(); err != nil {
			s.log.Error("webhook: syncing attempts failed", "err", err)
		}
	}
}

// send POSTs the delivery once. It holds no lock. The request and
// response come from fasthttp's pools and go back to them, so an attempt
// allocates nothing beyond its signature.
func (s *Service) send(ep *Endpoint, q *queued, at time.Time) outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(ep.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent(UserAgent)
	req.Header.Set("X-Ledger-Event-Id", q.EventID)
	req.Header.Set("X-Ledger-Event-Type", q.EventType)
	req.Header.Set(signature.Header, signature.SignAll(ep.SigningSecrets(at), at, q.Body))
	// Not copied: the snapshot's body is never changed, and the request is
	// released before send returns.
	req.SetBodyRaw(q.Body)
	began := time.Now()
	err := s.client.DoDeadline(req, resp, began.Add(s.cfg.Timeout))
	latency := time.Since(began)
	// A body longer than maxResponseBytes fails the read after the status
	// line and headers were read: the receiver answered, and its status
	// counts.
	if err != nil && !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return outcome{latency: latency, err: describe(err, s.cfg.Timeout)}
	}
	o := outcome{statusCode: resp.StatusCode(), latency: latency}
	if !o.ok() {
		o.err = fmt.Sprintf("receiver answered HTTP %d", o.statusCode)
	}
	return o
}

// describe turns a client error into a short message. fasthttp's errors
// name at most the host and port, never the path or query (which may carry
// a token).
func describe(err error, timeout time.Duration) string {
	var t interface{ Timeout() bool }
	switch {
	case errors.As(err, &t) && t.Timeout(), errors.Is(err, fasthttp.ErrTLSHandshakeTimeout),
		errors.Is(err, fasthttp.ErrDialTimeout):
		return fmt.Sprintf("timeout: no response within %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, fasthttp.ErrConnectionClosed):
		// fasthttp's own message advises the receiver's operator at length.
		return "connection closed by the receiver before a response"
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// record writes the outcomes rs in one batch: for each, a delivery-log
// record, and the queue record removed (success, last attempt) or moved to
// its next time (failure), or the endpoint disabled (410). It applies the
// batch and updates the windows under mu, and returns the batch for the
// caller to wait for its sync (nil when nothing was applied).
func (s *Service) record(rs []result) *store.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight -= len(rs)
	for _, r := range rs {
		r.st.busy--
	}
	// Closing abandons the attempts (they are made again after restart); a
	// deleted endpoint has no records left to update.
	if s.closed {
		return nil
	}
	now := s.clk.Now()
	nowMs := model.Ms(now)
	b := s.db.NewBatch()
	type change struct {
		st      *epState
		ep      Endpoint // the endpoint after the outcomes
		failed  bool
		logs    int
		pruned  int
		floor   string
		gone    bool
		removed int
	}
	var changes []*change // one per endpoint, usually one in all
	type update struct {
		r       *result
		keep    bool
		nq      queued
		c       *change
		outcome string // for Config.OnAttempt
	}
	updates := make([]update, 0, len(rs))
	var (
		putErr  error
		scratch []byte
	)
	for i := range rs {
		r := &rs[i]
		st := r.st
		if st.deleted {
			continue
		}
		var c *change
		for _, x := range changes {
			if x.st == st {
				c = x
				break
			}
		}
		if c == nil {
			c = &change{st: st, ep: st.ep, failed: st.failed}
			changes = append(changes, c)
		}
		ep := &c.ep
		q := r.q
		d := Delivery{ID: s.ids.New(model.PrefixDelivery, now), WebhookID: ep.ID, EventID: q.EventID, EventType: q.EventType,
			Attempt: q.Attempts + 1, StatusCode: r.res.statusCode, LatencyMs: r.res.latency.Milliseconds(), Error: r.res.err,
			AttemptedAt: model.Ms(r.at), Status: DeliveryFailed}
		u := update{r: r, nq: *q, c: c}
		switch {
		case r.res.ok():
			u.outcome = AttemptSucceeded
			d.Status, d.DeliveredAt = DeliverySucceeded, nowMs
			c.failed = false
			// A success ends a pause that is over; one set meanwhile by a
			// failure of an attempt in flight alongside stays.
			if ep.PausedUntil <= nowMs {
				ep.PausedUntil = 0
			}
		case r.res.statusCode == http.StatusGone:
			// The receiver says the endpoint is gone: disable it. Its queue is
			// held, this delivery first, and resumes if it is enabled again.
			u.outcome = AttemptGone
			d.Error = "receiver answered HTTP 410 Gone: endpoint disabled"
			c.failed, c.gone = true, true
			ep.Status, ep.DisabledReason, ep.UpdatedAt, ep.PausedUntil = StatusDisabled, DisabledGone, nowMs, 0
			u.nq.Attempts, u.nq.NextAttemptAt, u.keep = d.Attempt, nowMs, true
		default:
			// The endpoint rests until this delivery's retry after its first
			// failure (so it is retried before anything newer is sent), and for
			// the first step of the schedule after a later failure (so a
			// delivery that keeps failing holds back the others no longer).
			c.failed = true
			pause := now.Add(s.cfg.Schedule[0])
			wait, more := Backoff(s.cfg.Schedule, s.cfg.JitterFraction, d.Attempt, s.cfg.Rand())
			u.outcome = AttemptExhausted
			if more {
				u.outcome = AttemptRetrying
				nextAt := now.Add(wait)
				d.NextAttemptAt = model.Ms(nextAt)
				u.nq.Attempts, u.nq.NextAttemptAt, u.keep = d.Attempt, model.Ms(nextAt), true
				if d.Attempt == 1 || nextAt.Before(pause) {
					pause = nextAt
				}
			}
			if ep.Status == StatusEnabled {
				ep.PausedUntil = max(ep.PausedUntil, model.Ms(pause))
			}
		}
		scratch = d.appendJSON(scratch[:0])
		b.Put(logKey(ep.ID, d.ID), scratch)
		if u.keep {
			b.Put(queueKey(ep.ID, q.EventID), u.nq.appendRecord(nil))
		}
		if !u.keep {
			b.Delete(queueKey(ep.ID, q.EventID))
		}
		c.logs++
		updates = append(updates, u)
	}
	for _, c := range changes {
		st := c.st
		if putErr == nil && (c.ep.PausedUntil != st.ep.PausedUntil || c.ep.Status != st.ep.Status) {
			putErr = b.PutJSON(endpointKey(c.ep.ID), c.ep)
		}
		if putErr == nil && st.logCount+c.logs > s.cfg.MaxDeliveryLog+s.cfg.MaxDeliveryLog/10 {
			// Prune in steps of a tenth so that the scan is not paid per
			// attempt, from where the last pruning stopped so that it does not
			// step over the records it deleted.
			// The oldest records go with one range deletion rather than one
			// tombstone each.
			excess := st.logCount + c.logs - s.cfg.MaxDeliveryLog
			prefix := logPrefix(c.ep.ID)
			var first, last []byte
			putErr = s.db.Scan(prefix, st.logFloor, false, func(k, _ []byte) bool {
				if first == nil {
					first = bytes.Clone(k)
				}
				last = append(last[:0], k...) // k is valid only in the call
				c.pruned++
				return c.pruned < excess
			})
			if putErr == nil && c.pruned > 0 {
				c.floor = tail(last, prefix)
				b.DeleteRange(first, append(last, 0))
			}
		}
	}
	if putErr != nil {
		b.Discard()
	} else {
		putErr = s.db.Apply(b)
	}
	if putErr != nil {
		// Nothing was written: the attempts will be made again. Rest first
		// so that a failing store is not hammered.
		for _, u := range updates {
			u.r.q.busy = false
			u.c.st.ep.PausedUntil = model.Ms(now.Add(s.cfg.Schedule[0]))
		}
		s.log.Error("webhook: recording attempts failed", "attempts", len(updates), "err", putErr)
		return nil
	}
	for _, u := range updates {
		if !u.keep {
			s.queueDepth.Add(-1)
		}
		if obs := s.cfg.OnAttempt; obs != nil {
			obs(u.outcome, u.r.res.latency)
		}
		q := u.r.q
		if u.keep {
			*q = u.nq
			q.busy = false
		} else {
			q.done = true
			u.c.removed++
		}
	}
	for _, c := range changes {
		st := c.st
		st.ep, st.failed = c.ep, c.failed
		st.logCount += c.logs - c.pruned
		if c.pruned > 0 {
			st.logFloor = c.floor
		}
		if c.removed > 0 {
			st.removeDone(c.removed)
			s.buffered -= c.removed
		}
		if c.gone {
			s.log.Warn("webhook endpoint disabled: receiver answered 410 Gone", "webhook", c.ep.ID)
			s.refreshSubs()
		}
	}
	for _, c := range changes {
		s.dispatch(c.st, now, nowMs)
	}
	return b
}

// removeDone drops the n records marked done from the window. They are
// near its head (attempts start oldest first), so only the part up to the
// last of them is compacted.
func (st *epState) removeDone(n int) {
	w := st.window
	last := -1
	for i := 0; n > 0 && i < len(w); i++ {
		if w[i].done {
			n--
			last = i
		}
	}
	kept := slices.DeleteFunc(w[:last+1], func(q *queued) bool { return q.done })
	m := copy(w[len(kept):], w[last+1:])
	clear(w[len(kept)+m:])
	st.window = w[:len(kept)+m]
}
