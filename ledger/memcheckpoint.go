package ledger

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ledgersim/ledgersim/checkpoint"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/model"
)

// Memory checkpoints. What memory derives from the records (the open
// holds, the originals' index, the transaction lists, the events by type
// and the repeat window) is otherwise rebuilt at Open by a pass over every
// transaction and event in the store, which takes longer as history
// grows. A memory checkpoint is those tables in their packed form,
// labelled with an LSN P; a restart loads the newest whole one and replays
// only the log after P into them.
//
// # Consistency without stopping decisions
//
// P is read first: the LSN the store's projection has reached, which the
// lists and the events by type (projected at durability) already hold.
// Then every user shard is locked and unlocked once: a change whose
// record is at or below P was appended under its shard's lock before P
// was read, so once the barrier has passed, every such change has made
// its effects in memory (its hold, its original, its repeat entry; they
// are made under that lock after the record is appended). Then each
// table is copied under its own lock, one at a time, while decisions go
// on: each copy holds at least every effect of the records up to P, and
// perhaps some of later ones. A is the last LSN appended after the
// copies: every effect a copy holds was made after its record was
// appended, so A covers them all. A background goroutine waits until A is
// durable (no effect in the checkpoint can be lost by a crash) and writes
// the checkpoint labelled P.
//
// A restart replays the log from P+1 into the loaded tables with an
// idempotent apply, so the result is what memory held, whatever part of
// those records the copies already had: a list or a type's events gain an
// ID only if it is not there (they are sorted), an original is not added
// again when it heads its chain, a hold takes the newest value of its
// transaction (open iff authorized), and a repeat entry is restored only
// when its key has none. The transactions are applied through the same
// function the full rebuild uses for each stored one (restoreTxn).
//
// A checkpoint that does not decode, was made with another number of
// user shards or another repeat window, is ahead of the log, or whose log
// tail was already dropped, is reported and the restart rebuilds from the
// store as before. The log is kept back to the oldest checkpoint kept
// (trimLog), so that a damaged newest one falls back to the one before.

// memCheckpointMagic starts a memory checkpoint's body: its format and
// version. A change of any table's encoding changes the version; a
// restart falls back to the full rebuild for a version it does not read.
const memCheckpointMagic = "LSMEMv02"

// memCheckpointEnd ends the body: a decoder that reached it read what the
// writer wrote.
const memCheckpointEnd = 0x444e454d454d534c // "LSMEMEND"

// memSnapshot is the copy of memory's tables a checkpoint is written from.
type memSnapshot struct {
	lsn      decisionlog.LSN
	windowMs int64
	holds    [][]holdCopy
	origins  originsCopy
	lists    [3][]listCopy
	events   []eventsCopy
	names    []string
	repeats  []repeatCopy
}

// snapshots schedules and writes memory checkpoints.
type snapshots struct {
	store *checkpoint.Store
	mu    sync.Mutex
	// running is set while one is taken or written; inflight is its P
	// while it is written (the log must keep what follows it).
	running  bool
	inflight decisionlog.LSN
	closed   bool
	// lastLSN and lastMs are the P and the time (ledger's clock) of the
	// last one written or loaded; due asks for one at the next Sweep
	// (after an Open that rebuilt from the store).
	lastLSN decisionlog.LSN
	lastMs  int64
	due     bool
	wg      sync.WaitGroup
	// loaded is the P of the checkpoint Open loaded, 0 for a full rebuild.
	loaded decisionlog.LSN
}

// projectorLSN is the LSN of the last record projected (into the store,
// the lists and the events by type).
func (l *Ledger) projectorLSN() decisionlog.LSN {
	h := &l.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lsn
}

// takeSnapshot copies the tables (see the consistency note above) and
// returns the copy and A, the LSN that must be durable before it is
// written.
func (l *Ledger) takeSnapshot() (*memSnapshot, decisionlog.LSN) {
	s := &memSnapshot{lsn: l.projectorLSN(), windowMs: l.cfg.RepeatWindow.Milliseconds()}
	for i := range l.shards {
		l.shards[i].mu.Lock()
		//nolint:staticcheck // an empty critical section: the barrier
		l.shards[i].mu.Unlock()
	}
	s.holds = make([][]holdCopy, len(l.shards))
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		s.holds[i] = sh.txns.copyHolds()
		sh.mu.Unlock()
	}
	s.origins = l.origins.copyTable()
	s.lists = l.lists.copyTable()
	s.events = l.events.copyTable()
	s.names, s.repeats = l.repeats.copyTable()
	return s, l.lastAppended()
}

