package decisionlog

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrTruncated is returned by ReadFrom when the records asked for were
// already dropped by TruncateBelow.
var ErrTruncated = errors.New("decisionlog: records below the oldest segment were truncated")

// TruncatedError is the ErrTruncated of a ReadFrom: it says where the log
// starts now, so that a reader that fell behind its retention can say what
// it missed and go on from there.
type TruncatedError struct {
	Asked, First LSN // the LSN asked for, and the oldest the log has
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("%v: asked for %d, the log starts at %d", ErrTruncated, e.Asked, e.First)
}

func (e *TruncatedError) Unwrap() error { return ErrTruncated }

// segmentLog keeps the log in segment files of CRC-framed records.
type segmentLog struct {
	syncer
	fs  vfs.FS
	dir string

	// mu guards the append side: what is numbered but not yet handed to
	// the syncer.
	mu        sync.Mutex
	next      LSN    // the next LSN to give
	buf       []byte // frames appended since the last flush
	breaks    []int  // offsets in buf where a frame starts a new segment
	appendOff int64  // where the next frame lands in its segment

	// The syncer goroutine alone uses these.
	spare       []byte
	spareBreaks []int
	active      vfs.File
	writeOff    int64

	// segMu guards segs, the first LSN of every segment in order (the
	// last one is the active segment), and the spare segment's state.
	segMu sync.Mutex
	segs  []LSN
	// marks is a sparse index of where records start in each segment (by
	// its first LSN): a mark at least every markEveryBytes, so that a
	// reader asking for a record deep in a segment seeks near it instead
	// of reading the segment from its start.
	marks map[LSN][]mark
	// spareReady: a file is ready to become the next segment (spareName):
	// zero-filled ahead of time, or an old segment recycled, so that
	// writing into it does not grow a file and a sync does not also have
	// to record a new size. preparing is set while a goroutine makes one.
	spareReady, preparing bool
	prepared              sync.WaitGroup
}

// mark says that the record lsn starts at off in its segment.
type mark struct {
	lsn LSN
	off int64
}

// markEveryBytes is the most a reader reads past a mark before the record
// it asked for: a 64 MiB segment has 256 marks (4 KiB of index).
const markEveryBytes = 256 << 10

// addMark notes where a record starts when its segment's last mark is far
// enough behind (the caller holds segMu).
func (l *segmentLog) addMark(seg, lsn LSN, off int64) {
	ms := l.marks[seg]
	if n := len(ms); n > 0 && off-ms[n-1].off < markEveryBytes {
		return
	}
	l.marks[seg] = append(ms, mark{lsn, off})
}

// seekMark returns the last mark of a segment at or before the record
// from (the segment's start when there is none).
func (l *segmentLog) seekMark(seg, from LSN) mark {
	l.segMu.Lock()
	defer l.segMu.Unlock()
	ms := l.marks[seg]
	i, _ := slices.BinarySearchFunc(ms, from, func(m mark, t LSN) int { return cmp.Compare(m.lsn, t) })
	if i < len(ms) && ms[i].lsn == from {
		return ms[i]
	}
	if i == 0 {
		return mark{seg, 0}
	}
	return ms[i-1]
}

// spareName is the file that becomes the next segment; it is not a
// segment name, so recovery never reads it as one.
const spareName = "next.spare"

func segmentName(first LSN) string { return fmt.Sprintf("%016x.log", uint64(first)) }

func parseSegmentName(name string) (LSN, bool) {
	hex, ok := strings.CutSuffix(name, ".log")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	return LSN(v), err == nil
}

