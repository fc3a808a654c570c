package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

// UserAgent is sent with every delivery.
const UserAgent = "ledgersim-webhooks/1"

// maxResponseBytes is how much of a receiver's response is read (and
// discarded) so that the connection can be reused.
const maxResponseBytes = 64 << 10

// run is the dispatcher: one goroutine that consumes the outbox and starts
// attempts. Attempts run in their own goroutines and wake it when they end.
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

// pass consumes the outbox, then starts an attempt for every endpoint that
// is free and has a due delivery. next is the earliest time something
// becomes due (zero: nothing is waiting on time). quiet reports that
// nothing was started and nothing is in flight.
func (s *Service) pass() (next time.Time, quiet bool) {
	if s.outboxDirty.Swap(false) {
		if err := s.drainOutbox(); err != nil {
			s.outboxDirty.Store(true) // try again on the next pass
			s.log.Error("webhook outbox", "err", err)
		}
	}
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
		st := s.eps[s.order[(s.rr+i)%n]]
		if st.ep.Status != StatusEnabled || st.inflight != "" {
			continue
		}
		s.fill(st)
		if nowMs < st.ep.PausedUntil {
			next = earliest(next, time.UnixMilli(st.ep.PausedUntil))
			continue
		}
		q, wait := st.due(nowMs)
		if q == nil {
			if wait != 0 {
				next = earliest(next, time.UnixMilli(wait))
			}
			continue
		}
		if s.inflight >= s.cfg.MaxInFlight {
			continue // an attempt ending wakes the dispatcher
		}
		s.start(st, q, now)
		started++
	}
	return next, started == 0 && s.inflight == 0 && !s.outboxDirty.Load()
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// due returns the oldest delivery in the window that is due at nowMs, or
// the earliest time one will be.
func (st *epState) due(nowMs int64) (*queued, int64) {
	var wait int64
	for _, q := range st.window {
		if q.NextAttemptAt <= nowMs {
			return q, 0
		}
		if wait == 0 || q.NextAttemptAt < wait {
			wait = q.NextAttemptAt
		}
	}
	return nil, wait
}

// fill (re)loads the endpoint's window from the store when it was never
// loaded, or when it is half empty and the store holds more. The caller
// holds mu and no attempt of the endpoint is in flight.
func (s *Service) fill(st *epState) {
	per := s.cfg.MaxBufferedPerEndpoint
	if st.loaded && (st.complete || len(st.window) > per/2) {
		return
	}
	budget := min(per, s.cfg.MaxBuffered-(s.buffered-len(st.window)))
	if budget <= len(st.window) && st.loaded {
		return // no room to grow: wait for other endpoints to drain
	}
	window := make([]*queued, 0, budget)
	more := false
	err := s.db.Scan(queuePrefix(st.ep.ID), "", false, func(_, v []byte) bool {
		if len(window) == budget {
			more = true
			return false
		}
		q := new(queued)
		if err := json.Unmarshal(v, q); err != nil {
			s.log.Error("webhook: corrupt queue record skipped", "webhook", st.ep.ID, "err", err)
			return true
		}
		window = append(window, q)
		return true
	})
	if err != nil {
		s.log.Error("webhook: queue scan", "webhook", st.ep.ID, "err", err)
		return
	}
	s.buffered += len(window) - len(st.window)
	st.window, st.complete, st.loaded = window, !more, true
	s.noteHighWater(st)
}

func (s *Service) noteHighWater(st *epState) {
	s.highWater = max(s.highWater, s.buffered)
	s.epHigh = max(s.epHigh, len(st.window))
}

// offer adds newly queued deliveries (in event order) to the endpoint's
// window when the window mirrors the whole queue and has room; otherwise
// they stay in the store until fill reads them. The caller holds mu.
func (s *Service) offer(st *epState, qs []*queued) {
	if !st.loaded || !st.complete {
		return
	}
	room := min(s.cfg.MaxBufferedPerEndpoint-len(st.window), s.cfg.MaxBuffered-s.buffered)
	if len(qs) > room {
		st.complete = false
		return
	}
	for _, q := range qs {
		i := len(st.window)
		for i > 0 && st.window[i-1].EventID > q.EventID {
			i--
		}
		st.window = append(st.window, nil)
		copy(st.window[i+1:], st.window[i:])
		st.window[i] = q
	}
	s.buffered += len(qs)
	s.noteHighWater(st)
}

