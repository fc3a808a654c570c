package probe

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSyncTimesEverySampleAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	res, err := Sync(context.Background(), SyncConfig{Dir: dir, Size: 512, Samples: 25, Interval: time.Microsecond})
	require.NoError(t, err)
	assert.Equal(t, 25, res.Samples())
	assert.Positive(t, res.Hist.Min(), "a write and a sync take time")
	assert.LessOrEqual(t, res.Hist.Quantile(0.5), res.Hist.Quantile(0.99))
	assert.LessOrEqual(t, res.Hist.Quantile(0.99), res.Hist.Max())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the probe file is removed")
	assert.True(t, strings.HasPrefix(res.Text(), "samples 25  p50 "), res.Text())
}

func TestSyncOverwrite(t *testing.T) {
	res, err := Sync(context.Background(), SyncConfig{Dir: t.TempDir(), Size: 512, Samples: 10, Interval: time.Microsecond, Overwrite: true})
	require.NoError(t, err)
	assert.Equal(t, 10, res.Samples())
}

func TestSyncRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  SyncConfig
		want string
	}{
		{"no directory", SyncConfig{}, "no directory"},
		{"missing directory", SyncConfig{Dir: "/nonexistent/probe"}, "probe: sync"},
		{"size too large", SyncConfig{Dir: t.TempDir(), Size: 2 << 20}, "size"},
		{"negative samples", SyncConfig{Dir: t.TempDir(), Samples: -1}, "samples"},
		{"negative interval", SyncConfig{Dir: t.TempDir(), Interval: -time.Second}, "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Sync(context.Background(), tt.cfg)
			assert.Nil(t, res)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestSyncStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Sync(ctx, SyncConfig{Dir: t.TempDir(), Samples: 1000})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, res.Samples())
}

func TestSleepRecordsLatenessOfEachSleep(t *testing.T) {
	res, err := Sleep(context.Background(), SleepConfig{Duration: 50 * time.Millisecond, Interval: time.Millisecond})
	require.NoError(t, err)
	// 50 sleeps of at least 1 ms each at most; a loaded machine gives fewer.
	assert.Positive(t, res.Samples())
	assert.LessOrEqual(t, res.Samples(), 50)

	_, err = Sleep(context.Background(), SleepConfig{Duration: time.Millisecond, Interval: time.Second})
	assert.ErrorContains(t, err, "interval")
}
