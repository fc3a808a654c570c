package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

// A host whose p99 no rate brings under the bound: the search must stop at
// its floor and say so, on stdout and in max.json.
func TestLoadtestMaxStopsAtTheFloor(t *testing.T) {
	sink, err := loadtest.NewStallSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	sink.Stall(time.Hour)

	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := loadtestCmd([]string{
		"--synthetic", "--cards", "3", "--conns", "1", "--target", sink.Addr(),
		"--max", "--rate", "400", "--max-floor", "100",
		"--duration", "100ms", "--warmup", "0s", "--timeout", "20ms", "--out", dir,
	}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "highest rate with p99 <= 2ms: 0/s (3 trials, stopped: the trial at the floor of 100/s failed")
	assert.Equal(t, 3, bytes.Count(stderr.Bytes(), []byte("fail: ")), "400, 200, 100: %s", stderr.String())

	raw, err := os.ReadFile(filepath.Join(dir, "max.json"))
	require.NoError(t, err)
	var mr loadtest.MaxResult
	require.NoError(t, json.Unmarshal(raw, &mr))
	assert.Equal(t, loadtest.StopFloor, mr.Stop)
	assert.Equal(t, 100.0, mr.FloorRate)
	require.Len(t, mr.Trials, 3)
	assert.Equal(t, 100.0, mr.Trials[2].RatePerSec)
}

func TestLoadtestRefusesAFloorAboveTheStart(t *testing.T) {
	sink, err := loadtest.NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	var stdout, stderr bytes.Buffer
	code := loadtestCmd([]string{
		"--synthetic", "--cards", "3", "--target", sink.Addr(), "--max", "--rate", "100", "--max-floor", "500",
	}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "FloorRate 500 out of range")
}
