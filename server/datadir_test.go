package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestSharedDataDirIsRefused: a data directory that already exists open to
// group or others, with something in it, is refused with a message that
// says what to do, unless AllowSharedDataDir says otherwise. An empty one
// is closed to them.
func TestSharedDataDirIsRefused(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	require.NoError(t, os.Chmod(empty, 0o755))
	testenv.Start(t, server.Config{DataDir: empty}).Stop()
	info, err := os.Stat(empty)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes"), nil, 0o600))
	require.NoError(t, os.Chmod(dir, 0o755))
	cfg := server.Config{DataDir: dir, APIKey: testenv.APIKey, HTTPAddr: "127.0.0.1:0", ISOAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), KeyOut: io.Discard}
	_, err = server.Start(cfg)
	require.Error(t, err)
	require.Contains(t, err.Error(), "open to group or others (mode 0755)")
	require.Contains(t, err.Error(), "chmod 700 "+dir)
	require.Contains(t, err.Error(), "--allow-shared-data-dir")
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "nothing is written to a refused directory")

	cfg.AllowSharedDataDir = true
	e := testenv.Start(t, cfg)
	e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "a", "lastName": "b", "email": "d@example.com"})
}
