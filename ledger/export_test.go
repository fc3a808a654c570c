package ledger

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// SkipEventsForBenchmark makes l record no events, so that a benchmark can
// measure what recording them costs the decision path.
func SkipEventsForBenchmark(l *Ledger) { l.skipEvents = true }

// OpenHolds counts the open authorizations the ledger holds in memory and
// the original keys each of them claims.
func OpenHolds(l *Ledger) (holds, keys int) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		holds += s.txns.open
		for _, c := range s.txns.chunks {
			for _, h := range c {
				for _, k := range h.keys {
					if h.live && k != 0 {
						keys++
					}
				}
			}
		}
		s.mu.Unlock()
	}
	return holds, keys
}

// ProjectedLSN is the LSN of the last decision record the store took.
func ProjectedLSN(l *Ledger) (uint64, error) {
	lsn, err := projectedLSN(l.db)
	return uint64(lsn), err
}

// LastLSN is the LSN of the last decision record appended.
func LastLSN(l *Ledger) uint64 { return uint64(l.lastAppended()) }

// StoreLSNs reads the LSNs a store is current to: its keys but the hot
// ones, and the hot ones.
func StoreLSNs(db *store.DB) (all, hot uint64, err error) {
	a, h, _, err := storeLSNs(db)
	return uint64(a), uint64(h), err
}

// RebuildEventsByType forgets the index of events by type and rebuilds
// it from the store, as Open does; it returns how many IDs it holds.
func RebuildEventsByType(l *Ledger) (int, error) {
	l.events = newEventsByType()
	if err := l.rebuildEvents(); err != nil {
		return 0, err
	}
	n := 0
	for _, ids := range l.events.byType {
		n += len(ids.ids) + len(ids.odd)
	}
	return n, nil
}

// FindOriginal looks up the original a follow-up with these references
// names, as Clear and Reverse do (card "" for a follow-up without DE 2).
func FindOriginal(l *Ledger, de90, rrn, authCode, cardID string) (string, error) {
	f := &FollowUp{OriginalData: de90, RRN: rrn, AuthCode: authCode}
	if cardID == "" {
		id, _, err := l.findOriginal(nil, f, "")
		return id, err
	}
	c, err := l.GetCard(cardID)
	if err != nil {
		return "", err
	}
	s := l.shardOf(c.UserID)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _, err := l.findOriginal(s, f, cardID)
	return id, err
}

// IgnoreSnapshots makes Open rebuild memory from the store even when a
// memory checkpoint is there.
func IgnoreSnapshots(c *Config) { c.ignoreSnapshots = true }

// LoadedSnapshot is the LSN of the memory checkpoint Open loaded, 0 when
// it rebuilt memory from the store.
func LoadedSnapshot(l *Ledger) uint64 { return uint64(l.snap.loaded) }

// SnapshotNow takes a memory checkpoint as Sweep does when one is due,
// and waits until it is written; it returns its LSN.
func SnapshotNow(l *Ledger) uint64 {
	l.snap.mu.Lock()
	l.snap.due = true
	l.snap.mu.Unlock()
	l.maybeSnapshot(model.Ms(l.clock.Now()))
	l.snap.wg.Wait()
	l.snap.mu.Lock()
	defer l.snap.mu.Unlock()
	return uint64(l.snap.lastLSN)
}

// DumpTables lists, sorted, what memory's checkpointed tables say: each
// open hold with its expiry and the original keys it answers for, each
// original with the originals its chains link to and whether it heads
// them, each transaction list, each type's events and each repeat entry
// that answers. Two ledgers with the same dump decide alike.
func DumpTables(l *Ledger) []string {
	var out []string
	for i := range l.shards {
		st := &l.shards[i].txns
		for slot := uint32(0); slot < st.slots; slot++ {
			h := st.at(slot)
			if !h.live {
				continue
			}
			var owned []uint64
			for j, kh := range h.keys {
				v := slot<<1 | uint32(j)
				if _, _, ok := st.byKey.find(kh, func(x uint32) bool { return x == v }); kh != 0 && ok {
					owned = append(owned, kh)
				}
			}
			slices.Sort(owned)
			out = append(out, fmt.Sprintf("hold %d %s expires %d keys %x", i, st.idOf(slot), h.expires, owned))
		}
	}
	o := l.origins
	idAt := func(pos uint32) string {
		if pos == 0 {
			return "-"
		}
		if id, ok := o.odd[pos]; ok {
			return id
		}
		e := o.entries[pos-1]
		return unpackID("txn", e.id[0], e.id[1])
	}
	for i := range o.entries {
		e := &o.entries[i]
		out = append(out, fmt.Sprintf("origin %s stan->%s rrn->%s", idAt(uint32(i+1)), idAt(e.prevSTAN), idAt(e.prevRRN)))
	}
	for _, pos := range o.stan {
		out = append(out, "origin head stan "+idAt(pos))
	}
	for _, pos := range o.rrn {
		out = append(out, "origin head rrn "+idAt(pos))
	}
	for _, kind := range []byte{'c', 'u', 'a'} {
		for owner, il := range l.lists.mapOf(kind) {
			ids := make([]string, len(il.ids))
			for i := range il.ids {
				ids[i] = il.idAt(i)
			}
			out = append(out, fmt.Sprintf("list %c %s %v", kind, owner, ids))
		}
	}
	for typ, ev := range l.events.byType {
		ids := make([]string, 0, len(ev.ids))
		for _, p := range ev.ids {
			ids = append(ids, unpackEventID(p))
		}
		out = append(out, fmt.Sprintf("events %s %v %v", typ, ids, ev.odd))
	}
	ri := l.repeats
	for i := range ri.shards {
		rs := &ri.shards[i]
		for _, v := range rs.table.t {
			if v == 0 {
				continue
			}
			pos := rs.fullPos(v - 1)
			e := rs.at(pos)
			r := ri.reply(rs, pos, e)
			out = append(out, fmt.Sprintf("repeat %x/%x fp %x expires %d flags %d reply %s %s %s %s",
				e.keyHash(), e.check(), e.fp(), e.expires(), e.flags()&^flagOverflow, r.Code, r.Reason, r.AuthCode, r.TxnID))
		}
	}
	slices.Sort(out)
	return out
}

// LogHas reports whether the decision log still holds the record at lsn.
func LogHas(l *Ledger, lsn uint64) bool {
	stop := errors.New("stop")
	err := l.dlog.ReadFrom(decisionlog.LSN(lsn), func(decisionlog.LSN, []byte) error { return stop })
	return err == nil || errors.Is(err, stop)
}

// Abandon closes the ledger's decision log and nothing else, as a crash
// would leave it but for the log's last sync: no memory checkpoint is
// written. The store is the caller's to close.
func Abandon(l *Ledger) error { return l.dlog.Close() }
