package decisionlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// impls are the two implementations every contract test runs against.
var impls = []struct {
	name string
	open func(Config) (Log, error)
}{
	{"segments", Open},
	{"pebble", OpenPebble},
}

// testSegmentBytes is the smallest segment: tests roll over sooner, and a
// spare segment is zero-filled and copied into crash images quickly.
const testSegmentBytes = MaxRecordBytes + frameHeader

func rec(i int) []byte {
	return fmt.Appendf(nil, "record %06d %s", i, "................................")
}

func readAll(t *testing.T, l Log, from LSN) (lsns []LSN, recs []string) {
	t.Helper()
	require.NoError(t, l.ReadFrom(from, func(lsn LSN, r []byte) error {
		lsns = append(lsns, lsn)
		recs = append(recs, string(r))
		return nil
	}))
	return lsns, recs
}

func TestAppendWaitReadReopen(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			fs := vfs.NewMem()
			cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes, OnFatal: func(err error) { t.Errorf("fatal: %v", err) }}
			l, err := im.open(cfg)
			require.NoError(t, err)
			require.Equal(t, LSN(0), l.Last())

			lsn, err := l.Append(rec(1))
			require.NoError(t, err)
			require.Equal(t, LSN(1), lsn)
			lsn, err = l.Append(rec(2), rec(3), rec(4))
			require.NoError(t, err)
			require.Equal(t, LSN(4), lsn, "a batch's LSN is its last record's")
			require.NoError(t, l.WaitDurable(lsn))
			require.GreaterOrEqual(t, l.Durable(), LSN(4))

			lsns, recs := readAll(t, l, 2)
			require.Equal(t, []LSN{2, 3, 4}, lsns)
			require.Equal(t, []string{string(rec(2)), string(rec(3)), string(rec(4))}, recs)

			_, err = l.Append(nil)
			require.Error(t, err, "an empty record cannot be told from the end of a segment")
			_, err = l.Append(make([]byte, MaxRecordBytes+1))
			require.Error(t, err)

			_, err = l.Append(rec(5))
			require.NoError(t, err)
			require.NoError(t, l.Close(), "close syncs what was appended")
			_, err = l.Append(rec(6))
			require.ErrorIs(t, err, ErrClosed)

			l, err = im.open(cfg)
			require.NoError(t, err)
			require.Equal(t, LSN(5), l.Last())
			require.Equal(t, LSN(5), l.Durable())
			lsn, err = l.Append(rec(6))
			require.NoError(t, err)
			require.Equal(t, LSN(6), lsn, "numbering continues after a restart")
			require.NoError(t, l.WaitDurable(lsn))
			lsns, _ = readAll(t, l, 0)
			require.Equal(t, []LSN{1, 2, 3, 4, 5, 6}, lsns)
			require.NoError(t, l.Close())
		})
	}
}

// TestConcurrentAppendersAreOrdered appends from many goroutines and checks
// that every record comes back once, numbered in the order of the calls
// that a single lock ordered.
func TestConcurrentAppendersAreOrdered(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			l, err := im.open(Config{Dir: "log", FS: vfs.NewMem(), SegmentBytes: testSegmentBytes})
			require.NoError(t, err)
			defer l.Close()
			const writers, each = 8, 200
			var mu sync.Mutex
			order := map[LSN]string{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						r := fmt.Appendf(nil, "w%d-%d", w, i)
						mu.Lock()
						lsn, err := l.Append(r)
						order[lsn] = string(r)
						mu.Unlock()
						if err != nil {
							t.Error(err)
							return
						}
						if err := l.WaitDurable(lsn); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			lsns, recs := readAll(t, l, 1)
			require.Len(t, lsns, writers*each)
			for i, lsn := range lsns {
				require.Equal(t, LSN(i+1), lsn)
				require.Equal(t, order[lsn], recs[i])
			}
		})
	}
}

