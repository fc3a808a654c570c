package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

// lsnKey is where the store records the LSN of the last record projected
// into it. Every projection batch sets it, so whatever state of the store
// survives a crash (a prefix of its batches) names the first record a
// restart must replay.
var lsnKey = store.MetaKey("lsn")

// pipeline holds the records appended to the decision log and not yet
// projected into the store, in LSN order. A change is appended under the
// lock that ordered it and applied to memory at once; the store takes it
// only once it is durable (projectDurable, on the log's syncer), so the
// store never holds a change the log could lose, and whatever survives of
// the store after a crash is a prefix of the log.
//
// Until then the change's writes are found here: a read that must see
// every change already decided (a clearing right behind its authorization
// in one read of a connection, an idempotent retry racing its first
// attempt) looks here before it asks the store (see get).
type pipeline struct {
	mu    sync.Mutex
	queue []pendingRecord
	// base is the position of queue[0] in the sequence of every record
	// ever queued; byKey maps the hash of each key a queued record writes
	// to the position of the newest record that writes it, so that a read
	// looks at one record rather than at every queued one (under load a
	// sync's worth of records is queued, and scanning them all on every
	// read cost a fifth of the server's CPU).
	base  uint64
	byKey map[uint64]uint64
	seed  maphash.Seed
	// free holds the hash slices of dropped records, for reuse.
	free [][]uint64
	// ranges counts the queued records with a range deletion, which the
	// index cannot answer for: while there is one, reads scan the queue.
	ranges int
	// appended is the LSN of the last record appended, 0 before any.
	appended decisionlog.LSN
	// one passes a single record to the log's Append (no log keeps the
	// slice it is given), so that its variadic slice is not made anew on
	// the heap for every record.
	one [1][]byte
}

type pendingRecord struct {
	lsn      decisionlog.LSN
	rec      []byte
	hasRange bool
	// hashes are the hashes of the keys the record writes, kept so that
	// dropping it from the index does not decode it again.
	hashes []uint64
}

// takeHashes returns an empty slice for a record's key hashes.
func (p *pipeline) takeHashes() []uint64 {
	if n := len(p.free); n > 0 {
		h := p.free[n-1]
		p.free = p.free[:n-1]
		return h
	}
	return make([]uint64, 0, 16)
}

func (p *pipeline) init() {
	p.byKey = map[uint64]uint64{}
	p.seed = maphash.MakeSeed()
}

// appendRecord appends a change's record to the log and queues it for
// projection. The caller holds the lock that ordered the change. rec is
// kept, not copied: a change's buffer is its own. keys are the hashes of
// the keys the record writes that the queue's index takes (keyHash), and
// hasRange whether it deletes a range: the change knows them as it builds
// the record, so the queue need not parse it again. wanted are its events
// the event reader wants, kept for it in the same order (logevents.go),
// pointing into rec: a record's buffer is never reused.
func (l *Ledger) appendRecord(rec []byte, keys []uint64, hasRange bool, wanted []wantedEvent) (decisionlog.LSN, error) {
	p := &l.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	p.one[0] = rec
	lsn, err := l.dlog.Append(p.one[:]...)
	p.one[0] = nil
	if err != nil {
		return 0, err
	}
	p.push(lsn, rec, keys, hasRange)
	if len(wanted) > 0 {
		l.tail.push(lsn, rec, wanted)
	}
	return lsn, nil
}

// keyHash is the hash under which the queue's index finds a key, and
// whether the index takes the key at all.
func (p *pipeline) keyHash(key []byte) (uint64, bool) {
	if isUnread(key) {
		return 0, false
	}
	return maphash.Bytes(p.seed, key), true
}

// recordKeys lists what appendRecord needs of a record built elsewhere
// than in a change (tests).
func (p *pipeline) recordKeys(rec []byte) (keys []uint64, hasRange bool) {
	_, _, _ = readRecord(rec, func(op recordOp) error {
		if op.op == opDeleteRange {
			hasRange = true
		} else if h, ok := p.keyHash(op.key); ok {
			keys = append(keys, h)
		}
		return nil
	})
	return keys, hasRange
}

