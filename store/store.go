package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrNotFound is returned by Get when a key has no record.
var ErrNotFound = errors.New("store: not found")

// ErrLocked is returned by Open when another process (a running server,
// usually) holds the data directory's lock.
var ErrLocked = errors.New("store: another process has this data directory open")

// Options configure a DB.
type Options struct {
	// Dir is the data directory; Pebble's files go in Dir/pebble.
	Dir string
	// FS is the filesystem Pebble uses. Default: the real one, with every
	// file Pebble creates FileMode and every directory DirMode, whatever
	// the umask. Crash tests pass vfs.NewCrashableMem().
	FS vfs.FS
	// OnCommit, when set, is told the time from Apply to the end of Wait and
	// the batch size in bytes for each synced batch (metrics).
	OnCommit func(elapsed time.Duration, bytes int)
}

// DB is the durable store.
type DB struct {
	pdb      *pebble.DB
	onCommit func(time.Duration, int)
	dir      string
	fs       vfs.FS
}

// Open opens (or creates) the store.
func Open(o Options) (*DB, error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("store: a data directory is required")
	}
	popts := &pebble.Options{
		FS: o.FS,
		// The WAL is what makes a reply durable; its sync must not be skipped.
		DisableWAL: false,
		Logger:     quietLogger{},
		// Every authorization writes a few kilobytes. Pebble's 4 MB default
		// memtable would flush many times a second under load and keep the
		// compactor (and so one of the two cores) busy; 64 MB memtables and
		// a larger base level let most short-lived keys die in memory.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
	}
	if popts.FS == nil {
		popts.FS = privateFS{vfs.Default}
	}
	pdb, err := pebble.Open(filepath.Join(o.Dir, "pebble"), popts)
	if err != nil {
		// Pebble's lock is an flock on the LOCK file; losing it surfaces as
		// the bare errno, "resource temporarily unavailable", which does
		// not tell a user that a server is already running there.
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s): is a server already running on it? stop it or choose another --data-dir", ErrLocked, o.Dir)
		}
		return nil, fmt.Errorf("store: open: %w", err)
	}
	d := &DB{pdb: pdb, onCommit: o.OnCommit, dir: o.Dir, fs: popts.FS}
	if err := d.checkLayout(o.Dir); err != nil {
		_ = pdb.Close()
		return nil, err
	}
	return d, nil
}

// Layout is the version of the key layout (keys.go) this binary reads and
// writes. A data directory records the layout it was written in; a binary
// never guesses at another one. When the layout changes, Layout goes up and
// Open either converts an older directory once or refuses it, saying so.
//
// Layout 2: the ledger's changes are records in the decision log (a
// directory "log" beside "pebble"), projected into the store without
// syncing its WAL; the store records the last LSN it took (m/lsn). A
// layout 1 directory is converted on open: its store is whole (every
// change was synced into it), so it only starts a log and records layout
// 2. A binary that reads layout 1 only refuses a layout 2 directory,
// whose store alone may lack the log's newest records.
//
// Layout 3: the hot keys (ub/, cu/, as/) are written at checkpoints, and
// are current to the LSN in m/hotlsn, which may be older than m/lsn; a
// restart replays them from there. A layout 2 directory is converted by
// recording layout 3: its hot keys were written with every record, so
// they are current to m/lsn, which is what a missing m/hotlsn means. A
// binary that reads layout 2 only refuses a layout 3 directory, whose hot
// keys it would take as current.
//
// Layout 4: webhook delivery reads events from the decision log, from the
// LSN after the one in m/whlsn, and records no longer write outbox
// markers (o/). A layout 3 directory is converted by recording layout 4:
// when the webhook service first opens it, it delivers and deletes the
// o/ markers left, and with no m/whlsn starts reading the log at its
// durable LSN of then (every event before it that an endpoint wanted has a
// marker). A binary that reads layout 3 only refuses a layout 4
// directory, in which it would find no markers for the events still to
// fan out.
const Layout = 4

// ErrLayout is returned by Open for a data directory in a layout this
// binary does not read.
var ErrLayout = errors.New("store: the data directory is in another layout")

