package decisionlog

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// LSN is a record's log sequence number. The first record of a log is 1;
// 0 means "no record".
type LSN uint64

// ErrFailed is returned by every call on a log whose write or sync failed
// (see the fail-stop contract in the package doc). The error that stopped
// the log was given to Config.OnFatal.
var ErrFailed = errors.New("decisionlog: the log has failed and accepts nothing more")

// ErrClosed is returned by calls on a closed log.
var ErrClosed = errors.New("decisionlog: closed")

// MaxRecordBytes bounds one record. A decision record is a few hundred
// bytes; the bound keeps a corrupt length from asking for gigabytes.
const MaxRecordBytes = 1 << 20

// Log is the decision log. See the package doc for the contract.
type Log interface {
	// Append numbers the records and queues them for the next sync. It
	// returns the LSN of the last one. The records are copied.
	Append(recs ...[]byte) (LSN, error)
	// WaitDurable blocks until every record up to lsn is durable.
	WaitDurable(lsn LSN) error
	// Durable is the highest durable LSN.
	Durable() LSN
	// Last is the highest appended LSN.
	Last() LSN
	// Synced returns a channel closed at the next sync (or failure): a
	// caller holding many LSNs (a connection's replies) waits on it and
	// then releases everything up to Durable at once.
	Synced() <-chan struct{}
	// ReadFrom calls fn with every durable record from LSN from on, in
	// order. The record is valid only during the call. fn's error stops
	// the read and is returned.
	ReadFrom(from LSN, fn func(lsn LSN, rec []byte) error) error
	// TruncateBelow lets the log drop records below lsn (whole segments or
	// key ranges; some may stay). Only durable records are dropped.
	TruncateBelow(lsn LSN) error
	// Close syncs what was appended and closes the log.
	Close() error
}

// Config configures a log.
type Config struct {
	// Dir is the log's directory. Required.
	Dir string
	// FS is the filesystem. Default vfs.Default. Tests pass a crashable
	// in-memory FS or one that fails on purpose.
	FS vfs.FS
	// MinSyncInterval is the least time between the starts of two syncs.
	// Default 200µs; 0 is not allowed (use a negative value to sync as soon
	// as the previous sync ends). A longer interval means fewer syncs per
	// second under load and up to that much more latency at low load.
	MinSyncInterval time.Duration
	// SegmentBytes is the size of a segment file (segment logs only).
	// Default 64 MiB, at least 1 MiB + a frame.
	SegmentBytes int64
	// OnFatal is called once when a write or sync fails, with the error.
	// Default: log it at error level and exit the process with status 70,
	// which is what fail-stop means for a server.
	OnFatal func(error)
	// Logger receives the fatal error and operational messages. Default:
	// discard.
	Logger *slog.Logger
	// OnSync, when set, is told how long each sync took and how many
	// records it made durable (metrics).
	OnSync func(elapsed time.Duration, records int)
	// OnDurable, when set, is called on the syncer's goroutine after each
	// sync that made records durable, with the highest LSN it covers, and
	// before that LSN is published to Durable, WaitDurable and Synced. A
	// reader of the log's projections (the ledger's store) can so be
	// brought up to date before anyone learns the records are durable.
	// An error is treated as a failed sync: fail-stop.
	OnDurable func(upTo LSN) error
}