// TestSegmentsRollOverAndTruncate fills several small segments and drops
// the old ones.
func TestSegmentsRollOverAndTruncate(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	l, err := Open(cfg)
	require.NoError(t, err)
	big := make([]byte, 100<<10)
	var last LSN
	for i := range 35 {
		big[0] = byte(i)
		last, err = l.Append(big)
		require.NoError(t, err)
		if i%7 == 0 {
			require.NoError(t, l.WaitDurable(last))
		}
	}
	require.NoError(t, l.WaitDurable(last))
	require.Len(t, segmentFiles(t, fs), 4, "35 records of 100 KiB fill three 1 MiB segments and start a fourth")

	lsns, recs := readAll(t, l, 15)
	require.Len(t, lsns, 21)
	require.Equal(t, byte(14), recs[0][0])

	require.NoError(t, l.TruncateBelow(25))
	require.Len(t, segmentFiles(t, fs), 2, "the two segments wholly below 25 are gone")
	err = l.ReadFrom(5, func(LSN, []byte) error { return nil })
	require.ErrorIs(t, err, ErrTruncated)
	var te *TruncatedError
	require.ErrorAs(t, err, &te)
	require.Equal(t, TruncatedError{Asked: 5, First: 21}, *te, "the error says where the log starts now")
	lsns, _ = readAll(t, l, 21)
	require.Equal(t, LSN(21), lsns[0])
	require.NoError(t, l.Close())

	l, err = Open(cfg)
	require.NoError(t, err)
	require.Equal(t, LSN(35), l.Last())
	require.NoError(t, l.Close())
}

func segmentFiles(t *testing.T, fs vfs.FS) []string {
	names, err := fs.List("log")
	require.NoError(t, err)
	var segs []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			segs = append(segs, n)
		}
	}
	return segs
}

// TestRecycledSegmentKeepsItsOldFramesOut: a dropped segment becomes the
// spare and then the next segment, its old frames still in it; they all
// carry LSNs below the segment's, so neither reads nor a restart take them
// for records.
func TestRecycledSegmentKeepsItsOldFramesOut(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	lg, err := Open(cfg)
	require.NoError(t, err)
	l := lg.(*segmentLog)
	big := make([]byte, 200<<10)
	var last LSN
	for i := range 12 { // three segments of five records
		big[0] = byte(i)
		last, err = l.Append(big)
		require.NoError(t, err)
		require.NoError(t, l.WaitDurable(last))
	}
	l.prepared.Wait()
	// No spare: the next truncation recycles the first segment.
	l.segMu.Lock()
	if l.spareReady {
		require.NoError(t, fs.Remove(fs.PathJoin("log", spareName)))
		l.spareReady = false
	}
	l.segMu.Unlock()
	require.NoError(t, l.TruncateBelow(6))
	_, err = fs.Stat(fs.PathJoin("log", spareName))
	require.NoError(t, err, "the dropped segment is the spare")
	l.segMu.Lock()
	l.preparing = true // keep the preparer from replacing it
	l.segMu.Unlock()
	for i := 12; i < 17; i++ { // roll into the recycled segment
		big[0] = byte(i)
		last, err = l.Append(big)
		require.NoError(t, err)
	}
	require.NoError(t, l.WaitDurable(last))
	l.segMu.Lock()
	l.preparing = false
	l.segMu.Unlock()
	require.NoError(t, l.Close())

	lg, err = Open(cfg)
	require.NoError(t, err)
	require.Equal(t, LSN(17), lg.Last())
	lsns, recs := readAll(t, lg, 6)
	require.Len(t, lsns, 12)
	for i, r := range recs {
		require.Equal(t, byte(i+5), r[0])
	}
	require.NoError(t, lg.Close())
}

// activeSegment returns the path of the newest segment file.
func activeSegment(t *testing.T, fs vfs.FS) string {
	names, err := fs.List("log")
	require.NoError(t, err)
	var newest string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok && n > newest {
			newest = n
		}
	}
	return fs.PathJoin("log", newest)
}

