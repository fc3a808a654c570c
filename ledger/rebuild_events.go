package ledger

import (
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
)

// rebuildEvents restores the events-by-type index (eventindex.go) in one
// pass over the store's events, reading only each event's type from its
// header. Events are stored in ID order, so every type's IDs are appended
// in order. (A store written before the index moved to memory still holds
// its xet/ keys: Open drops them with the other retired families, once;
// see retired.go.)
//
// An event whose type cannot be read is left out of the index and
// logged, not a reason to refuse to start: it is derived data, reading it
// by ID reports the damage, and verify counts it.
func (l *Ledger) rebuildEvents() error {
	ev := l.events
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var (
		lastType   string
		last       *eventIDs
		unreadable int
		firstBad   string
	)
	err := l.db.Scan(keyspace.EventsPrefix, "", false, func(k, v []byte) bool {
		typ, err := eventlog.TypeOf(v)
		if err != nil {
			if unreadable++; unreadable == 1 {
				firstBad = string(k[len(keyspace.EventsPrefix):])
			}
			return true
		}
		if last == nil || typ != lastType {
			if last = ev.byType[typ]; last == nil {
				last = &eventIDs{}
				ev.byType[typ] = last
			}
			lastType = typ
		}
		last.add(k[len(keyspace.EventsPrefix):])
		return true
	})
	if unreadable > 0 {
		l.log.Warn("ledger: events whose type cannot be read are left out of the index by type",
			"count", unreadable, "first", firstBad)
	}
	return err
}
