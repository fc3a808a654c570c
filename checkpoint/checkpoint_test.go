package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/decisionlog"
)

func stateAt(lsn decisionlog.LSN) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "state at %d;", lsn), 1000)
}

func writeBody(lsn decisionlog.LSN) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(stateAt(lsn)); return err }
}

func newest(t *testing.T, s *Store) (decisionlog.LSN, []byte) {
	t.Helper()
	lsn, r, err := s.Newest()
	require.NoError(t, err)
	if r == nil {
		return 0, nil
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return lsn, b
}

func TestWriteNewestKeep(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open(Config{Dir: "ckpt", FS: fs})
	require.NoError(t, err)
	lsn, b := newest(t, s)
	require.Zero(t, lsn)
	require.Nil(t, b, "no checkpoint yet: replay the whole log")

	for _, l := range []decisionlog.LSN{100, 250, 900} {
		require.NoError(t, s.Write(l, writeBody(l)))
	}
	lsn, b = newest(t, s)
	require.Equal(t, decisionlog.LSN(900), lsn)
	require.Equal(t, stateAt(900), b)
	names, err := fs.List("ckpt")
	require.NoError(t, err)
	require.Len(t, names, 2, "the two newest are kept")
	oldest, err := s.Oldest()
	require.NoError(t, err)
	require.Equal(t, decisionlog.LSN(250), oldest, "the log after 250 must be kept")

	failing := errors.New("state could not be written")
	require.ErrorIs(t, s.Write(1000, func(io.Writer) error { return failing }), failing)
	lsn, _ = newest(t, s)
	require.Equal(t, decisionlog.LSN(900), lsn, "a failed write leaves no checkpoint")
	names, err = fs.List("ckpt")
	require.NoError(t, err)
	require.Len(t, names, 2, "and no temporary file")
}

func TestDamagedCheckpointFallsBack(t *testing.T) {
	damage := []struct {
		name string
		do   func(t *testing.T, fs vfs.FS, path string)
	}{
		{"a flipped byte", func(t *testing.T, fs vfs.FS, path string) {
			f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
			require.NoError(t, err)
			_, err = f.WriteAt([]byte{0xff}, 5000)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"cut short", func(t *testing.T, fs vfs.FS, path string) {
			raw := readFile(t, fs, path)
			writeFile(t, fs, path, raw[:len(raw)/2])
		}},
		{"empty", func(t *testing.T, fs vfs.FS, path string) { writeFile(t, fs, path, nil) }},
		{"another LSN inside", func(t *testing.T, fs vfs.FS, path string) {
			writeFile(t, fs, path, readFile(t, fs, fs.PathJoin("ckpt", fileName(100))))
		}},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s, err := Open(Config{Dir: "ckpt", FS: fs})
			require.NoError(t, err)
			require.NoError(t, s.Write(100, writeBody(100)))
			require.NoError(t, s.Write(200, writeBody(200)))
			d.do(t, fs, fs.PathJoin("ckpt", fileName(200)))
			lsn, b := newest(t, s)
			require.Equal(t, decisionlog.LSN(100), lsn, "the damaged newest is skipped")
			require.Equal(t, stateAt(100), b)
		})
	}
}

// TestCrashDuringWrite takes crash images while checkpoints are written:
// every image holds the newest checkpoint whose Write had returned, or a
// later one, and never a damaged one.
func TestCrashDuringWrite(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s, err := Open(Config{Dir: "ckpt", FS: fs})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	var written decisionlog.LSN
	for l := decisionlog.LSN(1); l <= 30; l++ {
		done := make(chan error)
		go func() { done <- s.Write(l*10, writeBody(l*10)) }()
		var images []*vfs.MemFS
		for running := true; running; {
			select {
			case err := <-done:
				require.NoError(t, err)
				running = false
			default:
				images = append(images, fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng}))
			}
		}
		for _, img := range images {
			s2, err := Open(Config{Dir: "ckpt", FS: img})
			require.NoError(t, err)
			lsn, b := newest(t, s2)
			require.GreaterOrEqual(t, lsn, written, "a checkpoint whose write had returned was lost")
			if lsn != 0 {
				require.Equal(t, stateAt(lsn), b)
			}
		}
		written = l * 10
	}
}

func readFile(t *testing.T, fs vfs.FS, path string) []byte {
	f, err := fs.Open(path)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

func writeFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