// checkLayout reads the directory's layout and records it when it has none:
// a new directory, or one written before the layout was recorded, which is
// layout 1.
func (d *DB) checkLayout(dir string) error {
	key := MetaKey("layout")
	raw, err := d.Get(key)
	switch {
	case errors.Is(err, ErrNotFound):
		empty := true
		if err := d.Scan(nil, "", false, func(_, _ []byte) bool { empty = false; return false }); err != nil {
			return err
		}
		if !empty {
			// Written before the layout was recorded: layout 1.
			return d.convertFrom1()
		}
		return d.PutSync(key, []byte(strconv.Itoa(Layout)))
	case err != nil:
		return err
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return fmt.Errorf("%w: %s records layout %q, which is not a version", ErrLayout, dir, raw)
	}
	if v == 1 {
		return d.convertFrom1()
	}
	if v < Layout {
		return d.PutSync(key, []byte(strconv.Itoa(Layout)))
	}
	if v > Layout {
		return fmt.Errorf("%w: %s was written by a newer ledgersim (layout %d; this one reads layout %d): run that version, or start this one on a fresh --data-dir",
			ErrLayout, dir, v, Layout)
	}
	return nil
}

// PreLogKey marks a store that held data before it had a decision log
// (converted from layout 1): its keys are not all the projection of a
// record, which a comparison with the log must know.
var PreLogKey = MetaKey("prelog")

// convertFrom1 converts a layout 1 directory: its keys need no change
// (see Layout); it is marked as holding data from before the log.
func (d *DB) convertFrom1() error {
	b := d.NewBatch()
	b.Put(PreLogKey, []byte("1"))
	b.Put(MetaKey("layout"), []byte(strconv.Itoa(Layout)))
	return d.Commit(b)
}

// Close flushes the memtables to disk and closes the store. Everything was
// durable before (in the WAL); the flush is so that the next start does
// not replay a quarter of a gigabyte of WAL (up to four 64 MB memtables),
// which after a busy run took seconds. A start after a crash still
// replays what was unflushed.
func (d *DB) Close() error {
	ferr := d.pdb.Flush()
	if err := d.pdb.Close(); err != nil {
		return err
	}
	if ferr != nil {
		return fmt.Errorf("store: flush on close: %w", ferr)
	}
	return nil
}

// Dir is the data directory the store was opened on.
func (d *DB) Dir() string { return d.dir }

// FS is the filesystem the store writes through (with its file modes):
// what sits beside the store in the data directory, the decision log,
// uses the same one.
func (d *DB) FS() vfs.FS { return d.fs }

// ApplyUnsynced applies the batch without syncing Pebble's WAL. The
// ledger's projections are written this way: what makes them durable is
// the decision log they are derived from, which a restart replays past
// the last projected LSN.
func (d *DB) ApplyUnsynced(b *Batch) error {
	err := d.pdb.Apply(b.pb, pebble.NoSync)
	_ = b.pb.Close()
	b.applied = true
	if err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	return nil
}

// Batch is the set of writes of one state change. It is applied whole or
// not at all.
type Batch struct {
	db      *DB
	pb      *pebble.Batch
	applied bool
	start   time.Time
}

// NewBatch returns an empty batch.
func (d *DB) NewBatch() *Batch { return &Batch{db: d, pb: d.pdb.NewBatch()} }

// Put sets key to value.
func (b *Batch) Put(key, value []byte) { _ = b.pb.Set(key, value, nil) }

// PutJSON sets key to the JSON encoding of v.
func (b *Batch) PutJSON(key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", keyKind(key), err)
	}
	b.Put(key, raw)
	return nil
}

// Delete removes key.
func (b *Batch) Delete(key []byte) { _ = b.pb.Delete(key, nil) }

// Empty reports whether the batch holds no writes.
func (b *Batch) Empty() bool { return b.pb.Empty() }

// Apply orders the batch in the WAL and makes it visible to reads, without
// waiting for the sync. Call it while holding the lock that orders the
// change; call Wait after releasing it. On error nothing was applied and the
// batch is released.
func (d *DB) Apply(b *Batch) error {
	b.start = time.Now()
	if err := d.pdb.ApplyNoSyncWait(b.pb, pebble.Sync); err != nil {
		_ = b.pb.Close()
		return fmt.Errorf("store: apply: %w", err)
	}
	b.applied = true
	return nil
}

// Wait blocks until the batch is synced to the WAL, then releases it.
func (b *Batch) Wait() error {
	if !b.applied {
		return fmt.Errorf("store: wait on a batch that was not applied")
	}
	err := b.pb.SyncWait()
	size := len(b.pb.Repr())
	_ = b.pb.Close()
	if b.db.onCommit != nil {
		b.db.onCommit(time.Since(b.start), size)
	}
	if err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	return nil
}

// Commit applies the batch and waits for its sync: Apply and Wait in one,
// for callers that need no lock ordering.
func (d *DB) Commit(b *Batch) error {
	if err := d.Apply(b); err != nil {
		return err
	}
	return b.Wait()
}

