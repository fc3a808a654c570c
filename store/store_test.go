package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/stretchr/testify/require"
)

func TestGetSorted(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer db.Close()
	put := func(kv ...string) {
		b := db.NewBatch()
		for i := 0; i < len(kv); i += 2 {
			b.Put([]byte(kv[i]), []byte(kv[i+1]))
		}
		require.NoError(t, db.Commit(b))
	}
	// Some records in a flushed table, some only in the memtable, and one
	// deleted after its flush, so that the lookups cross both.
	put("t/01", "one", "t/03", "three", "t/05", "five", "t/09", "gone")
	require.NoError(t, db.pdb.Flush())
	put("t/04", "four", "t/07", "", "u/01", "user")
	del := db.NewBatch()
	del.Delete([]byte("t/09"))
	require.NoError(t, db.Commit(del))

	type hit struct {
		V     string
		Found bool
	}
	tests := []struct {
		name string
		keys []string
		want []hit
	}{
		{"none", nil, nil},
		{"one present", []string{"t/03"}, []hit{{"three", true}}},
		{"one absent", []string{"t/02"}, []hit{{"", false}}},
		{"across table and memtable", []string{"t/01", "t/02", "t/03", "t/04", "t/05", "t/06", "t/07", "t/08", "t/09", "u/01"},
			[]hit{{"one", true}, {"", false}, {"three", true}, {"four", true}, {"five", true}, {"", false}, {"", true}, {"", false}, {"", false}, {"user", true}}},
		{"prefix of a key is not the key", []string{"t/0"}, []hit{{"", false}}},
		{"the same key twice", []string{"t/04", "t/04"}, []hit{{"four", true}, {"four", true}}},
		{"past the end", []string{"z/"}, []hit{{"", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([][]byte, len(tc.keys))
			for i, k := range tc.keys {
				keys[i] = []byte(k)
			}
			var got []hit
			require.NoError(t, db.GetSorted(keys, func(i int, v []byte, found bool) bool {
				require.Len(t, got, i)
				got = append(got, hit{string(v), found})
				return true
			}))
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("stops when told", func(t *testing.T) {
		calls := 0
		require.NoError(t, db.GetSorted([][]byte{[]byte("t/01"), []byte("t/03")}, func(int, []byte, bool) bool {
			calls++
			return false
		}))
		require.Equal(t, 1, calls)
	})
	t.Run("keys out of order", func(t *testing.T) {
		err := db.GetSorted([][]byte{[]byte("t/03"), []byte("t/01")}, func(int, []byte, bool) bool { return true })
		require.ErrorContains(t, err, "out of order")
	})
}

// TestCloseFlushes shows that a clean close leaves the records in tables,
// not only in the WAL, so that the next start has nothing to replay.
// Opened read-only, Pebble replays the WAL without flushing it, so a record
// that was only in the WAL would show in no table.
func TestCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	b := db.NewBatch()
	b.Put([]byte("t/01"), []byte("one"))
	require.NoError(t, db.Commit(b))
	require.NoError(t, db.Close())

	ro, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	require.NoError(t, err)
	defer ro.Close()
	require.Equal(t, int64(1), ro.Metrics().Total().TablesCount, "the record is in a table")
	v, closer, err := ro.Get([]byte("t/01"))
	require.NoError(t, err)
	require.Equal(t, "one", string(v))
	require.NoError(t, closer.Close())
}

// TestOpenLockedSaysWhy opens a directory that another process holds: the
// error is ErrLocked and names the directory, not a bare errno. The other
// process is this test binary re-run as a holder (Pebble reports a lock
// taken by the same process differently).
func TestOpenLockedSaysWhy(t *testing.T) {
	if dir := os.Getenv("STORE_TEST_HOLD_DIR"); dir != "" {
		db, err := Open(Options{Dir: dir})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		_ = db.Close()
		os.Exit(0)
	}
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run=^TestOpenLockedSaysWhy$")
	holder.Env = append(os.Environ(), "STORE_TEST_HOLD_DIR="+dir)
	stdin, err := holder.StdinPipe()
	require.NoError(t, err)
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	defer func() { _ = stdin.Close(); _ = holder.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", line)

	_, err = Open(Options{Dir: dir})
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), dir)
	require.Contains(t, err.Error(), "already running")
	require.ErrorIs(t, CheckUnlocked(dir), ErrLocked, "another process holds it")
	require.NotContains(t, err.Error(), "temporarily unavailable")
}

// TestLayoutIsRecordedAndChecked: a directory records the layout it was
// written in, and a binary refuses one it does not read, saying what to do.
func TestLayoutIsRecordedAndChecked(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, db *DB) // the directory as an earlier binary left it
		wantErr string                     // "" when it opens
		preLog  bool                       // whether it is marked as holding data from before the log
	}{
		{"a new directory", nil, "", false},
		{"a directory written before the layout was recorded", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync([]byte("u/user_1"), []byte("{}")))
			require.NoError(t, db.pdb.Delete(MetaKey("layout"), pebble.Sync))
		}, "", true},
		{"a layout 1 directory, converted on open", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync([]byte("u/user_1"), []byte("{}")))
			require.NoError(t, db.PutSync(MetaKey("layout"), []byte("1")))
		}, "", true},
		{"a layout 2 directory, converted on open", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync([]byte("u/user_1"), []byte("{}")))
			require.NoError(t, db.PutSync(MetaKey("layout"), []byte("2")))
		}, "", false},
		{"a layout 3 directory, converted on open (webhook delivery converts its outbox)", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync([]byte("u/user_1"), []byte("{}")))
			require.NoError(t, db.PutSync([]byte("o/evt_1"), nil))
			require.NoError(t, db.PutSync(MetaKey("layout"), []byte("3")))
		}, "", false},
		{"a newer layout", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync(MetaKey("layout"), []byte("99")))
		}, "written by a newer ledgersim (layout 99; this one reads layout 4)", false},
		{"a layout that is not a version", func(t *testing.T, db *DB) {
			require.NoError(t, db.PutSync(MetaKey("layout"), []byte("x")))
		}, `records layout "x"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(Options{Dir: dir})
			require.NoError(t, err)
			if tt.prepare != nil {
				tt.prepare(t, db)
			}
			require.NoError(t, db.Close())
			db, err = Open(Options{Dir: dir})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrLayout)
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorContains(t, err, dir)
				return
			}
			require.NoError(t, err)
			raw, err := db.Get(MetaKey("layout"))
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint(Layout), string(raw))
			_, err = db.Get(PreLogKey)
			if tt.preLog {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNotFound)
			}
			require.NoError(t, db.Close())
		})
	}
}

// TestCheckUnlocked: a directory whose store this process holds open is
// locked; once the store is closed it is not (and checking takes no lock
// that stays).
func TestCheckUnlocked(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	require.ErrorIs(t, CheckUnlocked(dir), ErrLocked, "held by this process")
	require.NoError(t, db.Close())
	require.NoError(t, CheckUnlocked(dir))
	require.NoError(t, CheckUnlocked(dir), "the check released its lock")
	db, err = Open(Options{Dir: dir})
	require.NoError(t, err, "the check left nothing locked")
	require.NoError(t, db.Close())
}