func (c *Config) withDefaults() (Config, error) {
	o := *c
	if o.Dir == "" {
		return o, errors.New("decisionlog: Dir is required")
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	switch {
	case o.MinSyncInterval == 0:
		o.MinSyncInterval = 200 * time.Microsecond
	case o.MinSyncInterval < 0:
		o.MinSyncInterval = 0
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.SegmentBytes < MaxRecordBytes+frameHeader {
		return o, fmt.Errorf("decisionlog: SegmentBytes must be at least %d, got %d", MaxRecordBytes+frameHeader, o.SegmentBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnFatal == nil {
		logger := o.Logger
		o.OnFatal = func(err error) {
			logger.Error("decision log failed; stopping the process so that nothing unsynced is acknowledged", "err", err)
			fmt.Fprintf(os.Stderr, "ledgersim: decision log failed, stopping: %v\n", err)
			os.Exit(70)
		}
	}
	return o, nil
}

// syncer is what the two implementations share: the durable LSN, the
// waiters, the sync loop with its minimum interval, and fail-stop.
type syncer struct {
	cfg     Config
	flush   func() (LSN, int, error) // writes and syncs what was appended; returns the LSN made durable and how many records
	pending func() bool              // whether anything appended is not yet durable

	durable atomic.Uint64
	failed  atomic.Bool
	closing atomic.Bool // Append refuses from here on
	closed  atomic.Bool // the last sync is done
	// notify is closed and replaced after every sync and on failure.
	notify atomic.Pointer[chan struct{}]
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	fatal  sync.Once
	// With an OnDurable hook, a second goroutine (the publisher) runs the
	// hook and publishes each synced LSN in order, while the syncer goes on
	// to the next write and sync: the hook's work (the ledger's projection
	// into its store) overlaps the next sync instead of adding to it.
	pub     chan syncedUpTo
	pubDone chan struct{}
}

type syncedUpTo struct {
	lsn     LSN
	records int
	elapsed time.Duration
}

func (s *syncer) start(durable LSN) {
	s.durable.Store(uint64(durable))
	ch := make(chan struct{})
	s.notify.Store(&ch)
	s.kick = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	if s.cfg.OnDurable != nil {
		s.pub = make(chan syncedUpTo, 4)
		s.pubDone = make(chan struct{})
		go s.publishLoop()
	}
	go s.loop()
}

// publishLoop runs the OnDurable hook for each sync, in order, and then
// publishes its LSN. After a failure it publishes nothing more: those
// records were synced, but a log that failed acknowledges nothing new.
func (s *syncer) publishLoop() {
	defer close(s.pubDone)
	for p := range s.pub {
		if s.failed.Load() {
			continue
		}
		if err := s.cfg.OnDurable(p.lsn); err != nil {
			s.fail(fmt.Errorf("decisionlog: after sync: %w", err))
			continue
		}
		s.publish(p)
	}
}

func (s *syncer) publish(p syncedUpTo) {
	s.durable.Store(uint64(p.lsn))
	if s.cfg.OnSync != nil {
		s.cfg.OnSync(p.elapsed, p.records)
	}
	s.broadcast()
}

// wake tells the loop that something was appended.
func (s *syncer) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *syncer) loop() {
	defer close(s.done)
	defer func() {
		if s.pub != nil {
			close(s.pub)
			<-s.pubDone
		}
	}()
	var last time.Time
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			if s.pending() && !s.failed.Load() {
				s.syncOnce()
			}
			return
		}
		if wait := s.cfg.MinSyncInterval - time.Since(last); wait > 0 && !last.IsZero() {
			// Wait out the interval: what is appended meanwhile rides on
			// the same sync.
			time.Sleep(wait)
		}
		last = time.Now()
		if !s.syncOnce() {
			return
		}
		if s.pending() {
			s.wake()
		}
	}
}

// syncOnce flushes and publishes; it reports false once the log failed.
func (s *syncer) syncOnce() bool {
	t0 := time.Now()
	lsn, n, err := s.flush()
	if err != nil {
		s.fail(err)
		return false
	}
	if n > 0 {
		p := syncedUpTo{lsn: lsn, records: n, elapsed: time.Since(t0)}
		if s.pub == nil {
			s.publish(p)
		} else {
			s.pub <- p
		}
	}
	return !s.failed.Load()
}

func (s *syncer) broadcast() {
	next := make(chan struct{})
	old := s.notify.Swap(&next)
	close(*old)
}

func (s *syncer) fail(err error) {
	s.fatal.Do(func() {
		s.failed.Store(true)
		// The fatal hook runs before any waiter learns of the failure: by
		// default it exits, and then no waiter answers at all.
		s.cfg.OnFatal(err)
		s.broadcast()
	})
}

// check reports whether the log may take more records.
func (s *syncer) check() error {
	if s.failed.Load() {
		return ErrFailed
	}
	if s.closing.Load() {
		return ErrClosed
	}
	return nil
}

// WaitDurable implements Log.
func (s *syncer) WaitDurable(lsn LSN) error {
	for {
		ch := s.notify.Load()
		if LSN(s.durable.Load()) >= lsn {
			return nil
		}
		if s.failed.Load() {
			return ErrFailed
		}
		if s.closed.Load() {
			return ErrClosed
		}
		<-*ch
	}
}

// Durable implements Log.
func (s *syncer) Durable() LSN { return LSN(s.durable.Load()) }

// Synced implements Log.
func (s *syncer) Synced() <-chan struct{} { return *s.notify.Load() }

// shutdown stops the loop after a last sync.
// The caller has set closing under its append lock, so nothing more can be
// appended.
func (s *syncer) shutdown() {
	close(s.stop)
	<-s.done
	s.closed.Store(true)
	s.broadcast()
}
