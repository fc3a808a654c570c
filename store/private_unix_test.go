//go:build unix

package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFilesArePrivateWhateverTheUmask: with umask 000, under which Pebble's
// files would be 0666, every file the store writes is 0600 and every
// directory 0700.
func TestFilesArePrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	for i := range 200 {
		b := db.NewBatch()
		b.Put([]byte{'k', byte(i)}, make([]byte, 64<<10))
		require.NoError(t, db.Commit(b))
	}
	require.NoError(t, db.Close()) // flushes: sstables too
	db, err = Open(Options{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := os.Stat(path)
		require.NoError(t, err)
		if d.IsDir() {
			require.Equal(t, DirMode, info.Mode().Perm(), path)
		} else {
			files++
			require.Equal(t, FileMode, info.Mode().Perm(), path)
		}
		return nil
	}))
	require.Greater(t, files, 3)
}
