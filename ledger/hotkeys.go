package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

// The hot keys (a user's balance, a card's usage, an agent's spend: see
// deltas.go) change with nearly every authorization, and each change
// overwrites the whole value. Memory holds their current values and is
// what decisions read; the store needs them only so that a restart finds
// them. So the store takes them as a checkpoint rather than record by
// record: the projection keeps the newest value of each hot key written
// since the last checkpoint, and writes them all, with the LSN they are
// current to (hotLSNKey), every CheckpointInterval or CheckpointRecords
// records, at Sweep and at Close. A card that authorizes 200 times
// between two checkpoints costs the store one write instead of 200.
//
// The store is then current to two LSNs: its other keys to lsnKey, its hot
// keys to hotLSNKey (never after lsnKey). A restart replays the log from
// the older of the two: records the store already has give only their hot
// keys again (replayInto), and since every write of a hot key is the whole
// value, replaying the same writes in order ends where live traffic did.
// The log keeps what the hot keys still need (trimLog).

// hotLSNKey is where the store records the LSN its hot keys are current
// to. A store without it was last written when every projection carried
// its hot keys (layout 2): they are current to lsnKey.
var hotLSNKey = store.MetaKey("hotlsn")

// isHot reports whether a key is one of the hot families.
func isHot(key []byte) bool {
	return bytes.HasPrefix(key, keyspace.BalancePrefix) || bytes.HasPrefix(key, keyspace.UsagePrefix) ||
		bytes.HasPrefix(key, keyspace.SpendPrefix)
}

// hotKeys holds the hot-key writes of durable records not yet in the
// store's checkpoint. It is used only by the projection (one goroutine at
// a time: mu orders the log's publisher against Sweep and Close).
type hotKeys struct {
	mu sync.Mutex
	// vals holds each written key's newest value, in its entry (a
	// record's buffer is not kept past its projection).
	vals map[string]*hotVal
	// dirty lists the entries written since the last checkpoint.
	dirty []*hotVal
	// lsn is the newest record whose hot writes are in vals; flushed, the
	// one the store's checkpoint is current to.
	lsn, flushed decisionlog.LSN
	// records counts the records projected since the last checkpoint;
	// lastMs is when it was written (on the ledger's clock).
	records int
	lastMs  int64
}

// hotInlineBytes is the room a hot value has in its entry: a balance, a
// spend window and a usage record (about 100 bytes with a locked
// merchant and a last access) fit, so that a write touches its entry and
// not a buffer elsewhere in memory as well (every projected approval
// writes three hot keys, in a table of every user, card and agent). A
// larger value gets a buffer of its own.
const hotInlineBytes = 128

type hotVal struct {
	key string
	v   []byte
	buf [hotInlineBytes]byte
	del bool
	// dirty is set while v is newer than the store's checkpoint; a clean
	// entry keeps its buffer for the next write of the key.
	dirty bool
}

func (h *hotKeys) init(lsn decisionlog.LSN, nowMs int64) {
	h.vals = map[string]*hotVal{}
	h.lsn, h.flushed, h.lastMs = lsn, lsn, nowMs
}

// put keeps a hot key's write. A key seen before costs no allocation.
func (h *hotKeys) put(op recordOp) {
	e, ok := h.vals[string(op.key)]
	if !ok {
		e = &hotVal{key: string(op.key)}
		e.v = e.buf[:0]
		h.vals[e.key] = e
	}
	e.v = append(e.v[:0], op.value...)
	e.del = op.op == opDelete
	if !e.dirty {
		e.dirty = true
		h.dirty = append(h.dirty, e)
	}
}

// due reports whether the next projection should write a checkpoint.
func (h *hotKeys) due(cfg *Config, nowMs int64) bool {
	return h.records >= cfg.CheckpointRecords || nowMs-h.lastMs >= cfg.CheckpointInterval.Milliseconds()
}

// flushInto adds the checkpoint to a store batch: every key written since
// the last one, and the LSN they are current to. The caller holds mu and
// applies b; entries left clean keep their buffers, and the map is
// emptied now and then so that keys of deleted owners do not stay.
func (h *hotKeys) flushInto(b *store.Batch, nowMs int64) {
	for _, e := range h.dirty {
		if e.del {
			b.Delete([]byte(e.key))
		} else {
			b.Put([]byte(e.key), e.v)
		}
		e.dirty = false
	}
	clear(h.dirty)
	h.dirty = h.dirty[:0]
	if len(h.vals) > 1<<20 {
		clear(h.vals)
	}
	b.Put(hotLSNKey, binary.BigEndian.AppendUint64(nil, uint64(h.lsn)))
	h.flushed, h.records, h.lastMs = h.lsn, 0, nowMs
}

// checkpointHot writes the hot keys' checkpoint now (Sweep, Close), if
// anything was projected since the last one.
func (l *Ledger) checkpointHot() error {
	h := &l.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lsn == h.flushed {
		return nil
	}
	b := l.db.NewBatch()
	h.flushInto(b, l.clock.Now().UnixMilli())
	return l.db.ApplyUnsynced(b)
}

// Checkpoint writes the hot keys' checkpoint now, so that the store alone
// is current to every record projected so far. A restart does not need it
// (it replays the hot keys from the log); whatever reads the store beside
// a running ledger, as verify's tests do, does.
func (l *Ledger) Checkpoint() error { return l.checkpointHot() }

// storeLSNs reads the LSNs the store is current to: its keys but the hot
// ones, and the hot ones; hotRecorded says whether the store records the
// latter (one last written by layout 2 does not: its hot keys are current
// to all).
func storeLSNs(db *store.DB) (all, hot decisionlog.LSN, hotRecorded bool, err error) {
	all, _, err = readLSN(db, lsnKey)
	if err != nil {
		return 0, 0, false, err
	}
	hot, hotRecorded, err = readLSN(db, hotLSNKey)
	if err != nil {
		return 0, 0, false, err
	}
	if !hotRecorded {
		return all, all, false, nil
	}
	if hot > all {
		return 0, 0, false, fmt.Errorf("ledger: the store's hot keys are current to record %d, after the rest of it (%d)", hot, all)
	}
	return all, hot, true, nil
}

// readLSN reads an LSN the store records under key; found is false (and
// the LSN 0) when it records none.
func readLSN(db *store.DB, key []byte) (lsn decisionlog.LSN, found bool, err error) {
	raw, err := db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(raw) != 8 {
		return 0, false, fmt.Errorf("ledger: %s is %d bytes, not 8", key, len(raw))
	}
	return decisionlog.LSN(binary.BigEndian.Uint64(raw)), true, nil
}