// unread are the key families no read on the decision path asks for
// (memory answers for them): the hot keys, events and their type index,
// the transaction lists. The queue's index leaves them out,
// which spares most of an authorization's keys a hash and two map
// operations; a read of one still finds it, by scanning the queue.
var unread = [][]byte{keyspace.BalancePrefix, keyspace.UsagePrefix, keyspace.SpendPrefix, keyspace.EventsPrefix,
	keyspace.EventByTypePrefix, keyspace.TxnByCardPrefix, keyspace.TxnByUserPrefix, keyspace.TxnByAgentPrefix}

func isUnread(key []byte) bool {
	for _, p := range unread {
		if bytes.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// push queues a record (the caller holds mu).
func (p *pipeline) push(lsn decisionlog.LSN, rec []byte, keys []uint64, hasRange bool) {
	pos := p.base + uint64(len(p.queue))
	pr := pendingRecord{lsn: lsn, rec: rec, hasRange: hasRange, hashes: append(p.takeHashes(), keys...)}
	for _, h := range keys {
		p.byKey[h] = pos
	}
	if hasRange {
		p.ranges++
	}
	p.queue = append(p.queue, pr)
	p.appended = lsn
}

// lastAppended is the LSN of the newest record: a reply that repeats an
// earlier decision waits for it, so that it never overtakes that decision.
func (l *Ledger) lastAppended() decisionlog.LSN {
	l.pipe.mu.Lock()
	defer l.pipe.mu.Unlock()
	return l.pipe.appended
}

// projectDurable writes every queued record up to upTo into the store in
// one batch, with the LSN it reaches. It runs on the log's syncer after a
// sync and before anyone is told those records are durable, so a reply
// that follows its record's durability finds the store up to date. The
// store's WAL is not synced for it: a restart replays from the log
// whatever the store lost.
func (l *Ledger) projectDurable(upTo decisionlog.LSN) error {
	p := &l.pipe
	p.mu.Lock()
	n := 0
	for n < len(p.queue) && p.queue[n].lsn <= upTo {
		n++
	}
	recs := p.queue[:n:n]
	p.mu.Unlock()
	if n == 0 {
		return nil
	}
	h := &l.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	b := l.db.NewBatch()
	for _, r := range recs {
		if err := projectRecord(b, r.rec, l.lists, h, l.events); err != nil {
			b.Discard()
			return fmt.Errorf("ledger: record %d: %w", r.lsn, err)
		}
	}
	last := recs[n-1].lsn
	b.Put(lsnKey, binary.BigEndian.AppendUint64(nil, uint64(last)))
	h.lsn = last
	h.records += n
	if nowMs := l.clock.Now().UnixMilli(); h.due(&l.cfg, nowMs) {
		h.flushInto(b, nowMs)
	}
	if err := l.db.ApplyUnsynced(b); err != nil {
		return err
	}
	// Dropped only now: a reader that misses a record here finds it in
	// the store.
	p.mu.Lock()
	p.drop(n)
	p.mu.Unlock()
	return nil
}

// drop forgets the n oldest queued records (the caller holds mu).
func (p *pipeline) drop(n int) {
	for i, r := range p.queue[:n] {
		pos := p.base + uint64(i)
		for _, h := range r.hashes {
			if p.byKey[h] == pos {
				delete(p.byKey, h)
			}
		}
		if r.hasRange {
			p.ranges--
		}
		if len(p.free) < 1024 {
			p.free = append(p.free, r.hashes[:0])
		}
	}
	if len(p.byKey) == 0 {
		// Deletions leave tombstones that lengthen every later probe;
		// clearing an empty map drops them.
		clear(p.byKey)
	}
	p.base += uint64(n)
	m := copy(p.queue, p.queue[n:])
	clear(p.queue[m:])
	p.queue = p.queue[:m]
}

// projectRecord adds a record's operations to a store batch. Live traffic
// (projectDurable) and a restart's replay both project through it. The
// transaction list indexes go to lists, the memory projection that serves
// them, and not to the store, and the open-hold markers go nowhere (memory
// holds the open authorizations); with lists nil (a replay into the store,
// after which Open rebuilds the lists from the store's transactions) they
// are skipped. With hot set (live traffic), the hot keys go to the next
// checkpoint (hotkeys.go) rather than into b. The event-type index goes
// to events, as the lists go to lists.
func projectRecord(b *store.Batch, rec []byte, lists *txnLists, hot *hotKeys, events *eventsByType) error {
	_, _, err := readRecord(rec, func(op recordOp) error {
		if op.op == opSet && (lists != nil || events != nil) {
			// The lists and the index of events by type are derived from
			// the transaction and the event themselves (records written
			// before this also carry their index keys: both give the same).
			if id, ok := bytes.CutPrefix(op.key, keyspace.TxnsPrefix); ok && lists != nil {
				if err := lists.addTxn(id, op.value); err != nil {
					return fmt.Errorf("ledger: transaction %s: %w", id, err)
				}
			} else if id, ok := bytes.CutPrefix(op.key, keyspace.EventsPrefix); ok && events != nil {
				typ, err := eventlog.TypeOf(op.value)
				if err != nil {
					return fmt.Errorf("ledger: event %s: %w", id, err)
				}
				events.addTyped(typ, id)
			}
		}
		if typ, evID, ok := eventTypeOf(op.key); ok {
			if events != nil && op.op == opSet {
				events.add(typ, evID)
			}
			return nil
		}
		if hot != nil && op.op != opDeleteRange && isHot(op.key) {
			hot.put(op)
			return nil
		}
		if kind, parent, txnID, ok := listOf(op.key); ok {
			if lists != nil && op.op == opSet {
				lists.add(kind, parent, txnID)
			}
			return nil
		}
		if bytes.HasPrefix(op.key, keyspace.OpenPrefix) || bytes.HasPrefix(op.key, keyspace.OrigSTANPrefix) ||
			bytes.HasPrefix(op.key, keyspace.OrigRRNPrefix) {
			// Open holds and originals are found in memory (refs.go,
			// origins.go), and a restart finds them among the store's
			// transactions. (Records written before origins.go carry the
			// originals' index keys.)
			return nil
		}
		putOp(b, op)
		return nil
	})
	return err
}

// projectedLSN reads the LSN of the last record the store took (its hot
// keys may be older: see storeLSNs).
func projectedLSN(db *store.DB) (decisionlog.LSN, error) {
	lsn, _, err := readLSN(db, lsnKey)
	return lsn, err
}

// replay projects into the store every durable record it does not have
// yet: those a crash took from its unsynced WAL. It runs at Open, before
// memory is built from the store.
func (l *Ledger) replay() error {
	_, err := replayInto(l.db, l.dlog, l.cfg.LogDir)
	return err
}

// CatchUpStore brings a store up to its decision log without opening a
// ledger: ledgersim verify reads the store, and after a crash the store
// may lack the log's newest records until something replays them. It
// returns how many records it projected.
func CatchUpStore(db *store.DB) (int, error) {
	dir := db.FS().PathJoin(db.Dir(), "log")
	var fatal error
	dlog, err := decisionlog.Open(decisionlog.Config{Dir: dir, FS: db.FS(), OnFatal: func(err error) { fatal = err }})
	if err != nil {
		return 0, err
	}
	n, err := replayInto(db, dlog, dir)
	if cerr := dlog.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fatal
	}
	return n, err
}

func replayInto(db *store.DB, dlog decisionlog.Log, logDir string) (int, error) {
	all, hot, hotRecorded, err := storeLSNs(db)
	if err != nil {
		return 0, err
	}
	if last := dlog.Last(); last < all {
		return 0, fmt.Errorf("ledger: the store has taken decision records up to %d but the log in %s ends at %d: the log is missing records; restore the data directory whole (the log and the store together)",
			all, logDir, last)
	}
	total := 0
	b := db.NewBatch()
	var n int
	var at decisionlog.LSN
	flush := func() error {
		b.Put(lsnKey, binary.BigEndian.AppendUint64(nil, uint64(max(at, all))))
		b.Put(hotLSNKey, binary.BigEndian.AppendUint64(nil, uint64(at)))
		err := db.Commit(b)
		b, n = db.NewBatch(), 0
		return err
	}
	// Records up to all are in the store but for their hot keys.
	err = dlog.ReadFrom(hot+1, func(lsn decisionlog.LSN, rec []byte) error {
		var err error
		if lsn <= all {
			err = projectHot(b, rec)
		} else {
			err = projectRecord(b, rec, nil, nil, nil)
		}
		if err != nil {
			return fmt.Errorf("ledger: record %d: %w", lsn, err)
		}
		n, at, total = n+1, lsn, total+1
		if n == 4096 {
			return flush()
		}
		return nil
	})
	if err == nil && (n > 0 || !hotRecorded) {
		if n == 0 {
			at = max(hot, all)
		}
		err = flush()
	}
	b.Discard()
	return total, err
}

// projectHot adds only a record's hot-key writes to a store batch.
func projectHot(b *store.Batch, rec []byte) error {
	_, _, err := readRecord(rec, func(op recordOp) error {
		if op.op != opDeleteRange && isHot(op.key) {
			putOp(b, op)
		}
		return nil
	})
	return err
}

// putOp adds one operation to a store batch.
func putOp(b *store.Batch, op recordOp) {
	switch op.op {
	case opSet:
		b.Put(op.key, op.value)
	case opDelete:
		b.Delete(op.key)
	case opDeleteRange:
		b.DeleteRange(op.key, op.value)
	}
}

// pendingValue looks for key among the writes of records not yet in the
// store, newest first. found reports whether one of them wrote the key;
// deleted, whether the last one that did deleted it.
func (p *pipeline) pendingValue(key []byte) (value []byte, found, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, indexed := p.keyHash(key); p.ranges == 0 && indexed {
		pos, ok := p.byKey[h]
		if !ok {
			return nil, false, false
		}
		if v, hit, del := lastWrite(p.queue[pos-p.base].rec, key); hit {
			return bytes.Clone(v), true, del
		}
		// Another key with the same hash: look everywhere.
	}
	for i := len(p.queue) - 1; i >= 0; i-- {
		if v, hit, del := lastWrite(p.queue[i].rec, key); hit {
			return bytes.Clone(v), true, del
		}
	}
	return nil, false, false
}

// lastWrite finds the last operation of one record on key.
func lastWrite(rec, key []byte) (v []byte, hit, del bool) {
	_, _, _ = readRecord(rec, func(op recordOp) error {
		switch {
		case op.op == opDeleteRange:
			if bytes.Compare(key, op.key) >= 0 && bytes.Compare(key, op.value) < 0 {
				hit, del, v = true, true, nil
			}
		case bytes.Equal(op.key, key):
			hit, del, v = true, op.op == opDelete, op.value
		}
		return nil
	})
	return v, hit, del
}

// get reads a key as the ledger's decisions see it: the newest write of
// a record not yet projected, or else the store.
func (l *Ledger) get(key []byte) ([]byte, error) {
	if v, found, deleted := l.pipe.pendingValue(key); found {
		if deleted {
			return nil, store.ErrNotFound
		}
		return v, nil
	}
	return l.db.Get(key)
}

// getJSON is get, decoded.
func (l *Ledger) getJSON(key []byte, v any) error {
	raw, err := l.get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("ledger: decode %s: %w", key, err)
	}
	return nil
}

