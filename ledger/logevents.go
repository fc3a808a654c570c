package ledger

import (
	"bytes"
	"errors"
	"math"
	"sync"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
)

// EventReader is a reader of the events in the decision log that the
// ledger keeps informed: webhook delivery (webhook.Service), which tails
// the log from a durable cursor of its own rather than from markers the
// records would carry.
type EventReader interface {
	// Wants says whether events of type typ have anyone to go to. The
	// ledger asks as it records each event: one nobody wants is not kept in
	// memory for the reader and not announced (it is in the log all the
	// same). It must be cheap and must not block.
	Wants(typ string) bool
	// Notify is told the LSN of a record with a wanted event once that
	// record is durable. It must not block.
	Notify(lsn decisionlog.LSN)
	// NeededLSN is the oldest record the reader still needs, 0 when it
	// needs none: the log's retention keeps every record from it on.
	NeededLSN() decisionlog.LSN
}

// AttachEventReader makes r the reader of the log's events (one at a
// time; nil detaches it). From here on the events r wants are kept in
// memory from the moment their records are appended until r has read
// them, so that a reader keeping up never reads the log's files; what it
// reads from before that comes from the log.
func (l *Ledger) AttachEventReader(r EventReader) {
	p := &l.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &l.tail
	t.mu.Lock()
	t.events, t.start = nil, p.appended+1
	if r == nil {
		t.start = math.MaxUint64
	}
	t.mu.Unlock()
	if r == nil {
		l.reader.Store(nil)
		return
	}
	l.reader.Store(&eventReaderRef{r: r})
}

// eventReaderRef boxes an EventReader for an atomic pointer.
type eventReaderRef struct{ r EventReader }

// DurableLSN is the LSN of the newest durable record.
func (l *Ledger) DurableLSN() decisionlog.LSN { return l.dlog.Durable() }

// ReadEvents calls fn with the events of the durable records after LSN
// after, in LSN order (a record's events in the order it wrote them), and
// returns the LSN it read through: the newest record durable when it
// started. raw is the event's stored form (package eventlog), valid only
// during the call. fn's error stops the read and is returned.
//
// Records read from the log give every event they have. The records
// appended since the reader was attached come from memory when it keeps
// up, and give the events it wanted (EventReader.Wants) as they were
// appended: the reader still checks what it is given. When the records
// after after were dropped by the log's retention, the error is a
// *decisionlog.TruncatedError that says where the log starts.
func (l *Ledger) ReadEvents(after decisionlog.LSN, fn func(lsn decisionlog.LSN, id string, raw []byte) error) (decisionlog.LSN, error) {
	durable := l.dlog.Durable()
	if after >= durable {
		return after, nil
	}
	start, evs := l.tail.from(after)
	if after+1 < start {
		stop := min(start-1, durable)
		err := l.dlog.ReadFrom(after+1, func(lsn decisionlog.LSN, rec []byte) error {
			if lsn > stop {
				return errReadDone
			}
			return eventsOf(rec, func(id, raw []byte) error { return fn(lsn, string(id), raw) })
		})
		if err != nil && !errors.Is(err, errReadDone) {
			return after, err
		}
		if stop == durable {
			return durable, nil
		}
	}
	for _, e := range evs {
		if e.lsn > durable {
			break
		}
		if err := fn(e.lsn, e.id, e.raw); err != nil {
			return after, err
		}
	}
	return durable, nil
}

var errReadDone = errors.New("ledger: read done")

// eventsOf calls fn with the ID and stored form of each event a record
// writes.
func eventsOf(rec []byte, fn func(id, raw []byte) error) error {
	_, _, err := readRecord(rec, func(op recordOp) error {
		if op.op != opSet {
			return nil
		}
		if id, ok := bytes.CutPrefix(op.key, keyspace.EventsPrefix); ok {
			return fn(id, op.value)
		}
		return nil
	})
	return err
}

// logNeeded is the oldest record the event reader still needs (0: none).
// The log's retention asks it (trimLog), and it lets the memory tail drop
// what the reader no longer needs, so that a reader that stopped reading
// (every endpoint disabled) does not keep it.
func (l *Ledger) logNeeded() decisionlog.LSN {
	ref := l.reader.Load()
	if ref == nil {
		return 0
	}
	need := ref.r.NeededLSN()
	if need == 0 {
		l.tail.from(l.dlog.Durable())
	} else {
		l.tail.from(need - 1)
	}
	return need
}

// wantedEvent is an event of a change that the event reader wants: its
// ID and where its stored form ends in the change's record, and its
// length.
type wantedEvent struct {
	id       string
	end, len int
}

// eventTail keeps the wanted events of the records appended since the
// reader was attached, until the reader has read them: a reader that
// keeps up takes them from here and never reads the log's files (which
// ReadFrom reads from a segment's start). The events point into their
// records, which are never changed once appended.
type eventTail struct {
	mu sync.Mutex
	// start is the first record whose wanted events are all in events;
	// the events of older records are read from the log.
	start  decisionlog.LSN
	events []tailEvent
}

type tailEvent struct {
	lsn decisionlog.LSN
	id  string
	raw []byte
}

// maxTailEvents bounds the tail: a reader that falls this far behind
// reads the log instead, from where it is.
const maxTailEvents = 1 << 15

func (t *eventTail) init() { t.start = math.MaxUint64 }

// push keeps a record's wanted events. The caller holds the pipeline's
// lock under which the record was appended, so the tail is in LSN order
// and holds a record's events before the record can be projected, let
// alone said to be durable.
func (t *eventTail) push(lsn decisionlog.LSN, rec []byte, wanted []wantedEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if lsn < t.start {
		return // appended before the reader was attached: read from the log
	}
	if len(t.events)+len(wanted) > maxTailEvents {
		// The reader fell behind: it reads these records from the log.
		t.events, t.start = nil, lsn+1
		return
	}
	for _, w := range wanted {
		t.events = append(t.events, tailEvent{lsn: lsn, id: w.id, raw: rec[w.end-w.len : w.end : w.end]})
	}
}

// from drops the events of records up to after and returns start and the
// events kept. The slice returned is the caller's to read: the tail only
// appends after it or moves to a new array.
func (t *eventTail) from(after decisionlog.LSN) (decisionlog.LSN, []tailEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := 0
	for i < len(t.events) && t.events[i].lsn <= after {
		i++
	}
	if i > 0 {
		rest := t.events[i:]
		if len(rest) == 0 {
			rest = nil
		} else if len(rest) < cap(t.events)/4 {
			// Move what is left to a smaller array, so that the dropped
			// events' records are released.
			rest = append(make([]tailEvent, 0, max(2*len(rest), 64)), rest...)
		}
		t.events = rest
	}
	return t.start, t.events[:len(t.events):len(t.events)]
}

// readerOf is the attached event reader, nil when none.
func (l *Ledger) readerOf() EventReader {
	if ref := l.reader.Load(); ref != nil {
		return ref.r
	}
	return nil
}
