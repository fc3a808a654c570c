package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// startWithGeneratedKey starts a server that has no configured key (the
// testenv default key is not used).
func startWithGeneratedKey(t *testing.T, cfg server.Config) *testenv.Env {
	t.Helper()
	cfg.APIKey = ""
	e := testenv.StartRaw(t, cfg)
	return e
}

// readAll concatenates every file under dir, to scan the store for secrets.
func readAll(t *testing.T, dir string) string {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		all = append(all, b...)
		return nil
	})
	require.NoError(t, err)
	return string(all)
}
