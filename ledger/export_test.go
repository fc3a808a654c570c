package ledger

// SkipEventsForBenchmark makes l record no events, so that a benchmark can
// measure what recording them costs the decision path.
func SkipEventsForBenchmark(l *Ledger) { l.skipEvents = true }
