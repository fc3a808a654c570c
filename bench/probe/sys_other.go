//go:build !linux

package probe

import (
	"os"
	"time"
)

// dataSync falls back to fsync where fdatasync(2) is not offered.
func dataSync(f *os.File) error { return f.Sync() }

// sleep falls back to the runtime's timer.
func sleep(d time.Duration) { time.Sleep(d) }
