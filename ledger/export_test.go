package ledger

// SkipEventsForBenchmark makes l record no events, so that a benchmark can
// measure what recording them costs the decision path.
func SkipEventsForBenchmark(l *Ledger) { l.skipEvents = true }

// OpenHolds counts the open authorizations the ledger holds in memory and
// the original keys each of them claims.
func OpenHolds(l *Ledger) (holds, keys int) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		holds += len(s.txns.byID)
		for _, r := range s.txns.byID {
			keys += len(r.keys)
		}
		s.mu.Unlock()
	}
	return holds, keys
}
