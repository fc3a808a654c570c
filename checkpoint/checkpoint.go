package checkpoint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgersim/ledgersim/decisionlog"
)

// Config configures a Store.
type Config struct {
	// Dir holds the checkpoint files. Required.
	Dir string
	// FS is the filesystem. Default vfs.Default.
	FS vfs.FS
	// Keep is how many checkpoints are kept. Default 2, at least 1.
	Keep int
	// Logger is told of damaged checkpoints. Default: discard.
	Logger *slog.Logger
}

// Store is a directory of checkpoints.
type Store struct {
	cfg Config
	mu  sync.Mutex // serializes Write
}

const (
	magic      = "LSCKPT01" // 8 bytes: the format and its version
	headerLen  = 16         // magic + LSN
	trailerLen = 12         // body length (uint64) + CRC-32C (uint32)
	suffix     = ".ckpt"
	tmpSuffix  = ".tmp"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Open opens (or creates) the checkpoint directory and removes temporary
// files a crash left behind.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("checkpoint: Dir is required")
	}
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	if cfg.Keep == 0 {
		cfg.Keep = 2
	}
	if cfg.Keep < 1 {
		return nil, fmt.Errorf("checkpoint: Keep must be at least 1, got %d", cfg.Keep)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := cfg.FS.Stat(cfg.Dir); err != nil {
		if err := cfg.FS.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("checkpoint: create %s: %w", cfg.Dir, err)
		}
		if err := syncDir(cfg.FS, cfg.FS.PathDir(cfg.Dir)); err != nil {
			return nil, err
		}
	}
	s := &Store{cfg: cfg}
	names, err := cfg.FS.List(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, tmpSuffix) {
			_ = cfg.FS.Remove(cfg.FS.PathJoin(cfg.Dir, n))
		}
	}
	return s, nil
}

func fileName(lsn decisionlog.LSN) string { return fmt.Sprintf("%016x%s", uint64(lsn), suffix) }

func parseName(n string) (decisionlog.LSN, bool) {
	hex, ok := strings.CutSuffix(n, suffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	return decisionlog.LSN(v), err == nil
}

// list returns the LSNs of the checkpoint files, newest first.
func (s *Store) list() ([]decisionlog.LSN, error) {
	names, err := s.cfg.FS.List(s.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	var lsns []decisionlog.LSN
	for _, n := range names {
		if lsn, ok := parseName(n); ok {
			lsns = append(lsns, lsn)
		}
	}
	slices.Sort(lsns)
	slices.Reverse(lsns)
	return lsns, nil
}

// crcWriter counts and checksums what passes through it.
type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   uint64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n += uint64(n)
	return n, err
}

// Write makes a checkpoint of the state at lsn: write is given a writer
// for the body. The checkpoint exists once Write returns nil.
func (s *Store) Write(lsn decisionlog.LSN, write func(io.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, dir := s.cfg.FS, s.cfg.Dir
	tmp := fs.PathJoin(dir, fileName(lsn)+tmpSuffix)
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("checkpoint: create: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			_ = fs.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &crcWriter{w: bw, crc: crc32.New(castagnoli)}
	var hdr [headerLen]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint64(hdr[8:], uint64(lsn))
	if _, err := cw.Write(hdr[:]); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if err := write(cw); err != nil {
		return fmt.Errorf("checkpoint: write body: %w", err)
	}
	var tr [trailerLen]byte
	binary.LittleEndian.PutUint64(tr[:8], cw.n)
	binary.LittleEndian.PutUint32(tr[8:], cw.crc.Sum32())
	if _, err := bw.Write(tr[:]); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: close: %w", err)
	}
	ok = true
	if err := fs.Rename(tmp, fs.PathJoin(dir, fileName(lsn))); err != nil {
		_ = fs.Remove(tmp)
		return fmt.Errorf("checkpoint: rename: %w", err)
	}
	if err := syncDir(fs, dir); err != nil {
		return err
	}
	return s.prune()
}

// prune removes all but the newest Keep checkpoints.
func (s *Store) prune() error {
	lsns, err := s.list()
	if err != nil {
		return err
	}
	for _, lsn := range lsns[min(len(lsns), s.cfg.Keep):] {
		if err := s.cfg.FS.Remove(s.cfg.FS.PathJoin(s.cfg.Dir, fileName(lsn))); err != nil {
			return fmt.Errorf("checkpoint: remove: %w", err)
		}
	}
	return nil
}

// Oldest is the LSN of the oldest checkpoint kept, 0 when there is none:
// log records after it must be kept.
func (s *Store) Oldest() (decisionlog.LSN, error) {
	lsns, err := s.list()
	if err != nil || len(lsns) == 0 {
		return 0, err
	}
	return lsns[len(lsns)-1], nil
}

// Newest returns the newest whole checkpoint: its LSN and a reader of its
// body, checked before it is handed out. r is nil when there is none.
// Damaged checkpoints are skipped.
func (s *Store) Newest() (lsn decisionlog.LSN, r io.ReadCloser, err error) {
	lsns, err := s.list()
	if err != nil {
		return 0, nil, err
	}
	for _, lsn := range lsns {
		r, err := s.open(lsn)
		if err != nil {
			s.cfg.Logger.Warn("checkpoint: skipping a damaged checkpoint", "file", fileName(lsn), "err", err)
			continue
		}
		return lsn, r, nil
	}
	return 0, nil, nil
}

// errDamaged reports a checkpoint whose header or trailer does not check.
var errDamaged = errors.New("checkpoint: damaged")

// body reads a checkpoint's body from its file and closes the file.
type body struct {
	*io.SectionReader
	f vfs.File
}

func (b body) Close() error { return b.f.Close() }

// open checks a checkpoint in one streaming pass (a snapshot may be far
// larger than what should be held in memory twice) and returns a reader
// of its body.
func (s *Store) open(lsn decisionlog.LSN) (io.ReadCloser, error) {
	f, err := s.cfg.FS.Open(s.cfg.FS.PathJoin(s.cfg.Dir, fileName(lsn)))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (io.ReadCloser, error) {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	size := st.Size()
	if size < headerLen+trailerLen {
		return fail(fmt.Errorf("%w: %d bytes", errDamaged, size))
	}
	dataLen := size - trailerLen
	var hdr [headerLen]byte
	var tr [trailerLen]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fail(err)
	}
	if _, err := f.ReadAt(tr[:], dataLen); err != nil {
		return fail(err)
	}
	if string(hdr[:8]) != magic {
		return fail(fmt.Errorf("%w: not a checkpoint of this format", errDamaged))
	}
	if decisionlog.LSN(binary.LittleEndian.Uint64(hdr[8:])) != lsn {
		return fail(fmt.Errorf("%w: its LSN is not its name's", errDamaged))
	}
	if binary.LittleEndian.Uint64(tr[:8]) != uint64(dataLen) {
		return fail(fmt.Errorf("%w: cut short", errDamaged))
	}
	crc := crc32.New(castagnoli)
	if _, err := io.Copy(crc, bufio.NewReaderSize(io.NewSectionReader(f, 0, dataLen), 1<<20)); err != nil {
		return fail(err)
	}
	if crc.Sum32() != binary.LittleEndian.Uint32(tr[8:]) {
		return fail(fmt.Errorf("%w: checksum", errDamaged))
	}
	return body{io.NewSectionReader(f, headerLen, dataLen-headerLen), f}, nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync dir: %w", err)
	}
	return nil
}
