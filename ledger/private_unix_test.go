//go:build unix

package ledger_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// TestDecisionLogIsPrivateWhateverTheUmask: the decision log's directory
// and segment files (the spare included) are written through the store's
// filesystem, so with umask 000 they are 0700 and 0600 like the store's.
func TestDecisionLogIsPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	defer db.Close()
	v, err := vault.Open(vault.Config{Dir: dir})
	require.NoError(t, err)
	// Small segments, so that the log rolls and prepares its spare.
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, LogSegmentBytes: 1<<20 + 64})
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 3000 {
		_, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: strings.Repeat("F", 200), LastName: "L", Email: "u" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@example.com"})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	files := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "log"), func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := os.Stat(path)
		require.NoError(t, err)
		if d.IsDir() {
			require.Equal(t, store.DirMode, info.Mode().Perm(), path)
		} else {
			files++
			require.Equal(t, store.FileMode, info.Mode().Perm(), path)
		}
		return nil
	}))
	require.Greater(t, files, 2, "several segments")
}