// appendRaw writes bytes at the end of the written part of a segment, as a
// write the crash interrupted would have left them.
func appendRaw(t *testing.T, fs vfs.FS, path string, off int64, p []byte) {
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = f.WriteAt(p, off)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func fileSize(t *testing.T, fs vfs.FS, path string) int64 {
	st, err := fs.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

func TestTornTailIsCut(t *testing.T) {
	cases := []struct {
		name string
		// tail returns the bytes found after record 3's frame.
		tail func() []byte
	}{
		{"half a frame", func() []byte { f := appendFrame(nil, 4, rec(4)); return f[:len(f)/2] }},
		{"half a header", func() []byte { return appendFrame(nil, 4, rec(4))[:7] }},
		{"bad checksum", func() []byte { f := appendFrame(nil, 4, rec(4)); f[len(f)-1] ^= 0xff; return f }},
		{"a frame of an older incarnation", func() []byte { return appendFrame(nil, 2, rec(2)) }},
		{"a length past the bound", func() []byte {
			f := appendFrame(nil, 4, rec(4))
			f[7] = 0x7f
			return f
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
			l, err := Open(cfg)
			require.NoError(t, err)
			_, err = l.Append(rec(1), rec(2), rec(3))
			require.NoError(t, err)
			require.NoError(t, l.Close())
			seg := activeSegment(t, fs)
			appendRaw(t, fs, seg, fileSize(t, fs, seg), tc.tail())

			l, err = Open(cfg)
			require.NoError(t, err)
			require.Equal(t, LSN(3), l.Last(), "the log ends at the last whole record")
			lsn, err := l.Append([]byte("after the cut"))
			require.NoError(t, err)
			require.Equal(t, LSN(4), lsn)
			require.NoError(t, l.Close())

			l, err = Open(cfg)
			require.NoError(t, err)
			_, recs := readAll(t, l, 1)
			require.Equal(t, []string{string(rec(1)), string(rec(2)), string(rec(3)), "after the cut"}, recs)
			require.NoError(t, l.Close())
		})
	}
}

// TestCutTailCannotReappear: frames written after a bad one were never
// durable (durability is in order), so they must not come back behind the
// records written after the restart, even when a new record happens to
// end exactly where an old one did.
func TestCutTailCannotReappear(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	l, err := Open(cfg)
	require.NoError(t, err)
	_, err = l.Append(rec(1))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	seg := activeSegment(t, fs)
	end := fileSize(t, fs, seg)
	bad := appendFrame(nil, 2, rec(2))
	bad[len(bad)-1] ^= 0xff
	stale := append(bad, appendFrame(nil, 3, rec(3))...)
	appendRaw(t, fs, seg, end, stale)

	l, err = Open(cfg)
	require.NoError(t, err)
	require.Equal(t, LSN(1), l.Last())
	_, err = l.Append(rec(2)) // same length as the bad frame: record 3's old frame follows it exactly
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l, err = Open(cfg)
	require.NoError(t, err)
	require.Equal(t, LSN(2), l.Last(), "the old record 3 was never durable and stays cut")
	require.NoError(t, l.Close())
}

// writeAndClose opens the log of cfg, appends n records of size bytes
// each (several segments' worth, for the tests of damage before the
// tail) and closes it.
func writeAndClose(t *testing.T, cfg Config, n, size int) {
	t.Helper()
	l, err := Open(cfg)
	require.NoError(t, err)
	big := make([]byte, size)
	for range n {
		_, err = l.Append(big)
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
}

func TestCorruptionBeforeTheTailIsRefused(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	writeAndClose(t, cfg, 6, 400<<10)
	names, err := fs.List("log")
	require.NoError(t, err)
	require.Greater(t, len(names), 1)
	first := fs.PathJoin("log", segmentName(1))
	appendRaw(t, fs, first, frameHeader+100, []byte{0xde, 0xad})

	_, err = Open(cfg)
	require.Error(t, err, "a bad frame in a segment that is not the last is corruption, not a torn tail")
}

// TestCorruptionInASealedSegmentIsReportedWhenRead: recovery reads only
// the last segment in full (the others were synced whole before the next
// began), so damage deeper in an earlier segment, or a segment missing
// between two others, is found by the first read that crosses it, which
// fails instead of returning fewer records.
func TestCorruptionInASealedSegmentIsReportedWhenRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, fs vfs.FS, segs []string)
	}{
		{"a bad frame after the first", func(t *testing.T, fs vfs.FS, segs []string) {
			appendRaw(t, fs, fs.PathJoin("log", segs[0]), 2*(frameHeader+300<<10)+frameHeader+100, []byte{0xde, 0xad})
		}},
		{"a segment missing", func(t *testing.T, fs vfs.FS, segs []string) {
			require.NoError(t, fs.Remove(fs.PathJoin("log", segs[1])))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
			writeAndClose(t, cfg, 12, 300<<10)
			segs := segmentFiles(t, fs)
			slices.Sort(segs)
			require.GreaterOrEqual(t, len(segs), 3)
			tc.damage(t, fs, segs)

			l, err := Open(cfg)
			require.NoError(t, err, "recovery reads the last segment only")
			defer l.Close()
			err = l.ReadFrom(1, func(LSN, []byte) error { return nil })
			require.ErrorContains(t, err, "corrupt")
		})
	}
}

