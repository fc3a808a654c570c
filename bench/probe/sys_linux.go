package probe

import (
	"os"
	"syscall"
	"time"
)

// dataSync is fdatasync(2), what Pebble's write-ahead log calls on Linux.
func dataSync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// sleep is nanosleep(2): the runtime's timer wakes up to a millisecond
// late on an idle process, which would hide the gaps the probe looks for.
// It holds its thread while it sleeps, which a probe doing nothing else
// can afford.
func sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
