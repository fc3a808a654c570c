package verify

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// runMain runs the command and returns its exit status and output, after
// checking that neither stream carries card data or key material.
func runMain(t *testing.T, f *fixture, args ...string) (int, string, string) {
	t.Helper()
	// The command reads these as defaults; the tests pass flags only.
	t.Setenv("LEDGERSIM_DATA_DIR", "")
	t.Setenv("LEDGERSIM_CARD_KEY", "")
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	assertNoSecrets(t, f, stdout.String()+stderr.String())
	return code, stdout.String(), stderr.String()
}

// assertNoSecrets fails when out holds any issued PAN (whole, or without
// its BIN), a PAN hash, or any key of keys.json.
func assertNoSecrets(t *testing.T, f *fixture, out string) {
	t.Helper()
	v, err := vault.Open(vault.Config{Dir: f.dir})
	require.NoError(t, err)
	require.NotEmpty(t, f.pans)
	for _, pan := range f.pans {
		require.NotContains(t, out, pan, "the output holds a PAN")
		require.NotContains(t, out, pan[6:], "the output holds the tail of a PAN")
		require.NotContains(t, out, v.Hash(pan), "the output holds a PAN hash")
	}
	raw, err := os.ReadFile(filepath.Join(f.dir, "keys.json"))
	require.NoError(t, err)
	var keys map[string]string
	require.NoError(t, json.Unmarshal(raw, &keys))
	for _, k := range keys {
		require.NotContains(t, out, k, "the output holds a card key")
	}
}

func TestMainCleanStore(t *testing.T) {
	f := baseFixture(t)
	dir := copyOf(t, f)
	code, out, errOut := runMain(t, f, "--data-dir", dir)
	require.Equal(t, ExitOK, code, out+errOut)
	for _, name := range []string{CheckBalances, CheckResolution, CheckAgentSpend, CheckEvents, CheckPANIndex, CheckDisputes, CheckLogReplay, CheckCheckpoint} {
		assert.Contains(t, out, name)
	}
	assert.Contains(t, out, "OK: every invariant holds")
	assert.Contains(t, out, "note: 3 users overdrawn by force post/advice/tip (allowed)")
	assert.Contains(t, out, "evaluated at 2026-03-12T13:00:00Z")
	assert.Empty(t, errOut)
	t.Log("\n" + out)

	code, out, _ = runMain(t, f, "--data-dir", dir, "--json")
	require.Equal(t, ExitOK, code)
	var rep struct {
		OK     bool    `json:"ok"`
		Checks []Check `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.True(t, rep.OK)
	assert.Len(t, rep.Checks, 8)

	// The same store verified through a master key instead of keys.json:
	// a different key is not the store's, so no sealed PAN opens.
	code, out, _ = runMain(t, f, "--data-dir", dir, "--card-key", strings.Repeat("ab", 32))
	require.Equal(t, ExitBreach, code)
	assert.Contains(t, out, "sealed PAN does not open")
}

func TestMainReportsBreaches(t *testing.T) {
	f := baseFixture(t)
	dir := copyOf(t, f)
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	u := effectiveUser(t, db, f.alice)
	u.PendingCents++
	putUserState(t, db, u)
	require.NoError(t, db.Close())

	code, out, _ := runMain(t, f, "--data-dir", dir)
	require.Equal(t, ExitBreach, code, out)
	assert.Contains(t, out, "breach: user "+f.alice+": pendingCents")
	// The balance breach, and the two keys the corruption wrote behind the
	// decision log's back.
	assert.Contains(t, out, "FAILED: 3 breaches")
	assert.Contains(t, out, "differs key u/")

	code, out, _ = runMain(t, f, "--json", "--data-dir", dir)
	require.Equal(t, ExitBreach, code)
	var rep struct {
		OK bool `json:"ok"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.OK)
}

func TestMainUsageAndOpenErrors(t *testing.T) {
	f := baseFixture(t)
	dir := copyOf(t, f)
	noKeys := copyOf(t, f)
	require.NoError(t, os.Remove(filepath.Join(noKeys, "keys.json")))
	empty := t.TempDir()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--data-dir", dir, "--nope"}, "flag provided but not defined"},
		{"extra argument", []string{"--data-dir", dir, "extra"}, "unexpected argument"},
		{"no store", []string{"--data-dir", empty}, "no store in"},
		{"no keys", []string{"--data-dir", noKeys}, "keys.json is missing"},
		{"bad card key", []string{"--data-dir", dir, "--card-key", "xyz"}, "master key must be 64 hex characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(t, f, tc.args...)
			assert.Equal(t, ExitUsage, code, out+errOut)
			assert.Contains(t, errOut, tc.want)
		})
	}
	// Nothing was created where there was nothing to verify.
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries)
	_, err = os.Stat(filepath.Join(noKeys, "keys.json"))
	assert.True(t, os.IsNotExist(err), "verify created keys.json")
}

// TestMainLockedStore: a store a server still has open cannot be
// verified; the command says so and exits 2.
func TestMainLockedStore(t *testing.T) {
	f := baseFixture(t)
	dir, _, _ := openCopy(t, f) // held open until the test ends
	code, _, errOut := runMain(t, f, "--data-dir", dir)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "is a server still running on this directory?")
}

func TestMainHelp(t *testing.T) {
	f := baseFixture(t)
	code, _, errOut := runMain(t, f, "-h")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, errOut, "usage: ledgersim verify")
}
