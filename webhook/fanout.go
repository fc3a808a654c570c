package webhook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// EventLog is the ledger's decision log as fan-out reads it; the ledger
// implements it (ledger.Ledger).
type EventLog interface {
	// DurableLSN is the LSN of the newest durable record.
	DurableLSN() decisionlog.LSN
	// ReadEvents calls fn with the events of the durable records after
	// LSN after, in LSN order, and returns the LSN it read through: at
	// least every event Wants said yes to when its record was written
	// (others may come too; fan-out checks each). raw is the event's
	// stored form (package eventlog), valid only during the call. When
	// the log no longer holds the records after after, the error is a
	// *decisionlog.TruncatedError.
	ReadEvents(after decisionlog.LSN, fn func(lsn decisionlog.LSN, id string, raw []byte) error) (decisionlog.LSN, error)
}

// cursorKey holds the LSN of the last decision record whose events are
// fanned out (big-endian uint64). It is written in the batch that queues
// the record's deliveries.
var cursorKey = store.MetaKey("whlsn")

func encodeLSN(lsn decisionlog.LSN) []byte { return binary.BigEndian.AppendUint64(nil, uint64(lsn)) }

// NeededLSN is the oldest decision record fan-out still needs, 0 when it
// needs none (no endpoint is enabled). It is ledger.EventReader.NeededLSN:
// the log's retention never drops a record after the durable cursor, so
// that a crash cannot lose what fan-out has not read.
func (s *Service) NeededLSN() decisionlog.LSN {
	if sub := s.subs.Load(); sub == nil || !sub.any {
		return 0
	}
	return decisionlog.LSN(s.saved.Load()) + 1
}

// openCursor reads the cursor. A store written before fan-out tailed the
// log has none: its outbox markers name the events still to fan out, and
// every event of the records before the log's durable LSN that an
// endpoint wanted has one, so they are fanned out and deleted and the
// cursor starts at that LSN.
func (s *Service) openCursor() error {
	raw, err := s.db.Get(cursorKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		at := s.src.DurableLSN()
		if err := s.drainOutbox(); err != nil {
			return err
		}
		if err := s.db.PutSync(cursorKey, encodeLSN(at)); err != nil {
			return err
		}
		s.cursor = at
	case err != nil:
		return err
	case len(raw) != 8:
		return fmt.Errorf("webhook: corrupt delivery cursor %x", raw)
	default:
		s.cursor = decisionlog.LSN(binary.BigEndian.Uint64(raw))
		// Markers are written no more; a store with a cursor and markers
		// was converted by a start that stopped half-way.
		if err := s.drainOutbox(); err != nil {
			return err
		}
	}
	s.saved.Store(uint64(s.cursor))
	return nil
}