// drainOutbox fans the outboxed events out to the endpoints' queues, in
// event order, OutboxBatch events per synced batch. Each batch writes the
// queue records and deletes the markers together.
func (s *Service) drainOutbox() error {
	for {
		var ids []string
		err := s.db.Scan(store.OutboxPrefix, "", false, func(k, _ []byte) bool {
			ids = append(ids, tail(k, store.OutboxPrefix))
			return len(ids) < s.cfg.OutboxBatch
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		type event struct {
			id, typ string
			body    []byte
		}
		// Events are immutable once written, so they are read outside mu;
		// with no enabled endpoint they are not read at all (an endpoint
		// created meanwhile starts with the events after it).
		s.mu.Lock()
		anyEnabled := false
		for _, st := range s.eps {
			anyEnabled = anyEnabled || st.ep.Status == StatusEnabled
		}
		s.mu.Unlock()
		events := make([]event, 0, len(ids))
		for _, id := range ids {
			if !anyEnabled {
				events = append(events, event{id: id})
				continue
			}
			raw, err := s.db.Get(store.EventKey(id))
			if errors.Is(err, store.ErrNotFound) {
				s.log.Error("webhook: outbox marker without its event, dropped", "event", id)
				events = append(events, event{id: id})
				continue
			}
			if err != nil {
				return err
			}
			env, err := envelopeOf(raw)
			if err == nil {
				var body []byte
				body, err = json.Marshal(env)
				events = append(events, event{id: id, typ: env.Type, body: body})
			}
			if err != nil {
				s.log.Error("webhook: unreadable event, dropped", "event", id, "err", err)
				events = append(events, event{id: id})
			}
		}

		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil
		}
		now := s.clk.Now()
		b := s.db.NewBatch()
		added := map[*epState][]*queued{}
		for _, ev := range events {
			b.Delete(store.OutboxKey(ev.id))
			if ev.body == nil {
				continue
			}
			for _, id := range s.order {
				st := s.eps[id]
				if st.ep.Status != StatusEnabled || !st.ep.Subscribed(ev.typ) {
					continue
				}
				q := &queued{WebhookID: id, EventID: ev.id, EventType: ev.typ, Body: ev.body,
					NextAttemptAt: model.Ms(now), EnqueuedAt: model.Ms(now)}
				if err := b.PutJSON(queueKey(id, ev.id), q); err != nil {
					b.Discard()
					s.mu.Unlock()
					return err
				}
				added[st] = append(added[st], q)
			}
		}
		if err := s.db.Apply(b); err != nil {
			s.mu.Unlock()
			return err
		}
		for st, qs := range added {
			s.offer(st, qs)
		}
		s.mu.Unlock()
		if err := b.Wait(); err != nil {
			return err
		}
		if len(ids) < s.cfg.OutboxBatch {
			return nil
		}
	}
}

// start begins an attempt. The caller holds mu.
func (s *Service) start(st *epState, q *queued, now time.Time) {
	st.inflight = q.EventID
	s.inflight++
	s.workers.Add(1)
	go s.attempt(st, st.ep, *q, now)
}

// outcome is what an attempt got.
type outcome struct {
	statusCode int
	latency    time.Duration
	err        string
}

func (o outcome) ok() bool { return o.statusCode >= 200 && o.statusCode <= 299 }

func (s *Service) attempt(st *epState, ep Endpoint, q queued, at time.Time) {
	defer s.workers.Done()
	res := s.send(&ep, &q, at)
	s.finish(st, q, at, res)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send POSTs the delivery once. It holds no lock.
func (s *Service) send(ep *Endpoint, q *queued, at time.Time) outcome {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, ep.URL, bytes.NewReader(q.Body))
	if err != nil {
		return outcome{err: "invalid request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("X-Ledger-Event-Id", q.EventID)
	req.Header.Set("X-Ledger-Event-Type", q.EventType)
	req.Header.Set(signature.Header, signature.SignAll(ep.SigningSecrets(at), at, q.Body))
	began := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{latency: time.Since(began), err: describe(err, s.cfg.Timeout)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	o := outcome{statusCode: resp.StatusCode, latency: time.Since(began)}
	if !o.ok() {
		o.err = fmt.Sprintf("receiver answered HTTP %d", resp.StatusCode)
	}
	return o
}

// describe turns a client error into a short message without the URL (which
// may carry a token in its query).
func describe(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timeout: no response within %s", timeout)
		}
		err = ue.Err
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// finish records an attempt: a delivery-log record, and the queue record
// removed (success, last attempt) or moved to its next time (failure), or
// the endpoint disabled (410), all in one batch.
func (s *Service) finish(st *epState, q queued, at time.Time, res outcome) {
	s.mu.Lock()
	st.inflight = ""
	s.inflight--
	// Closing abandons the attempt (it is made again after restart); a
	// deleted endpoint has no records left to update.
	if s.closed || st.deleted {
		s.mu.Unlock()
		return
	}
	now := s.clk.Now()
	ep := st.ep
	d := Delivery{ID: s.ids.New(model.PrefixDelivery, now), WebhookID: ep.ID, EventID: q.EventID, EventType: q.EventType,
		Attempt: q.Attempts + 1, StatusCode: res.statusCode, LatencyMs: res.latency.Milliseconds(), Error: res.err,
		AttemptedAt: model.Ms(at), Status: DeliveryFailed}
	b := s.db.NewBatch()
	var (
		keep   bool // the queue record stays (with new times)
		nq     = q
		gone   = res.statusCode == http.StatusGone
		putErr error
	)
	switch {
	case res.ok():
		d.Status, d.DeliveredAt = DeliverySucceeded, model.Ms(now)
		ep.PausedUntil = 0
	case gone:
		// The receiver says the endpoint is gone: disable it. Its queue is
		// held, this delivery first, and resumes if it is enabled again.
		d.Error = "receiver answered HTTP 410 Gone: endpoint disabled"
		ep.Status, ep.DisabledReason, ep.UpdatedAt, ep.PausedUntil = StatusDisabled, DisabledGone, model.Ms(now), 0
		nq.Attempts, nq.NextAttemptAt, keep = d.Attempt, model.Ms(now), true
	default:
		// The endpoint rests until this delivery's retry after its first
		// failure (so it is retried before anything newer is sent), and for
		// the first step of the schedule after a later failure (so a
		// delivery that keeps failing holds back the others no longer).
		pause := now.Add(s.cfg.Schedule[0])
		wait, more := Backoff(s.cfg.Schedule, s.cfg.JitterFraction, d.Attempt, s.cfg.Rand())
		if more {
			nextAt := now.Add(wait)
			d.NextAttemptAt = model.Ms(nextAt)
			nq.Attempts, nq.NextAttemptAt, keep = d.Attempt, model.Ms(nextAt), true
			if d.Attempt == 1 || nextAt.Before(pause) {
				pause = nextAt
			}
		}
		ep.PausedUntil = model.Ms(pause)
	}
	if ep.PausedUntil != st.ep.PausedUntil || ep.Status != st.ep.Status {
		putErr = b.PutJSON(endpointKey(ep.ID), ep)
	}
	if putErr == nil {
		putErr = b.PutJSON(logKey(ep.ID, d.ID), d)
	}
	if putErr == nil && keep {
		putErr = b.PutJSON(queueKey(ep.ID, q.EventID), nq)
	}
	if !keep {
		b.Delete(queueKey(ep.ID, q.EventID))
	}
	pruned := 0
	if putErr == nil && st.logCount+1 > s.cfg.MaxDeliveryLog+s.cfg.MaxDeliveryLog/10 {
		// Prune in steps of a tenth so that the scan is not paid per attempt.
		excess := st.logCount + 1 - s.cfg.MaxDeliveryLog
		putErr = s.db.Scan(logPrefix(ep.ID), "", false, func(k, _ []byte) bool {
			b.Delete(k)
			pruned++
			return pruned < excess
		})
	}
	if putErr != nil {
		b.Discard()
	} else {
		putErr = s.db.Apply(b)
	}
	if putErr != nil {
		// Nothing was written: the attempt will be made again. Rest first so
		// that a failing store is not hammered.
		st.ep.PausedUntil = model.Ms(now.Add(s.cfg.Schedule[0]))
		s.mu.Unlock()
		s.log.Error("webhook: recording an attempt failed", "webhook", ep.ID, "err", putErr)
		return
	}
	st.ep = ep
	st.logCount += 1 - pruned
	for i, w := range st.window {
		if w.EventID != q.EventID {
			continue
		}
		if keep {
			st.window[i] = &nq
		} else {
			st.window = append(st.window[:i], st.window[i+1:]...)
			s.buffered--
		}
		break
	}
	s.mu.Unlock()
	if err := b.Wait(); err != nil {
		s.log.Error("webhook: syncing an attempt failed", "webhook", ep.ID, "err", err)
	}
	if gone {
		s.log.Warn("webhook endpoint disabled: receiver answered 410 Gone", "webhook", ep.ID)
	}
}
