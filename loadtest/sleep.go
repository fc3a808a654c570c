package loadtest

import (
	"context"
	"time"
)

// coarseSleepSlack is how early a coarse (runtime timer) sleep stops before
// a due time. The Go runtime's timers wake up to about a millisecond late
// on Linux for short sleeps, which would be a millisecond of latency the
// generator adds to every request after an idle gap; the last stretch is
// slept with preciseSleep instead.
const coarseSleepSlack = 2 * time.Millisecond

// coarseSleepMax bounds one coarse sleep, so a sleeping sender notices a
// cancelled context within this long.
const coarseSleepMax = 50 * time.Millisecond

// sleepUntil sleeps until dueNs after base, or until ctx ends.
func sleepUntil(ctx context.Context, base time.Time, dueNs int64) {
	for ctx.Err() == nil {
		d := time.Duration(dueNs) - time.Since(base)
		if d <= 0 {
			return
		}
		if d > coarseSleepSlack+time.Millisecond {
			time.Sleep(min(d-coarseSleepSlack, coarseSleepMax))
			continue
		}
		preciseSleep(d)
		return
	}
}
