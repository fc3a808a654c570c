package verify

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/checkpoint"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// ckptStore opens the memory checkpoints of a data directory.
func ckptStore(t *testing.T, dir string) *checkpoint.Store {
	t.Helper()
	st, err := checkpoint.Open(checkpoint.Config{Dir: filepath.Join(dir, "checkpoints"), FS: vfs.Default})
	require.NoError(t, err)
	return st
}

// newestCkpt reads the newest memory checkpoint's LSN and body.
func newestCkpt(t *testing.T, dir string) (decisionlog.LSN, []byte) {
	t.Helper()
	lsn, r, err := ckptStore(t, dir).Newest()
	require.NoError(t, err)
	require.NotNil(t, r)
	defer r.Close()
	body, err := io.ReadAll(r)
	require.NoError(t, err)
	return lsn, body
}

// twoCheckpoints copies the fixture and runs the ledger on it twice, each
// time with some traffic and a clean close, so that it holds an older
// memory checkpoint (returned with its body) with log records after it,
// and a newer one at the log's end.
func twoCheckpoints(t *testing.T, f *fixture) (dir string, older decisionlog.LSN, olderBody []byte, newer decisionlog.LSN) {
	t.Helper()
	dir = copyOf(t, f)
	at := f.latest.Add(time.Hour)
	for round := range 2 {
		h, err := newHistory(dir, at)
		require.NoError(t, err)
		h.stan = 900_000 + 10*round // network references the fixture never sent
		require.NoError(t, h.run(func() {
			for range 3 {
				h.auth(f.panA, 100)
			}
		}))
		require.NoError(t, h.l.Close())
		require.NoError(t, h.db.Close())
		at = at.Add(time.Minute)
		if round == 0 {
			older, olderBody = newestCkpt(t, dir)
		}
	}
	newer, _ = newestCkpt(t, dir)
	require.Greater(t, newer, older)
	return dir, older, olderBody, newer
}

// treeSums maps every regular file under dir to the SHA-256 of its bytes.
func treeSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sums[rel] = sha256.Sum256(b)
		return nil
	}))
	return sums
}

// TestCheckMemCheckpoint: a restart from the newest memory checkpoint
// (with or without log records after it) gives memory's tables as the
// full rebuild does; a checkpoint that decodes but holds older tables
// than its LSN says is a breach; a directory without one is skipped. The
// check reads the directory only: every file is left as it was.
func TestCheckMemCheckpoint(t *testing.T) {
	f := baseFixture(t)
	for _, tc := range []struct {
		name     string
		change   func(t *testing.T, dir string, older decisionlog.LSN, olderBody []byte, newer decisionlog.LSN)
		breaches bool
		skipped  bool
		note     func(older, newer decisionlog.LSN) string
	}{
		{name: "closed cleanly", note: func(_, newer decisionlog.LSN) string { return lsnNote(newer) }},
		{name: "older checkpoint and the log after it",
			change: func(t *testing.T, dir string, _ decisionlog.LSN, _ []byte, newer decisionlog.LSN) {
				require.NoError(t, os.Remove(filepath.Join(dir, "checkpoints", ckptName(newer))))
			},
			note: func(older, _ decisionlog.LSN) string { return lsnNote(older) }},
		{name: "newest rewritten with older tables", breaches: true,
			change: func(t *testing.T, dir string, _ decisionlog.LSN, olderBody []byte, newer decisionlog.LSN) {
				require.NoError(t, ckptStore(t, dir).Write(newer, func(w io.Writer) error {
					_, err := w.Write(olderBody)
					return err
				}))
			}},
		{name: "no checkpoint", skipped: true,
			change: func(t *testing.T, dir string, _ decisionlog.LSN, _ []byte, _ decisionlog.LSN) {
				require.NoError(t, os.RemoveAll(filepath.Join(dir, "checkpoints")))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, older, olderBody, newer := twoCheckpoints(t, f)
			if tc.change != nil {
				tc.change(t, dir, older, olderBody, newer)
			}
			v, err := vault.Open(vault.Config{Dir: dir})
			require.NoError(t, err)
			before := treeSums(t, dir)
			c, err := CheckMemCheckpoint(dir, v)
			require.NoError(t, err)
			require.Equal(t, before, treeSums(t, dir), "the check leaves the directory as it was")
			require.Equal(t, CheckCheckpoint, c.Name)
			switch {
			case tc.skipped:
				assert.Zero(t, c.Checked)
				assert.Zero(t, c.Breaches)
				assert.Equal(t, []string{"no memory checkpoint: skipped"}, c.Notes)
			case tc.breaches:
				assert.Positive(t, c.Breaches)
				require.NotEmpty(t, c.Examples)
				assert.Contains(t, c.Examples, "list-card "+f.cardA+": differs between the restart from the checkpoint and the full rebuild")
				for _, e := range c.Examples {
					for _, pan := range f.pans {
						assert.NotContains(t, e, pan)
						assert.NotContains(t, e, pan[6:])
					}
				}
			default:
				assert.Positive(t, c.Checked)
				assert.Zero(t, c.Breaches, c.Examples)
				require.Len(t, c.Notes, 1)
				assert.Contains(t, c.Notes[0], tc.note(older, newer))
			}
		})
	}
}

func ckptName(lsn decisionlog.LSN) string { return fmt.Sprintf("%016x.ckpt", uint64(lsn)) }

func lsnNote(lsn decisionlog.LSN) string { return fmt.Sprintf("memory checkpoint at LSN %d ", lsn) }

// TestMainLeavesLogAndCheckpoints: the command leaves the decision log and
// the memory checkpoints byte for byte as they were, and the store's
// content (its LSN keys among them) unchanged.
func TestMainLeavesLogAndCheckpoints(t *testing.T) {
	f := baseFixture(t)
	dir, _, _, _ := twoCheckpoints(t, f)
	storeKeys := func() map[string]string {
		db, err := store.Open(store.Options{Dir: dir})
		require.NoError(t, err)
		defer db.Close()
		kv := map[string]string{}
		require.NoError(t, db.Scan(nil, "", false, func(k, v []byte) bool {
			kv[string(k)] = string(v)
			return true
		}))
		return kv
	}
	logBefore, ckptBefore := treeSums(t, filepath.Join(dir, "log")), treeSums(t, filepath.Join(dir, "checkpoints"))
	keysBefore := storeKeys()
	code, out, errOut := runMain(t, f, "--data-dir", dir)
	require.Equal(t, ExitOK, code, out+errOut)
	assert.Contains(t, out, "memory checkpoint at LSN")
	assert.Equal(t, logBefore, treeSums(t, filepath.Join(dir, "log")))
	assert.Equal(t, ckptBefore, treeSums(t, filepath.Join(dir, "checkpoints")))
	assert.Equal(t, keysBefore, storeKeys())
}