func (s *memSnapshot) encode(w io.Writer) error {
	e := newEncoder(w)
	e.write([]byte(memCheckpointMagic))
	e.uvarint(uint64(len(s.holds)))
	e.varint(s.windowMs)
	for _, hs := range s.holds {
		e.uvarint(uint64(len(hs)))
		for i := range hs {
			hs[i].encode(e)
		}
	}
	s.origins.encode(e)
	encodeLists(e, s.lists)
	encodeEvents(e, s.events)
	encodeRepeats(e, s.names, s.repeats)
	e.u64(memCheckpointEnd)
	return e.flush()
}

// memTables are the tables a checkpoint decodes into, installed only once
// all of it decoded.
type memTables struct {
	holds   []shardTxns
	origins *origins
	lists   *txnLists
	events  *eventsByType
	repeats *repeatIndex
}

// errMismatch reports a checkpoint made under another configuration.
var errMismatch = errors.New("ledger: memory checkpoint made with another configuration")

func decodeTables(r io.Reader, size int64, shards int, windowMs, nowMs int64) (*memTables, error) {
	d := newDecoder(r, size)
	if magic := d.read(len(memCheckpointMagic)); d.err == nil && string(magic) != memCheckpointMagic {
		return nil, fmt.Errorf("%w: format %q, this binary reads %q", errMismatch, magic, memCheckpointMagic)
	}
	n, w := d.uvarint(), d.varint()
	if d.err != nil {
		return nil, d.err
	}
	if n != uint64(shards) || w != windowMs {
		return nil, fmt.Errorf("%w: %d user shards and a repeat window of %d ms, now %d and %d ms",
			errMismatch, n, w, shards, windowMs)
	}
	// The sections are read in order; each table is built from what was
	// read of it in a goroutine of its own while the next is read (a
	// restart has the machine to itself, and building the tables' hash
	// tables is most of the work).
	t := &memTables{holds: make([]shardTxns, shards)}
	var wg sync.WaitGroup
	defer wg.Wait()
	build := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	holds := make([][]holdCopy, shards)
	for i := range holds {
		holds[i] = make([]holdCopy, d.count(34))
		for j := range holds[i] {
			holds[i][j].decode(d)
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	build(func() {
		for i, hs := range holds {
			st := newShardTxns()
			st.reserve(len(hs))
			for j := range hs {
				st.restoreHold(&hs[j])
			}
			t.holds[i] = st
		}
	})
	t.origins = decodeOrigins(d)
	t.lists = decodeLists(d)
	t.events = decodeEvents(d)
	t.repeats = decodeRepeats(d, windowMs, nowMs, build)
	if end := d.u64(); d.err == nil && (end != memCheckpointEnd || d.remain != 0) {
		d.fail("it does not end where its tables do")
	}
	wg.Wait()
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}

// writeSnapshot writes a checkpoint from a copy.
func (l *Ledger) writeSnapshot(s *memSnapshot) error {
	return l.snap.store.Write(s.lsn, s.encode)
}

// maybeSnapshot starts a checkpoint when one is due (Sweep calls it):
// after SnapshotInterval on the ledger's clock or SnapshotRecords records
// since the last, or after an Open that rebuilt from the store. Never
// more than one is in flight. The copy is taken here; the wait for its
// durability and the write happen in the background.
func (l *Ledger) maybeSnapshot(nowMs int64) {
	sn := &l.snap
	if sn.store == nil {
		return
	}
	sn.mu.Lock()
	due := sn.due || nowMs-sn.lastMs >= l.cfg.SnapshotInterval.Milliseconds() ||
		l.lastAppended()-sn.lastLSN >= decisionlog.LSN(l.cfg.SnapshotRecords)
	if sn.running || sn.closed || !due {
		sn.mu.Unlock()
		return
	}
	sn.running = true
	sn.wg.Add(1)
	sn.mu.Unlock()
	s, appended := l.takeSnapshot()
	sn.mu.Lock()
	sn.inflight = s.lsn
	sn.mu.Unlock()
	go func() {
		defer sn.wg.Done()
		err := l.dlog.WaitDurable(appended)
		if err == nil {
			err = l.writeSnapshot(s)
		}
		sn.mu.Lock()
		defer sn.mu.Unlock()
		sn.running, sn.inflight, sn.lastMs = false, 0, nowMs
		if err != nil {
			// Tried again after SnapshotInterval; meanwhile a restart
			// replays more of the log, or rebuilds from the store.
			l.log.Warn("ledger: memory checkpoint not written", "lsn", uint64(s.lsn), "err", err)
			return
		}
		sn.lastLSN, sn.due = s.lsn, false
	}()
}

// closeSnapshots waits for a checkpoint in flight and writes the last one
// (Close, after the log is closed: P is then the last record, and the next
// start replays nothing).
func (l *Ledger) closeSnapshots() error {
	sn := &l.snap
	sn.mu.Lock()
	sn.closed = true
	sn.mu.Unlock()
	sn.wg.Wait()
	if sn.store == nil {
		return nil
	}
	s, _ := l.takeSnapshot()
	if err := l.writeSnapshot(s); err != nil {
		return fmt.Errorf("ledger: memory checkpoint at close: %w", err)
	}
	return nil
}

// keepLogAbove lowers the point below which the log may drop records so
// that it keeps every record after the oldest checkpoint kept and after
// the one being written. With no checkpoint, below is kept.
func (l *Ledger) keepLogAbove(below decisionlog.LSN) (decisionlog.LSN, error) {
	sn := &l.snap
	if sn.store == nil {
		return below, nil
	}
	oldest, err := sn.store.Oldest()
	if err != nil {
		return 0, err
	}
	if oldest > 0 {
		below = min(below, oldest+1)
	}
	sn.mu.Lock()
	if sn.inflight > 0 {
		below = min(below, sn.inflight+1)
	}
	sn.mu.Unlock()
	return below, nil
}

// openSnapshots opens the checkpoint directory.
func (l *Ledger) openSnapshots() error {
	st, err := checkpoint.Open(checkpoint.Config{Dir: l.cfg.SnapshotDir, FS: l.db.FS(), Logger: l.log})
	if err != nil {
		return err
	}
	l.snap.store = st
	l.snap.lastMs = l.clock.Now().UnixMilli()
	return nil
}

// loadMemCheckpoint loads the newest whole checkpoint and replays the log
// after it into the tables. It reports whether it did; when it did not
// (none, or one it cannot use, which it logs), the tables are as new and
// Open rebuilds them from the store.
func (l *Ledger) loadMemCheckpoint() bool {
	sn := &l.snap
	sn.lastLSN, sn.due = l.dlog.Last(), true
	if sn.store == nil || l.cfg.IgnoreMemCheckpoints {
		return false
	}
	lsn, r, err := sn.store.Newest()
	if err != nil {
		l.log.Warn("ledger: memory checkpoints unreadable; rebuilding memory from the store", "err", err)
		return false
	}
	if r == nil {
		return false
	}
	err = l.useMemCheckpoint(lsn, r)
	_ = r.Close()
	if err != nil {
		l.log.Warn("ledger: memory checkpoint not used; rebuilding memory from the store", "lsn", uint64(lsn), "err", err)
		l.resetTables()
		return false
	}
	sn.loaded, sn.lastLSN, sn.due = lsn, lsn, false
	l.log.Info("ledger: memory tables loaded from a checkpoint", "lsn", uint64(lsn), "replayedRecords", uint64(l.dlog.Last()-lsn))
	return true
}

func (l *Ledger) useMemCheckpoint(lsn decisionlog.LSN, r io.Reader) error {
	if last := l.dlog.Last(); lsn > last {
		return fmt.Errorf("%w: it is at LSN %d, the log ends at %d", errMismatch, lsn, last)
	}
	sized, ok := r.(interface{ Size() int64 })
	if !ok {
		return errors.New("ledger: memory checkpoint of unknown size")
	}
	nowMs := model.Ms(l.clock.Now())
	t, err := decodeTables(r, sized.Size(), len(l.shards), l.cfg.RepeatWindow.Milliseconds(), nowMs)
	if err != nil {
		return err
	}
	for i := range l.shards {
		l.shards[i].txns = t.holds[i]
	}
	l.origins, l.lists, l.events, l.repeats = t.origins, t.lists, t.events, t.repeats
	if err := l.replayTables(lsn + 1); err != nil {
		return err
	}
	if err := l.rebuildFollowUps(nowMs); err != nil {
		return err
	}
	l.repeats.dropKnown()
	l.repeats.sortQueues()
	return nil
}

// resetTables empties the tables a checkpoint fills.
func (l *Ledger) resetTables() {
	for i := range l.shards {
		l.shards[i].txns = newShardTxns()
	}
	l.origins, l.lists, l.events = newOrigins(), newTxnLists(), newEventsByType()
	l.repeats = newRepeatIndex(l.cfg.RepeatWindow.Milliseconds())
}

// replayTables applies the log from from on into the tables, as the
// projection and the full rebuild derive them: the transactions through
// restoreTxn, the events' types, and the index keys older records carry.
func (l *Ledger) replayTables(from decisionlog.LSN) error {
	rt := l.newTxnRestore(true)
	// Two chunks in flight and one being filled keep both goroutines busy
	// (see replay_decode.go).
	chunks, free := make(chan *replayChunk, 2), make(chan *replayChunk, 4)
	go l.decodeTail(from, chunks, free)
	var err error
	for c := range chunks {
		if err == nil {
			err = c.err
		}
		if err == nil {
			l.applyReplayChunk(c, rt)
		}
		select {
		case free <- c:
		default:
		}
	}
	if err != nil {
		return err
	}
	l.finishTxns(rt)
	return nil
}