// drainOutbox fans out the events an old store's outbox markers name and
// deletes the markers, FanOutBatch at a time, each batch synced.
func (s *Service) drainOutbox() error {
	for {
		var ids []string
		if err := s.db.Scan(keyspace.OutboxPrefix, "", false, func(k, _ []byte) bool {
			ids = append(ids, tail(k, keyspace.OutboxPrefix))
			return len(ids) < s.cfg.FanOutBatch
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		evs := make([]fanEvent, 0, len(ids))
		for _, id := range ids {
			raw, err := s.db.Get(keyspace.EventKey(id))
			if errors.Is(err, store.ErrNotFound) {
				s.log.Error("webhook: outbox marker without its event, dropped", "event", id)
				continue
			}
			if err != nil {
				return err
			}
			body, typ, err := envelopeBody(id, raw)
			if err != nil {
				s.log.Error("webhook: unreadable event, dropped", "event", id, "err", err)
				continue
			}
			evs = append(evs, fanEvent{id: id, typ: typ, body: body})
		}
		s.log.Info("webhook: delivering the events of the store's outbox", "events", len(evs))
		if err := s.commitFanOut(evs, ids, s.cursor, s.cursor); err != nil {
			return err
		}
	}
}

// fanEvent is an event to queue: its ID, type and delivery body.
type fanEvent struct {
	id, typ string
	body    []byte
}

// errCursorMoved: an endpoint was enabled while none was, which moved the
// cursor past what fan-out was reading; it reads again from there.
var errCursorMoved = errors.New("webhook: the cursor moved")

// fanout is the goroutine that tails the decision log: woken by Notify
// and Kick, and every PollInterval (so that the cursor, and with it the
// log's retention, moves on when no event anyone wants comes for a while).
// It runs apart from the dispatcher so that reading the log and waiting
// for the store never hold up the start of attempts.
func (s *Service) fanout() {
	defer close(s.fanDone)
	timer := time.NewTimer(s.cfg.PollInterval)
	defer timer.Stop()
	for {
		// New read the log before this started; after that, a pass
		// follows a wake-up or the timer, or a failed pass.
		if !s.logDirty.Load() {
			select {
			case <-s.ctx.Done():
				return
			case <-s.fanWake:
			case <-timer.C:
			}
		}
		s.fanBusy.Store(true)
		s.logDirty.Store(false)
		err := s.tailLog()
		if err != nil {
			s.logDirty.Store(true) // try again
			s.log.Error("webhook: reading the decision log", "err", err)
		}
		s.fanBusy.Store(false)
		s.poke()
		if s.ctx.Err() != nil {
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(s.cfg.PollInterval)
		if err != nil {
			// Not at once: a failing store or log is not hammered.
			select {
			case <-s.ctx.Done():
				return
			case <-timer.C:
			}
			timer.Reset(s.cfg.PollInterval)
		}
	}
}

// tailLog fans out the events of the durable records after the cursor:
// for up to FanOutBatch events at a time (never splitting a record's),
// one synced batch writes the queue records of every matching enabled
// endpoint and the LSN of the last record read. A crash before the batch
// reads those records again after restart, a crash after it finds the
// queue records: nothing is lost and nothing is queued twice. With no
// enabled endpoint it moves the cursor to the durable LSN without reading
// anything.
func (s *Service) tailLog() error {
	for s.ctx.Err() == nil {
		s.mu.Lock()
		after, closed := s.cursor, s.closed
		s.mu.Unlock()
		if closed {
			return nil
		}
		if sub := s.subs.Load(); sub == nil || !sub.any {
			// No one to deliver to: the records are skipped unread (and
			// NeededLSN holds nothing back). An endpoint enabled later
			// starts from the durable LSN of then.
			d := s.src.DurableLSN()
			s.mu.Lock()
			if s.cursor == after && d > after {
				s.cursor = d
			}
			s.mu.Unlock()
			return nil
		}
		err := s.readFrom(after)
		var te *decisionlog.TruncatedError
		switch {
		case errors.Is(err, errCursorMoved):
			continue
		case errors.As(err, &te):
			// The records after the cursor are gone (a store older than its
			// log's retention, or a data directory whose log was lost):
			// their events cannot be delivered. Say so, and go on from the
			// oldest record there is.
			s.log.Warn("webhook: the decision log no longer holds the records after the delivery cursor; their events are not delivered",
				"cursor", uint64(after), "logStartsAt", uint64(te.First))
			s.mu.Lock()
			if s.cursor == after && te.First > after+1 {
				s.cursor = te.First - 1
			}
			s.mu.Unlock()
			continue
		}
		return err
	}
	return nil
}

// readFrom reads the log after the cursor after and commits what it
// read, batch by batch.
func (s *Service) readFrom(after decisionlog.LSN) error {
	var (
		evs       []fanEvent
		committed = after // the cursor as committed so far
		cur       decisionlog.LSN
	)
	through, err := s.src.ReadEvents(after, func(lsn decisionlog.LSN, id string, raw []byte) error {
		if lsn != cur {
			// Every event of cur is in evs: a batch may end after it.
			if len(evs) >= s.cfg.FanOutBatch {
				if err := s.commitFanOut(evs, nil, committed, cur); err != nil {
					return err
				}
				evs, committed = evs[:0], cur
			}
			cur = lsn
		}
		typ, err := eventlog.TypeOf(raw)
		if err != nil {
			s.log.Error("webhook: unreadable event, dropped", "event", id, "err", err)
			return nil
		}
		if !s.Wants(typ) {
			return nil // checked again when queued, against the endpoints of then
		}
		body, typ, err := envelopeBody(id, raw)
		if err != nil {
			s.log.Error("webhook: unreadable event, dropped", "event", id, "err", err)
			return nil
		}
		evs = append(evs, fanEvent{id: id, typ: typ, body: body})
		return nil
	})
	if err != nil {
		return err
	}
	if through <= committed {
		return nil
	}
	return s.commitFanOut(evs, nil, committed, through)
}

// commitFanOut writes, in one synced batch, the queue records of the
// events evs for every matching enabled endpoint, the deletion of the
// outbox markers of the events markers (a store of the old layout), and
// the cursor at to; the cursor must still be at from. The new deliveries
// are handed to the dispatcher only once the batch is synced, so that no
// event is sent before its queue record is durable.
func (s *Service) commitFanOut(evs []fanEvent, markers []string, from, to decisionlog.LSN) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if s.cursor != from {
		s.mu.Unlock()
		return errCursorMoved
	}
	now := model.Ms(s.clk.Now())
	b := s.db.NewBatch()
	added := map[*epState][]*queued{}
	var scratch []byte
	for _, id := range markers {
		b.Delete(keyspace.OutboxKey(id))
	}
	for _, ev := range evs {
		for _, id := range s.order {
			st := s.eps[id]
			if st.ep.Status != StatusEnabled || !st.ep.Subscribed(ev.typ) {
				continue
			}
			q := &queued{WebhookID: id, EventID: ev.id, EventType: ev.typ, Body: ev.body,
				NextAttemptAt: now, EnqueuedAt: now}
			scratch = q.appendRecord(scratch[:0])
			b.Put(queueKey(id, ev.id), scratch)
			added[st] = append(added[st], q)
		}
	}
	if to != from {
		b.Put(cursorKey, encodeLSN(to))
	}
	if err := s.db.Apply(b); err != nil {
		s.mu.Unlock()
		return err
	}
	s.cursor = to
	for _, qs := range added {
		s.queueDepth.Add(int64(len(qs)))
	}
	// Until the batch is synced, fill leaves its queue records alone.
	held := make(map[string]bool, len(evs))
	for _, ev := range evs {
		held[ev.id] = true
	}
	s.held = held
	s.mu.Unlock()
	err := b.Wait()
	s.mu.Lock()
	s.held = nil
	if err == nil {
		for st, qs := range added {
			if !st.deleted {
				s.offer(st, qs)
			}
		}
		if uint64(to) > s.saved.Load() {
			s.saved.Store(uint64(to))
		}
		if s.fannedOut != nil {
			defer s.fannedOut(to)
		}
	} else {
		// Applied but not known to be synced: the records stay in the store
		// (a restart reads them) and in memory the windows read them again.
		for st := range added {
			st.loaded = false
		}
	}
	s.mu.Unlock()
	s.poke()
	return err
}

// skipToNow, when no endpoint is enabled, moves the cursor to the log's
// durable LSN, in b: an endpoint enabled now receives the events that
// happen from now on, not those of the records fan-out skipped while no
// one wanted them. It returns the LSN to note as saved once b is synced
// (0: none, an endpoint is enabled). The caller holds mu and applies b.
func (s *Service) skipToNow(b *store.Batch) decisionlog.LSN {
	if sub := s.subs.Load(); sub != nil && sub.any {
		return 0
	}
	// Fan-out may have moved the cursor in memory only: it is stored
	// here either way.
	d := max(s.src.DurableLSN(), s.cursor)
	s.cursor = d
	b.Put(cursorKey, encodeLSN(d))
	return d
}

// noteSaved records that the cursor at lsn is durable.
func (s *Service) noteSaved(lsn decisionlog.LSN) {
	if lsn == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(lsn) > s.saved.Load() {
		s.saved.Store(uint64(lsn))
	}
}