// Open opens the segment log in cfg.Dir, creating it when it does not
// exist, and cuts a torn tail (see the package doc).
func Open(cfg Config) (Log, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &segmentLog{fs: c.FS, dir: c.Dir, marks: map[LSN][]mark{}}
	l.cfg = c
	l.flush, l.pending = l.flushSegments, l.hasPending
	if err := makeDir(c.FS, c.Dir); err != nil {
		return nil, err
	}
	names, err := c.FS.List(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("decisionlog: list %s: %w", c.Dir, err)
	}
	for _, n := range names {
		if first, ok := parseSegmentName(n); ok {
			l.segs = append(l.segs, first)
		}
		// A spare left by an earlier run is used as it is: whatever a
		// crash left in it is zeros or old frames, and neither reads as a
		// record of the segment it becomes.
		l.spareReady = l.spareReady || n == spareName
	}
	slices.Sort(l.segs)
	if len(l.segs) == 0 {
		// A new log: a spare found here belongs to no log of ours, and its
		// frames could carry the LSNs this one is about to give.
		if l.spareReady {
			if err := c.FS.Remove(l.fs.PathJoin(c.Dir, spareName)); err != nil {
				return nil, fmt.Errorf("decisionlog: remove a stray spare segment: %w", err)
			}
			l.spareReady = false
		}
		l.next = 1
		if err := l.createSegment(1); err != nil {
			return nil, err
		}
	} else if err := l.recover(); err != nil {
		return nil, err
	}
	l.start(l.next - 1)
	return l, nil
}

// prepareSpare makes a zero-filled spare segment in the background when
// there is none. It is called once the active segment is half written, so
// that a log that never fills a segment (a test's, a quiet server's) never
// writes one, and a busy one has the next ready long before it needs it.
func (l *segmentLog) prepareSpare() {
	l.segMu.Lock()
	if l.spareReady || l.preparing {
		l.segMu.Unlock()
		return
	}
	l.preparing = true
	l.prepared.Add(1)
	l.segMu.Unlock()
	go func() {
		defer l.prepared.Done()
		err := l.zeroFill()
		l.segMu.Lock()
		l.preparing = false
		l.spareReady = err == nil
		l.segMu.Unlock()
		if err != nil {
			// Not fatal: the next segment is then made when it is needed.
			l.cfg.Logger.Warn("decision log: could not prepare the next segment", "err", err)
		}
	}()
}

