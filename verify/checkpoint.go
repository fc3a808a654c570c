package verify

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// CheckCheckpoint names the memory checkpoint check.
const CheckCheckpoint = "checkpoint"

// CheckMemCheckpoint opens the ledger of dataDir twice, once from its
// newest memory checkpoint and the log after it (as a restart does) and
// once rebuilding memory from the store (checkpoints ignored), and
// compares their memory tables: open holds, originals, transaction lists,
// events by type and repeat window. Every entry on which they differ is a
// breach. A directory without a memory checkpoint is skipped (examined 0).
//
// Opening a ledger writes (the log's tail into the store, the retired
// keys' cleanup, checkpoints at Close), so the check runs on a copy of
// the directory's pebble/, log/ and checkpoints/ in a temporary directory,
// removed after: dataDir is only read. The copy takes as much disk as
// those three.
func CheckMemCheckpoint(dataDir string, v *vault.Vault) (Check, error) {
	c := Check{Name: CheckCheckpoint}
	skip := func() (Check, error) {
		c.Notes = append(c.Notes, "no memory checkpoint: skipped")
		return c, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "checkpoints")); errors.Is(err, fs.ErrNotExist) {
		return skip()
	}
	tmp, err := os.MkdirTemp("", "ledgersim-verify-")
	if err != nil {
		return c, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	for _, sub := range []string{"pebble", "log", "checkpoints"} {
		if err := copyTree(filepath.Join(dataDir, sub), filepath.Join(tmp, sub)); err != nil {
			return c, fmt.Errorf("copying the data directory: %w", err)
		}
	}
	db, err := store.Open(store.Options{Dir: tmp})
	if err != nil {
		return c, err
	}
	defer func() { _ = db.Close() }()
	lsn, shards, window, err := ledger.MemCheckpointShape(db)
	if err != nil {
		// Its container checks (CRC) but its body does not start as a
		// memory checkpoint does.
		c.breach("the newest memory checkpoint does not decode")
		return c, nil
	}
	if lsn == 0 {
		return skip()
	}
	now, ok, err := LatestEventTime(db)
	if err != nil {
		return c, err
	}
	if !ok {
		now = time.Now().UTC()
	}
	// Both opens share one instant (the repeat window drops what expired
	// before it) and the checkpoint's own shard count and repeat window,
	// which a restart must be given to load it.
	open := func(ignore bool) (*ledger.MemoryDump, uint64, error) {
		l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.NewVirtual(now),
			Shards: shards, RepeatWindow: window, IgnoreMemCheckpoints: ignore})
		if err != nil {
			return nil, 0, err
		}
		d, loaded := ledger.DumpMemory(l), l.LoadedMemCheckpoint()
		return d, loaded, l.Close()
	}
	fromCkpt, loaded, err := open(false)
	if err != nil {
		return c, fmt.Errorf("opening the ledger from its memory checkpoint: %w", err)
	}
	if loaded != lsn {
		c.breach("the newest memory checkpoint (LSN %d) is not loaded by a restart: it does not decode or the log after it is missing", lsn)
		return c, nil
	}
	full, _, err := open(true)
	if err != nil {
		return c, fmt.Errorf("opening the ledger without its memory checkpoint: %w", err)
	}
	c.Checked = fromCkpt.Len()
	for _, d := range ledger.CompareMemory(fromCkpt, full) {
		switch {
		case d.InA && d.InB:
			c.breach("%s %s: differs between the restart from the checkpoint and the full rebuild", d.Table, d.Subject)
		case d.InA:
			c.breach("%s %s: in the restart from the checkpoint only", d.Table, d.Subject)
		default:
			c.breach("%s %s: in the full rebuild only", d.Table, d.Subject)
		}
	}
	c.Notes = append(c.Notes, fmt.Sprintf("memory checkpoint at LSN %d (%d user shards, repeat window %s) and the log after it, against the full rebuild", lsn, shards, window))
	return c, nil
}

// copyTree copies the regular files under src to dst; a missing src
// copies nothing.
func copyTree(src, dst string) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		return copyFile(path, to)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
