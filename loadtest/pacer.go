package loadtest

import (
	"context"
	"math"
	"time"
)

// The clock is the run's one sending goroutine. Senders per connection,
// woken by a pacer for every request, cost two goroutine wake-ups, a write
// and a write deadline per request: at 20,000 requests per second that was
// a whole core of a two-core machine, taken from the server under test.
// Instead one goroutine sleeps precisely (see preciseSleep; the runtime's
// timers can wake a millisecond late) until the next request falls due,
// but never sooner than Config.Tick after its last wake-up, and then, for
// each connection, builds every request due by then into one buffer and
// hands it to the kernel in one non-blocking write. At low rates it wakes
// at each due time and adds nothing; at high rates a request waits at most
// one tick, and that wait is part of its latency (latency runs from the
// due time, as always).
//
// A write never blocks: what the kernel does not take stays queued on its
// connection and is tried again at the next tick, so a server that stops
// reading holds up only its own connection, whose window then fills and
// stops further sends.

// clock runs until every schedule has passed the end of the run and every
// connection's queued bytes are written (or Timeout after the end, when a
// server stopped reading), or ctx ends.
func (r *runner) clock(ctx context.Context) {
	tick := int64(r.cfg.Tick)
	stall := r.cfg.pacerStall
	lastWake := int64(math.MinInt64 / 2)
	for ctx.Err() == nil {
		next := int64(math.MaxInt64)
		queued := false
		for _, c := range r.conns {
			if due := c.sched.peek(); due < r.endNs {
				next = min(next, due)
			}
			queued = queued || c.queued()
		}
		if queued {
			if next == math.MaxInt64 && r.now() >= r.endNs+int64(r.cfg.Timeout) {
				// Only unwritten bytes are left, and every request they
				// hold has timed out: the server stopped reading.
				return
			}
			next = min(next, lastWake+tick)
		}
		if next == math.MaxInt64 {
			return
		}
		wakeAt := max(next, lastWake+tick)
		if wakeAt > r.now() {
			sleepUntil(ctx, r.base, wakeAt)
			if ctx.Err() != nil {
				return
			}
		}
		now := r.now()
		if stall.For > 0 && wakeAt >= int64(stall.At) {
			time.Sleep(stall.For)
			stall.For = 0
			now = r.now()
		}
		// How late this wake-up is. The clock never waits on a
		// connection or the server, so this lag is the generator's own:
		// its process (or the machine under it) was not running when it
		// should have.
		if wakeAt >= r.measureNs && wakeAt < r.endNs {
			lag := now - wakeAt
			if lag > int64(r.pacerLag.Max()) {
				r.pacerLagMaxAt = wakeAt
			}
			r.pacerLag.Record(time.Duration(lag))
		}
		lastWake = now
		for _, c := range r.conns {
			c.sendDue(now)
		}
	}
}