func (l *segmentLog) zeroFill() error {
	tmp := l.fs.PathJoin(l.dir, spareName+".tmp")
	f, err := l.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	// Each megabyte is synced as it is written. Left to the end, the whole
	// segment's zeros would sit in the page cache and the filesystem's
	// journal would make the active segment's next sync wait for all of
	// them (a stall of 100 ms and more, once per segment, seen in every
	// reply waiting on that sync); synced a megabyte at a time, a log sync
	// waits for one megabyte at most.
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < l.cfg.SegmentBytes && err == nil; off += int64(len(zeros)) {
		if _, err = f.Write(zeros[:min(int64(len(zeros)), l.cfg.SegmentBytes-off)]); err == nil {
			err = f.SyncData()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.fs.Rename(tmp, l.fs.PathJoin(l.dir, spareName))
	}
	if err == nil {
		err = l.syncDir()
	}
	if err != nil {
		_ = l.fs.Remove(tmp)
	}
	return err
}

// recover finds the end of the log: every segment but the last must be
// whole and followed by the next LSN; the last one ends at its first frame
// that is not the next record. What follows that point in the last segment
// is zeroed, so that a frame written after the crash point but never made
// durable cannot reappear behind the records written from now on.
func (l *segmentLog) recover() error {
	last := len(l.segs) - 1
	// Every segment but the last was written and synced whole before the
	// next one got its first frame, so only the last can end in a torn
	// write: it alone is read in full here. The others are checked where
	// they begin (their first frame must be the record their name gives),
	// and in full whenever they are read (ReadFrom reports one that does
	// not reach the next segment's first record): a restart does not read
	// the whole retained log (a gigabyte at a million records) to find
	// nothing.
	for _, first := range l.segs[:last] {
		if err := l.checkStart(first); err != nil {
			return err
		}
	}
	first := l.segs[last]
	end, next, size, err := l.scan(first)
	if err != nil {
		return err
	}
	expect := next
	f, err := l.fs.OpenReadWrite(l.path(first), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("decisionlog: open %s: %w", segmentName(first), err)
	}
	if dirty := l.dirtyEnd(f, end, size); dirty > end {
		if _, err := f.WriteAt(make([]byte, dirty-end), end); err != nil {
			f.Close()
			return fmt.Errorf("decisionlog: cut the torn tail of %s: %w", segmentName(first), err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("decisionlog: cut the torn tail of %s: %w", segmentName(first), err)
		}
		l.cfg.Logger.Warn("decision log: cut a torn tail", "segment", segmentName(first), "offset", end, "bytes", dirty-end)
	}
	l.active, l.writeOff, l.appendOff = f, end, end
	l.next = expect
	return nil
}

// checkStart checks that a segment that is not the last begins with a
// whole frame holding the record its name gives.
func (l *segmentLog) checkStart(first LSN) error {
	f, err := l.fs.Open(l.path(first))
	if err != nil {
		return fmt.Errorf("decisionlog: open %s: %w", segmentName(first), err)
	}
	defer f.Close()
	found := false
	err = readFrames(f, first, func(LSN, []byte, int64) error {
		found = true
		return errStopRead
	})
	if err != nil && !errors.Is(err, errStopRead) {
		return fmt.Errorf("decisionlog: read %s: %w", segmentName(first), err)
	}
	if !found {
		return fmt.Errorf("decisionlog: segment %s does not begin with record %d, and it is not the last: the log is corrupt", segmentName(first), first)
	}
	return nil
}

// errStopRead ends a read of frames early.
var errStopRead = errors.New("decisionlog: stop reading")

// dirtyEnd is where the bytes after a segment's last record stop being
// anything but zeros: the end of the first 64 KiB block after end that is
// all zeros, or the file's end. A zero-filled segment needs a few blocks
// cleared after a crash, a recycled one everything to its end.
func (l *segmentLog) dirtyEnd(f vfs.File, end, size int64) int64 {
	const block = 64 << 10
	buf := make([]byte, block)
	for off := end; off < size; off += block {
		n, err := f.ReadAt(buf[:min(block, size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return size
		}
		allZero := true
		for _, b := range buf[:n] {
			if b != 0 {
				allZero = false
				break
			}
		}
		if allZero {
			return off
		}
	}
	return size
}

// scan reads a segment from its start and returns where its last whole
// record ends, the LSN after it, and the file's size.
func (l *segmentLog) scan(first LSN) (end int64, next LSN, size int64, err error) {
	f, err := l.fs.Open(l.path(first))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("decisionlog: open %s: %w", segmentName(first), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, err
	}
	next = first
	l.segMu.Lock()
	defer l.segMu.Unlock()
	err = readFrames(f, first, func(lsn LSN, _ []byte, off int64) error {
		// off is where the next record would start.
		l.addMark(first, lsn+1, off)
		end, next = off, lsn+1
		return nil
	})
	return end, next, st.Size(), err
}

// readFrames calls fn with each record of a segment from its start, and
// the offset just past it, until the first frame that is not the next
// record. Only read errors are returned.
func readFrames(r io.Reader, first LSN, fn func(lsn LSN, rec []byte, end int64) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var frame []byte
	var off int64
	for want := first; ; want++ {
		h, err := br.Peek(frameHeader)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		lsn, n, ok := parseHeader(h)
		if !ok || lsn != want {
			return nil
		}
		frame = slices.Grow(frame[:0], frameHeader+n)[:frameHeader+n]
		if _, err := io.ReadFull(br, frame); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		if !checkFrame(frame) {
			return nil
		}
		off += int64(len(frame))
		if err := fn(lsn, frame[frameHeader:], off); err != nil {
			return err
		}
	}
}

func (l *segmentLog) path(first LSN) string { return l.fs.PathJoin(l.dir, segmentName(first)) }

// createSegment makes the segment that starts at first the active one.
func (l *segmentLog) createSegment(first LSN) error {
	l.segMu.Lock()
	useSpare := l.spareReady
	l.spareReady = false
	l.segMu.Unlock()
	var f vfs.File
	var err error
	if useSpare {
		f, err = l.fs.ReuseForWrite(l.fs.PathJoin(l.dir, spareName), l.path(first), vfs.WriteCategoryUnspecified)
	} else {
		f, err = l.fs.Create(l.path(first), vfs.WriteCategoryUnspecified)
		if err == nil {
			// Reserving the blocks keeps a sync from also having to
			// allocate them; filesystems that cannot simply grow the file.
			_ = f.Preallocate(0, l.cfg.SegmentBytes)
		}
	}
	if err != nil {
		return fmt.Errorf("decisionlog: create segment: %w", err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return err
	}
	if l.active != nil {
		if err := l.active.Close(); err != nil {
			f.Close()
			return fmt.Errorf("decisionlog: close segment: %w", err)
		}
	}
	l.active, l.writeOff = f, 0
	l.segMu.Lock()
	if n := len(l.segs); n == 0 || l.segs[n-1] != first {
		l.segs = append(l.segs, first)
	}
	l.segMu.Unlock()
	return nil
}

func (l *segmentLog) syncDir() error { return syncDir(l.fs, l.dir) }

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("decisionlog: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("decisionlog: sync dir: %w", err)
	}
	return nil
}

// makeDir creates dir when it does not exist and syncs its parent, so that
// the directory itself survives a crash along with what is synced in it.
func makeDir(fs vfs.FS, dir string) error {
	if _, err := fs.Stat(dir); err == nil {
		return nil
	}
	if err := fs.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("decisionlog: create %s: %w", dir, err)
	}
	return syncDir(fs, fs.PathDir(dir))
}

// Append implements Log.
func (l *segmentLog) Append(recs ...[]byte) (LSN, error) {
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
	for _, r := range recs {
		size := int64(frameHeader + len(r))
		if l.appendOff+size > l.cfg.SegmentBytes {
			l.breaks = append(l.breaks, len(l.buf))
			l.appendOff = 0
		}
		l.buf = appendFrame(l.buf, l.next, r)
		l.appendOff += size
		l.next++
	}
	lsn := l.next - 1
	l.mu.Unlock()
	l.wake()
	return lsn, nil
}

// Last implements Log.
func (l *segmentLog) Last() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

func (l *segmentLog) hasPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buf) > 0
}

// flushSegments writes what was appended and syncs it (the syncer's
// goroutine only).
func (l *segmentLog) flushSegments() (LSN, int, error) {
	l.mu.Lock()
	data, breaks := l.buf, l.breaks
	last := l.next - 1
	l.buf, l.breaks = l.spare[:0], l.spareBreaks[:0]
	l.mu.Unlock()
	if len(data) == 0 {
		l.spare, l.spareBreaks = data, breaks
		return 0, 0, nil
	}
	firstLSN, _, _ := parseHeader(data)
	l.markAt(data, 0)
	pos := 0
	for _, b := range breaks {
		if err := l.write(data[pos:b]); err != nil {
			return 0, 0, err
		}
		// A segment is whole and synced before the next one gets a
		// frame, so only the last segment can have a torn tail.
		if err := l.active.SyncData(); err != nil {
			return 0, 0, fmt.Errorf("decisionlog: sync: %w", err)
		}
		next, _, _ := parseHeader(data[b:])
		if err := l.createSegment(next); err != nil {
			return 0, 0, err
		}
		pos = b
		l.markAt(data, pos)
	}
	if err := l.write(data[pos:]); err != nil {
		return 0, 0, err
	}
	if l.writeOff > l.cfg.SegmentBytes/2 {
		l.prepareSpare()
	}
	if err := l.active.SyncData(); err != nil {
		return 0, 0, fmt.Errorf("decisionlog: sync: %w", err)
	}
	l.spare, l.spareBreaks = data, breaks
	return last, int(last - firstLSN + 1), nil
}

// markAt notes where the frame at data[pos:] will land in the active
// segment, before it is written (the syncer's goroutine only).
func (l *segmentLog) markAt(data []byte, pos int) {
	lsn, _, _ := parseHeader(data[pos:])
	l.segMu.Lock()
	l.addMark(l.segs[len(l.segs)-1], lsn, l.writeOff)
	l.segMu.Unlock()
}

func (l *segmentLog) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if _, err := l.active.WriteAt(p, l.writeOff); err != nil {
		return fmt.Errorf("decisionlog: write: %w", err)
	}
	l.writeOff += int64(len(p))
	return nil
}