// TestDurableRecordsSurviveACrash appends while taking crash images of the
// filesystem at random points, and checks every image: every record whose
// WaitDurable returned before the image was taken is in it, in order.
func TestDurableRecordsSurviveACrash(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			l, err := im.open(Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes})
			require.NoError(t, err)
			defer l.Close()
			type image struct {
				fs      *vfs.MemFS
				durable LSN
			}
			var images []image
			var wg sync.WaitGroup
			var acked atomic.Uint64
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 150 {
						lsn, err := l.Append(fmt.Appendf(nil, "w%d-%d", w, i))
						if err != nil {
							t.Error(err)
							return
						}
						if err := l.WaitDurable(lsn); err != nil {
							t.Error(err)
							return
						}
						for {
							cur := acked.Load()
							if uint64(lsn) <= cur || acked.CompareAndSwap(cur, uint64(lsn)) {
								break
							}
						}
					}
				}()
			}
			rng := rand.New(rand.NewPCG(1, 2))
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for running := true; running; {
				select {
				case <-done:
					running = false
				default:
					time.Sleep(time.Millisecond) // spreads the images over the run; nothing is timed
				}
				// The durable LSN is read before the image is taken: what it
				// covers was synced before the image.
				d := LSN(acked.Load())
				images = append(images, image{fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng}), d})
			}
			for _, img := range images {
				l2, err := im.open(Config{Dir: "log", FS: img.fs, SegmentBytes: testSegmentBytes})
				require.NoError(t, err)
				require.GreaterOrEqual(t, l2.Last(), img.durable, "an acknowledged record was lost")
				lsns, _ := readAll(t, l2, 1)
				for i, lsn := range lsns {
					require.Equal(t, LSN(i+1), lsn)
				}
				require.NoError(t, l2.Close())
			}
		})
	}
}

// failingFS fails every data sync once armed, as a disk that reports an
// I/O error does.
type failingFS struct {
	vfs.FS
	armed atomic.Bool
}

var errDisk = errors.New("injected: input/output error")

func (f *failingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.Create(name, c)
	return &failingFile{File: file, fs: f}, err
}

func (f *failingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.OpenReadWrite(name, c, opts...)
	return &failingFile{File: file, fs: f}, err
}

type failingFile struct {
	vfs.File
	fs *failingFS
}

func (f *failingFile) Sync() error {
	if f.fs.armed.Load() {
		return errDisk
	}
	return f.File.Sync()
}

func (f *failingFile) SyncData() error {
	if f.fs.armed.Load() {
		return errDisk
	}
	return f.File.SyncData()
}

func (f *failingFile) SyncTo(n int64) (bool, error) {
	if f.fs.armed.Load() {
		return false, errDisk
	}
	return f.File.SyncTo(n)
}

// TestFailedSyncStopsTheLog: once a sync fails, nothing appended after the
// last good sync is ever reported durable, every waiter is told, and the
// fatal hook is called exactly once.
func TestFailedSyncStopsTheLog(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			fs := &failingFS{FS: vfs.NewMem()}
			var fatals atomic.Int32
			fatalErr := make(chan error, 10)
			l, err := im.open(Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes, OnFatal: func(err error) { fatals.Add(1); fatalErr <- err }})
			require.NoError(t, err)
			good, err := l.Append(rec(1))
			require.NoError(t, err)
			require.NoError(t, l.WaitDurable(good))

			fs.armed.Store(true)
			var wg sync.WaitGroup
			for i := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					lsn, err := l.Append(rec(10 + i))
					if err != nil {
						require.ErrorIs(t, err, ErrFailed)
						return
					}
					require.ErrorIs(t, l.WaitDurable(lsn), ErrFailed, "a record appended after the last good sync is never acknowledged")
				}()
			}
			wg.Wait()
			require.Equal(t, good, l.Durable(), "the durable LSN never moves after a failure")
			require.Equal(t, int32(1), fatals.Load())
			require.ErrorContains(t, <-fatalErr, errDisk.Error())
			_, err = l.Append(rec(99))
			require.ErrorIs(t, err, ErrFailed)
			require.NoError(t, l.WaitDurable(good), "what was durable before stays durable")
			_ = l.Close()
		})
	}
}

// TestOnDurableRunsBeforePublication: whoever learns a record is durable
// finds the OnDurable hook already run for it, and a failing hook stops
// the log as a failed sync does.
func TestOnDurableRunsBeforePublication(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			var seen atomic.Uint64
			var failAt atomic.Uint64
			fatal := make(chan error, 1)
			cfg := Config{Dir: "log", FS: vfs.NewMem(), SegmentBytes: testSegmentBytes,
				OnFatal: func(err error) { fatal <- err },
				OnDurable: func(upTo LSN) error {
					if f := failAt.Load(); f != 0 && uint64(upTo) >= f {
						return errors.New("projection failed")
					}
					if uint64(upTo) < seen.Load() {
						return fmt.Errorf("OnDurable went back from %d to %d", seen.Load(), upTo)
					}
					seen.Store(uint64(upTo))
					return nil
				}}
			l, err := im.open(cfg)
			require.NoError(t, err)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						lsn, err := l.Append(rec(g*1000 + i))
						require.NoError(t, err)
						require.NoError(t, l.WaitDurable(lsn))
						require.GreaterOrEqual(t, seen.Load(), uint64(lsn), "durable published before the hook saw it")
					}
				}()
			}
			wg.Wait()
			require.Equal(t, uint64(l.Durable()), seen.Load())

			failAt.Store(uint64(l.Last()) + 1)
			lsn, err := l.Append(rec(7))
			require.NoError(t, err)
			require.ErrorIs(t, l.WaitDurable(lsn), ErrFailed)
			require.ErrorContains(t, <-fatal, "projection failed")
			require.Less(t, l.Durable(), lsn, "a record whose hook failed is never reported durable")
			_ = l.Close()
		})
	}
}

