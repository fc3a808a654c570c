package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/bench/probe"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "sync.json")
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"sync", []string{"sync", "--dir", dir, "--samples", "5", "--interval", "0s", "--json", out}, 0, "sync: samples 5  p50 ", ""},
		{"sleep", []string{"sleep", "--duration", "20ms", "--interval", "1ms"}, 0, "sleep: samples ", ""},
		{"no mode", nil, 2, "", "usage: probe sync"},
		{"unknown mode", []string{"fsync"}, 2, "", "usage: probe sync"},
		{"unknown flag", []string{"sync", "--bogus"}, 2, "", "flag provided but not defined"},
		{"bad config", []string{"sync", "--dir", dir, "--size", "-1"}, 1, "", "size -1 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tt.code, run(tt.args, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), tt.wantStdout)
			assert.Contains(t, stderr.String(), tt.wantStderr)
		})
	}

	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var res probe.Result
	require.NoError(t, json.Unmarshal(raw, &res))
	assert.Equal(t, 5, res.Samples())
}
