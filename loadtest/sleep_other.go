//go:build !linux

package loadtest

import "time"

// preciseSleep falls back to the runtime's timer where nanosleep(2) with a
// settable timer slack is not available.
func preciseSleep(d time.Duration) { time.Sleep(d) }
