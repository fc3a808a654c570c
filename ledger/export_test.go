package ledger

import (
	"errors"

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
func IgnoreSnapshots(c *Config) { c.IgnoreMemCheckpoints = true }

// LoadedSnapshot is the LSN of the memory checkpoint Open loaded, 0 when
// it rebuilt memory from the store.
func LoadedSnapshot(l *Ledger) uint64 { return l.LoadedMemCheckpoint() }

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

// DumpTables lists, sorted, what memory's checkpointed tables say (see
// MemoryTables).
func DumpTables(l *Ledger) []string { return MemoryTables(l) }

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