// logTrim remembers, at each Sweep, the LSN up to which the store's
// projection was durable, so that the log can drop what the store has
// held for longer than the retention.
type logTrim struct {
	mu      sync.Mutex
	samples []trimSample // oldest first
}

type trimSample struct {
	atMs int64
	lsn  decisionlog.LSN
}

// trimLog syncs the store's WAL, which makes every projection applied so
// far durable in the store, and lets the log drop the segments below the
// newest such point older than the retention. The log is kept back that
// far (not just to the store) so that a store lost or damaged on its own
// can be rebuilt from a copy and the log's recent past.
func (l *Ledger) trimLog(nowMs int64) error {
	if err := l.checkpointHot(); err != nil {
		return err
	}
	_, lsn, _, err := storeLSNs(l.db)
	if err != nil {
		return err
	}
	if err := l.db.SyncWAL(); err != nil {
		return err
	}
	t := &l.trim
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.samples); n == 0 || t.samples[n-1].lsn != lsn {
		t.samples = append(t.samples, trimSample{atMs: nowMs, lsn: lsn})
	}
	keep := nowMs - l.cfg.LogRetention.Milliseconds()
	i := 0
	for i+1 < len(t.samples) && t.samples[i+1].atMs <= keep {
		i++
	}
	if t.samples[i].atMs > keep {
		return nil
	}
	below := t.samples[i].lsn + 1
	t.samples = t.samples[i:]
	if need := l.logNeeded(); need != 0 && need < below {
		below = need // webhook delivery has not read past it yet
	}
	// A restart replays the log after the oldest memory checkpoint kept.
	if below, err = l.keepLogAbove(below); err != nil {
		return err
	}
	return l.dlog.TruncateBelow(below)
}