// DeleteRange removes every key in [start, end).
func (b *Batch) DeleteRange(start, end []byte) { _ = b.pb.DeleteRange(start, end, nil) }

// SyncWAL returns once everything applied to the WAL so far is synced. A
// reply that repeats an earlier decision calls it, so that it never leaves
// before the decision it repeats is durable.
func (d *DB) SyncWAL() error {
	if err := d.pdb.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("store: sync wal: %w", err)
	}
	return nil
}

// ApplySyncMarker is SyncWAL without the wait: it returns an applied batch
// whose Wait returns once everything applied to the WAL before it is
// synced.
func (d *DB) ApplySyncMarker() (*Batch, error) {
	b := d.NewBatch()
	_ = b.pb.LogData(nil, nil)
	if err := d.Apply(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Discard releases a batch that will not be applied.
func (b *Batch) Discard() {
	if !b.applied {
		_ = b.pb.Close()
	}
}

// Get returns a copy of key's value, or ErrNotFound.
func (d *DB) Get(key []byte) ([]byte, error) {
	v, closer, err := d.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", keyKind(key), err)
	}
	out := bytes.Clone(v)
	_ = closer.Close()
	return out, nil
}

// GetSorted looks up many keys with one iterator: fn is called for each
// key in turn with its value (valid only during the call) and whether it
// has a record. keys must ascend; a restart that reads thousands of
// scattered records then moves through the store once instead of searching
// it from the top for each. Returning false stops the lookups.
func (d *DB) GetSorted(keys [][]byte, fn func(i int, v []byte, found bool) bool) error {
	if len(keys) == 0 {
		return nil
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) > 0 {
			return fmt.Errorf("store: get sorted: keys out of order at %d", i)
		}
	}
	it, err := d.pdb.NewIter(&pebble.IterOptions{LowerBound: keys[0], UpperBound: append(bytes.Clone(keys[len(keys)-1]), 0)})
	if err != nil {
		return fmt.Errorf("store: get sorted: %w", err)
	}
	for i, k := range keys {
		// Pebble turns a SeekGE past the previous one into steps forward
		// when the next key is near, which is what makes this cheap.
		found := it.SeekGE(k) && bytes.Equal(it.Key(), k)
		var v []byte
		if found {
			v = it.Value()
		}
		if !fn(i, v, found) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("store: get sorted: %w", err)
	}
	return nil
}

// GetJSON decodes key's value into v.
func (d *DB) GetJSON(key []byte, v any) error {
	raw, err := d.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("store: decode %s: %w", keyKind(key), err)
	}
	return nil
}

// PutSync writes one key and waits for the sync.
func (d *DB) PutSync(key, value []byte) error {
	if err := d.pdb.Set(key, value, pebble.Sync); err != nil {
		return fmt.Errorf("store: put %s: %w", keyKind(key), err)
	}
	return nil
}

// Scan calls fn for each key under prefix, in key order (or reverse order),
// starting after the key prefix+after when after is not empty. fn's slices
// are valid only during the call. Returning false stops the scan.
func (d *DB) Scan(prefix []byte, after string, reverse bool, fn func(k, v []byte) bool) error {
	upper := prefixEnd(prefix)
	it, err := d.pdb.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	var ok bool
	switch {
	case after == "" && !reverse:
		ok = it.First()
	case after == "" && reverse:
		ok = it.Last()
	case !reverse:
		// Start strictly after prefix+after.
		ok = it.SeekGE(append(append(bytes.Clone(prefix), after...), 0))
	default:
		ok = it.SeekLT(append(bytes.Clone(prefix), after...))
	}
	for ; ok; ok = step(it, reverse) {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	return nil
}

func step(it *pebble.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}

func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// keyKind names the kind of a key (its prefix) for error messages, so that
// no ID, and never card data, ends up in an error string.
func keyKind(k []byte) string {
	if i := bytes.IndexByte(k, '/'); i > 0 {
		return string(k[:i])
	}
	return "key"
}

// quietLogger keeps Pebble's informational chatter out of the server's
// structured log; errors still surface through returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// CheckUnlocked returns ErrLocked when a data directory's store is held
// open, by another process (a running server) or by this one, without
// opening it: a caller that reads the directory's files directly (a copy
// for a check) must not read them while a server changes them.
func CheckUnlocked(dir string) error {
	lock, err := vfs.Default.Lock(filepath.Join(dir, "pebble", "LOCK"))
	if err != nil {
		return fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
	}
	return lock.Close()
}