// ReadFrom implements Log.
func (l *segmentLog) ReadFrom(from LSN, fn func(LSN, []byte) error) error {
	if from == 0 {
		from = 1
	}
	durable := l.Durable()
	l.segMu.Lock()
	segs := slices.Clone(l.segs)
	l.segMu.Unlock()
	if from > durable {
		return nil
	}
	if from < segs[0] {
		return &TruncatedError{Asked: from, First: segs[0]}
	}
	i := 0
	for i+1 < len(segs) && segs[i+1] <= from {
		i++
	}
	errStop := errors.New("stop")
	for ; i < len(segs) && segs[i] <= durable; i++ {
		seg := segs[i]
		sealed := i+1 < len(segs)
		err := func() error {
			f, err := l.fs.Open(l.path(seg))
			if err != nil {
				return fmt.Errorf("decisionlog: open %s: %w", segmentName(seg), err)
			}
			defer f.Close()
			m := mark{seg, 0}
			if from > seg {
				m = l.seekMark(seg, from)
			}
			st, err := f.Stat()
			if err != nil {
				return fmt.Errorf("decisionlog: stat %s: %w", segmentName(seg), err)
			}
			lastRead, marked := m.lsn-1, m.off
			err = readFrames(io.NewSectionReader(f, m.off, st.Size()-m.off), m.lsn, func(lsn LSN, rec []byte, end int64) error {
				if lsn > durable {
					return errStop
				}
				lastRead = lsn
				// A segment recovery did not read is indexed as it is read.
				if end += m.off; end-marked >= markEveryBytes {
					marked = end
					l.segMu.Lock()
					l.addMark(seg, lsn+1, end)
					l.segMu.Unlock()
				}
				if lsn < from {
					return nil
				}
				return fn(lsn, rec)
			})
			if err == nil && sealed && lastRead != segs[i+1]-1 {
				// Sealed segments were synced whole: one that ends early
				// was damaged (or the segment after it is not its successor).
				return fmt.Errorf("decisionlog: segment %s ends after record %d, but the next segment begins at %d: the log is corrupt",
					segmentName(seg), lastRead, segs[i+1])
			}
			return err
		}()
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TruncateBelow implements Log: it removes every segment whose records are
// all below lsn and durable. The active segment always stays.
func (l *segmentLog) TruncateBelow(lsn LSN) error {
	if d := l.Durable() + 1; lsn > d {
		lsn = d
	}
	l.segMu.Lock()
	var drop []LSN
	for len(l.segs) > 1 && l.segs[1] <= lsn {
		drop = append(drop, l.segs[0])
		delete(l.marks, l.segs[0])
		l.segs = l.segs[1:]
	}
	l.segMu.Unlock()
	for _, first := range drop {
		// The first segment dropped becomes the spare when there is none:
		// its old frames all have LSNs below any it will be given.
		l.segMu.Lock()
		recycle := !l.spareReady && !l.preparing
		l.spareReady = l.spareReady || recycle
		l.segMu.Unlock()
		var err error
		if recycle {
			err = l.fs.Rename(l.path(first), l.fs.PathJoin(l.dir, spareName))
		} else {
			err = l.fs.Remove(l.path(first))
		}
		if err != nil {
			return fmt.Errorf("decisionlog: drop %s: %w", segmentName(first), err)
		}
	}
	return nil
}

// Close implements Log.
func (l *segmentLog) Close() error {
	l.mu.Lock()
	already := l.closing.Swap(true)
	l.mu.Unlock()
	if already {
		return nil
	}
	l.shutdown()
	l.prepared.Wait()
	err := l.active.Close()
	if l.failed.Load() {
		return ErrFailed
	}
	return err
}
