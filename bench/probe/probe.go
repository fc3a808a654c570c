package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ledgersim/ledgersim/loadtest"
)

// Result is one probe's latencies, one sample each.
type Result struct {
	Hist loadtest.Histogram `json:"histogram"`
}

// Samples is the number of samples taken.
func (r *Result) Samples() int { return int(r.Hist.Count()) }

// Text is a one-line summary: count and percentiles in milliseconds.
func (r *Result) Text() string {
	h := &r.Hist
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return fmt.Sprintf("samples %d  p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms",
		r.Samples(), ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999)), ms(h.Max()))
}

// SyncConfig sets up Sync.
type SyncConfig struct {
	Dir      string        // where the probe file is made; it is removed afterwards
	Size     int           // bytes written before each sync; default 4096
	Samples  int           // syncs timed; default 3000
	Interval time.Duration // pause between samples, so each sync has its own write; default 1 ms
	// Overwrite writes into a file already as large as every sample
	// together and synced, so no sync has to record a new file size:
	// what a write-ahead log pays once its files are recycled. Without
	// it the file grows with every write, as a new log file does.
	Overwrite bool
}

// Sync appends cfg.Size bytes to a new file in cfg.Dir and syncs them with
// fdatasync(2) (fsync where there is none), cfg.Samples times, timing the
// write and the sync together: what a write-ahead log pays for one
// record synced on its own.
func Sync(ctx context.Context, cfg SyncConfig) (*Result, error) {
	if cfg.Size == 0 {
		cfg.Size = 4096
	}
	if cfg.Samples == 0 {
		cfg.Samples = 3000
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Millisecond
	}
	switch {
	case cfg.Dir == "":
		return nil, errors.New("probe: sync: no directory")
	case cfg.Size < 1 || cfg.Size > 1<<20:
		return nil, fmt.Errorf("probe: sync: size %d out of range [1, 1 MiB]", cfg.Size)
	case cfg.Samples < 1 || cfg.Samples > 10_000_000:
		return nil, fmt.Errorf("probe: sync: samples %d out of range [1, 10,000,000]", cfg.Samples)
	case cfg.Interval < 0:
		return nil, fmt.Errorf("probe: sync: interval %v is negative", cfg.Interval)
	}
	f, err := os.CreateTemp(cfg.Dir, "syncprobe-*")
	if err != nil {
		return nil, fmt.Errorf("probe: sync: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	defer f.Close()
	buf := make([]byte, cfg.Size)
	for i := range buf {
		buf[i] = byte(i) // not all zeros, in case the file system compresses
	}
	if cfg.Overwrite {
		if err := fill(f, buf, cfg.Samples); err != nil {
			return nil, fmt.Errorf("probe: sync: preparing %s: %w", filepath.Base(name), err)
		}
	}
	res := &Result{}
	for range cfg.Samples {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return res, fmt.Errorf("probe: sync: write %s: %w", filepath.Base(name), err)
		}
		if err := dataSync(f); err != nil {
			return res, fmt.Errorf("probe: sync: sync %s: %w", filepath.Base(name), err)
		}
		res.Hist.Record(time.Since(start))
		if cfg.Interval > 0 {
			time.Sleep(cfg.Interval)
		}
	}
	return res, nil
}

// fill writes n copies of buf to f, syncs it and goes back to its start.
func fill(f *os.File, buf []byte, n int) error {
	for range n {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// SleepConfig sets up Sleep.
type SleepConfig struct {
	Duration time.Duration // how long to probe; default 20 s
	Interval time.Duration // each sleep; default 200 µs
}

// Sleep sleeps cfg.Interval at a time for cfg.Duration and records how
// long each sleep took beyond what was asked. Its Max is the longest the
// process was kept from running.
func Sleep(ctx context.Context, cfg SleepConfig) (*Result, error) {
	if cfg.Duration == 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Interval == 0 {
		cfg.Interval = 200 * time.Microsecond
	}
	if cfg.Duration < 0 || cfg.Interval <= 0 || cfg.Interval > cfg.Duration {
		return nil, fmt.Errorf("probe: sleep: need 0 < interval (%v) <= duration (%v)", cfg.Interval, cfg.Duration)
	}
	res := &Result{}
	end := time.Now().Add(cfg.Duration)
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		start := time.Now()
		sleep(cfg.Interval)
		res.Hist.Record(time.Since(start) - cfg.Interval) // an early wake-up counts as 0
	}
	return res, nil
}
