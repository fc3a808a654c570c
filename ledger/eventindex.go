package ledger

import (
	"bytes"
	"cmp"
	"slices"
	"sort"
	"sync"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
)

// eventsByType is the projection that serves events by type (GET
// /v1/events?type=): for each type, its events' IDs in ID order, packed
// into two integers each (16 bytes, nothing for the collector to scan).
// It is built from the decision records as the store takes them (the
// records' event-type index operations land here rather than in the
// store), and at Open from the store's events.
//
// Unlike a transaction list, a type's events come from every shard: two
// shards may make their records durable out of ID order, so an event can
// arrive a little behind a newer one and is inserted in its place (the
// copy moves the few entries after it).
type eventsByType struct {
	mu     sync.RWMutex
	byType map[string]*eventIDs
}

type eventIDs struct {
	// ids are the IDs that pack as event IDs, ascending.
	ids [][2]uint64
	// odd holds the IDs that do not pack (none does, outside tests),
	// ascending.
	odd []string
}

// eventIDPrefix is the prefix model.IDGen gives event IDs
// (model.PrefixEvent); an ID with another does not pack.
const eventIDPrefix = "evt"

func newEventsByType() *eventsByType {
	return &eventsByType{byType: map[string]*eventIDs{}}
}

// eventTypeOf parses an event-type index key (keyspace.EventByTypeKey): the
// type and the event's ID, as slices of key.
func eventTypeOf(key []byte) (typ, evID []byte, ok bool) {
	rest, found := bytes.CutPrefix(key, keyspace.EventByTypePrefix)
	if !found {
		return nil, nil, false
	}
	return bytes.Cut(rest, []byte{'/'})
}

func packEventID[S ~string | ~[]byte](id S) ([2]uint64, bool) {
	prefix, a, b, ok := packID(id)
	if !ok || string(prefix) != eventIDPrefix {
		return [2]uint64{}, false
	}
	return [2]uint64{a, b}, true
}

func cmpPacked(a, b [2]uint64) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

// add indexes the event evID under typ; an event already indexed (a
// replayed record) is not added twice.
func (ev *eventsByType) add(typ, evID []byte) { ev.addTyped(string(typ), evID) }

// addTyped is add with the type as a string (no allocation: the lookup
// converts in place, and a known type's name is a constant).
func (ev *eventsByType) addTyped(typ string, evID []byte) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	l := ev.byType[typ]
	if l == nil {
		l = &eventIDs{}
		ev.byType[typ] = l
	}
	l.add(evID)
}

// add inserts evID in its place (the caller holds the index's lock).
func (l *eventIDs) add(evID []byte) {
	p, ok := packEventID(evID)
	if !ok {
		i, found := slices.BinarySearch(l.odd, string(evID))
		if !found {
			l.odd = slices.Insert(l.odd, i, string(evID))
		}
		return
	}
	if n := len(l.ids); n == 0 || cmpPacked(l.ids[n-1], p) < 0 {
		l.ids = append(l.ids, p) // nearly always: the newest event
		return
	}
	i, found := slices.BinarySearchFunc(l.ids, p, cmpPacked)
	if !found {
		l.ids = slices.Insert(l.ids, i, p)
	}
}

// page returns the IDs of up to limit events of typ, newest first, those
// below cursor (an ID; "" for the newest): what a reverse scan of the
// store's index from the cursor gave.
func (ev *eventsByType) page(typ, cursor string, limit int) []string {
	ev.mu.RLock()
	defer ev.mu.RUnlock()
	l := ev.byType[typ]
	if l == nil || limit <= 0 {
		return nil
	}
	end, oddEnd := len(l.ids), len(l.odd)
	if cursor != "" {
		if p, ok := packEventID(cursor); ok {
			end, _ = slices.BinarySearchFunc(l.ids, p, cmpPacked)
		} else {
			// Packed IDs all have the same prefix and length, so their
			// order as strings is their packed order.
			end = sort.Search(len(l.ids), func(i int) bool { return unpackEventID(l.ids[i]) >= cursor })
		}
		oddEnd, _ = slices.BinarySearch(l.odd, cursor)
	}
	out := make([]string, 0, min(limit, end+oddEnd))
	var next string // the newest packed ID not taken yet, unpacked
	for len(out) < limit && (end > 0 || oddEnd > 0) {
		if end > 0 && next == "" {
			next = unpackEventID(l.ids[end-1])
		}
		if oddEnd > 0 && (end == 0 || l.odd[oddEnd-1] > next) {
			oddEnd--
			out = append(out, l.odd[oddEnd])
			continue
		}
		end--
		out = append(out, next)
		next = ""
	}
	return out
}

func unpackEventID(p [2]uint64) string { return unpackID(eventIDPrefix, p[0], p[1]) }

// EventIDsByType returns the IDs of up to limit events of typ, newest
// first, those below cursor (an event ID; "" for the newest). An event is
// listed once its record is durable, before anyone is told it is; its
// stored form may follow an instant later (the reader skips an ID it does
// not find yet).
func (l *Ledger) EventIDsByType(typ, cursor string, limit int) []string {
	return l.events.page(typ, cursor, limit)
}