// TestReadDirReadsWithoutOpening: ReadDir sees what a log wrote, from its
// first kept segment, up to a bound, beside the open log and after it.
func TestReadDirReadsWithoutOpening(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	l, err := Open(cfg)
	require.NoError(t, err)
	big := make([]byte, 200<<10)
	var last LSN
	for i := range 12 { // several segments
		big[0] = byte(i)
		last, err = l.Append(big)
		require.NoError(t, err)
	}
	require.NoError(t, l.WaitDurable(last))
	read := func(upTo LSN) (first LSN, lsns []LSN) {
		first, err := ReadDir(fs, "log", upTo, func(lsn LSN, rec []byte) error {
			require.Equal(t, byte(lsn-1), rec[0])
			lsns = append(lsns, lsn)
			return nil
		})
		require.NoError(t, err)
		return first, lsns
	}
	first, lsns := read(0)
	require.Equal(t, LSN(1), first)
	require.Len(t, lsns, 12, "beside the open log")
	_, lsns = read(7)
	require.Equal(t, LSN(7), lsns[len(lsns)-1])

	require.NoError(t, l.TruncateBelow(6))
	first, lsns = read(0)
	require.Greater(t, first, LSN(1), "from the first segment kept")
	require.Equal(t, last, lsns[len(lsns)-1])
	require.NoError(t, l.Close())
	_, lsns = read(0)
	require.Equal(t, last, lsns[len(lsns)-1], "after it closed")

	first, err = ReadDir(fs, "nowhere", 0, func(LSN, []byte) error { return nil })
	require.NoError(t, err)
	require.Zero(t, first)
}

// TestReadFromSeeksWithinASegment reads from records deep inside segments,
// at segment starts and at the ends, before and after a reopen (whose
// index of record offsets comes from recovery's scan rather than from the
// writes): every read starts exactly at the record asked for and sees
// every record after it.
func TestReadFromSeeksWithinASegment(t *testing.T) {
	fs := vfs.NewMem()
	cfg := Config{Dir: "log", FS: fs, SegmentBytes: testSegmentBytes}
	l, err := Open(cfg)
	require.NoError(t, err)
	body := func(i int) []byte { return fmt.Appendf(nil, "%06d%0900d", i, i) }
	const n = 3000
	var last LSN
	for i := 1; i <= n; i++ {
		last, err = l.Append(body(i))
		require.NoError(t, err)
		if i%40 == 0 {
			require.NoError(t, l.WaitDurable(last))
		}
	}
	require.NoError(t, l.WaitDurable(last))
	check := func(t *testing.T, l Log) {
		sl := l.(*segmentLog)
		sl.segMu.Lock()
		segs := slices.Clone(sl.segs)
		sl.segMu.Unlock()
		require.Greater(t, len(segs), 2, "the records span several segments")
		froms := []LSN{1, 2, 255, 1000, 1001, 2999, n, n + 1}
		for _, s := range segs {
			froms = append(froms, s-1, s, s+1, s+300)
		}
		for _, from := range froms {
			if from < 1 {
				continue
			}
			lsns, recs := readAll(t, l, from)
			if from > n {
				require.Empty(t, lsns, "from %d", from)
				continue
			}
			require.Len(t, lsns, int(n-from+1), "from %d", from)
			for i, lsn := range lsns {
				require.Equal(t, from+LSN(i), lsn)
				require.Equal(t, string(body(int(lsn))), recs[i], "from %d", from)
			}
		}
		// Written segments are indexed as they are written, the last one
		// by recovery's scan, the others as they are first read.
		sl.segMu.Lock()
		defer sl.segMu.Unlock()
		for _, seg := range segs[:len(segs)-1] {
			require.Greater(t, len(sl.marks[seg]), 1, "segment %d is indexed", seg)
		}
	}
	check(t, l)
	require.NoError(t, l.Close())
	l, err = Open(cfg)
	require.NoError(t, err)
	check(t, l)
	require.NoError(t, l.Close())
}
