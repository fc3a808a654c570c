package decisionlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleLog keeps each record under a sequential key in a Pebble database.
// Appends go to the memtable and the WAL without a sync; the syncer makes
// them durable with one synced empty batch, which Pebble's commit pipeline
// orders after every batch applied before it. Sequential keys make flushed
// tables non-overlapping, so compactions move them down instead of
// rewriting them.
type pebbleLog struct {
	syncer
	db *pebble.DB

	mu    sync.Mutex // orders appends: key order is WAL order is LSN order
	next  LSN
	first LSN // the oldest record kept
}

// recordKeyPrefix is the first byte of every record key; the 8 bytes after
// it are the LSN, big-endian, so that keys sort by LSN.
const recordKeyPrefix = 'L'

func recordKey(dst []byte, lsn LSN) []byte {
	dst = append(dst[:0], recordKeyPrefix)
	return binary.BigEndian.AppendUint64(dst, uint64(lsn))
}

// OpenPebble opens the log as a Pebble database in cfg.Dir. Pebble's WAL
// recovery cuts a torn tail. SegmentBytes is ignored.
func OpenPebble(cfg Config) (Log, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &pebbleLog{next: 1, first: 1}
	l.cfg = c
	db, err := pebble.Open(c.Dir, &pebble.Options{
		FS:           c.FS,
		Logger:       fatalLogger{l},
		MemTableSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("decisionlog: open pebble: %w", err)
	}
	l.db = db
	l.flush, l.pending = l.flushPebble, func() bool { return l.Last() > l.Durable() }
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{recordKeyPrefix}, UpperBound: []byte{recordKeyPrefix + 1}})
	if err != nil {
		db.Close()
		return nil, err
	}
	if it.Last() {
		l.next = LSN(binary.BigEndian.Uint64(it.Key()[1:])) + 1
	}
	if it.First() {
		l.first = LSN(binary.BigEndian.Uint64(it.Key()[1:]))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		db.Close()
		return nil, err
	}
	l.start(l.next - 1)
	return l, nil
}

// Append implements Log.
func (l *pebbleLog) Append(recs ...[]byte) (LSN, error) {
	for _, r := range recs {
		if len(r) == 0 || len(r) > MaxRecordBytes {
			return 0, fmt.Errorf("decisionlog: a record must be 1..%d bytes, got %d", MaxRecordBytes, len(r))
		}
	}
	l.mu.Lock()
	if err := l.check(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	b := l.db.NewBatch()
	var key [9]byte
	for i, r := range recs {
		_ = b.Set(recordKey(key[:0], l.next+LSN(i)), r, nil)
	}
	if err := l.db.Apply(b, pebble.NoSync); err != nil {
		l.mu.Unlock()
		_ = b.Close()
		l.fail(err)
		return 0, ErrFailed
	}
	_ = b.Close()
	l.next += LSN(len(recs))
	lsn := l.next - 1
	l.mu.Unlock()
	l.wake()
	return lsn, nil
}

// Last implements Log.
func (l *pebbleLog) Last() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

func (l *pebbleLog) flushPebble() (LSN, int, error) {
	last, durable := l.Last(), l.Durable()
	if last == durable {
		return 0, 0, nil
	}
	// An empty synced batch returns once the WAL is synced past every
	// batch applied before it.
	if err := l.db.LogData(nil, pebble.Sync); err != nil {
		return 0, 0, fmt.Errorf("decisionlog: sync: %w", err)
	}
	// Pebble reports a failed WAL sync through its logger's Fatalf and
	// may then return as if nothing happened.
	if l.failed.Load() {
		return 0, 0, ErrFailed
	}
	return last, int(last - durable), nil
}

// ReadFrom implements Log.
func (l *pebbleLog) ReadFrom(from LSN, fn func(LSN, []byte) error) error {
	if from == 0 {
		from = 1
	}
	durable := l.Durable()
	l.mu.Lock()
	first := l.first
	l.mu.Unlock()
	if from < first {
		return &TruncatedError{Asked: from, First: first}
	}
	var lo, hi [9]byte
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: recordKey(lo[:0], from), UpperBound: recordKey(hi[:0], durable+1)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(LSN(binary.BigEndian.Uint64(it.Key()[1:])), v)
		}
		if err != nil {
			_ = it.Close()
			return err
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// TruncateBelow implements Log.
func (l *pebbleLog) TruncateBelow(lsn LSN) error {
	if d := l.Durable() + 1; lsn > d {
		lsn = d
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lsn <= l.first {
		return nil
	}
	var lo, hi [9]byte
	if err := l.db.DeleteRange(recordKey(lo[:0], 0), recordKey(hi[:0], lsn), pebble.NoSync); err != nil {
		return err
	}
	l.first = lsn
	return nil
}

// Close implements Log.
func (l *pebbleLog) Close() error {
	l.mu.Lock()
	already := l.closing.Swap(true)
	l.mu.Unlock()
	if already {
		return nil
	}
	l.shutdown()
	err := l.db.Close()
	if l.failed.Load() {
		return ErrFailed
	}
	return err
}

// fatalLogger keeps Pebble's informational messages out of the server's
// output and turns its fatal errors (a failed WAL write or sync among them)
// into the log's fail-stop.
type fatalLogger struct{ l *pebbleLog }

func (fatalLogger) Infof(string, ...any)  {}
func (fatalLogger) Errorf(string, ...any) {}
func (f fatalLogger) Fatalf(format string, args ...any) {
	f.l.fail(fmt.Errorf(format, args...))
}
