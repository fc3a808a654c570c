package loadtest

import (
	"container/heap"
	"context"
	"time"
)

// The pacer is the run's one clock. Senders do not sleep on their own: the
// runtime's timers can wake a millisecond late, and a sender per
// connection sleeping in nanosleep(2) would tie up every processor the
// runtime has (see preciseSleep), starving the readers. Instead one pacer
// goroutine holds a copy of every connection's schedule (the same seed
// gives the same due times), sleeps precisely until the earliest due time,
// and wakes the senders whose requests are due. A sender, once woken,
// sends everything due by its own reading of the clock, so a wake-up that
// finds it busy is never lost: the token waits in its channel.

type pacerEntry struct {
	dueNs int64
	conn  int
	sched *schedule
}

type pacerHeap []pacerEntry

func (h pacerHeap) Len() int           { return len(h) }
func (h pacerHeap) Less(i, j int) bool { return h[i].dueNs < h[j].dueNs }
func (h pacerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pacerHeap) Push(x any)        { *h = append(*h, x.(pacerEntry)) }
func (h *pacerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// pace runs until every schedule has passed the end of the run or ctx
// ends.
func (r *runner) pace(ctx context.Context) {
	h := make(pacerHeap, 0, len(r.conns))
	for i, c := range r.conns {
		s := c.newSchedule()
		h = append(h, pacerEntry{dueNs: s.peek(), conn: i, sched: s})
	}
	heap.Init(&h)
	stall := r.cfg.pacerStall
	for h.Len() > 0 && ctx.Err() == nil {
		e := &h[0]
		if e.dueNs >= r.endNs {
			heap.Pop(&h)
			continue
		}
		now := r.now()
		if e.dueNs > now {
			sleepUntil(ctx, r.base, e.dueNs)
			continue
		}
		if stall.For > 0 && e.dueNs >= int64(stall.At) {
			time.Sleep(stall.For)
			stall.For = 0
			now = r.now()
		}
		// How late this wake-up is. The pacer never waits on a connection
		// or the server, so this lag is the generator's own: its process
		// (or the machine under it) was not running when it should have.
		if e.dueNs >= r.measureNs {
			lag := now - e.dueNs
			if lag > int64(r.pacerLag.Max()) {
				r.pacerLagMaxAt = e.dueNs
			}
			r.pacerLag.Record(time.Duration(lag))
		}
		r.conns[e.conn].wakeUp()
		for e.sched.peek() <= now {
			e.sched.advance()
		}
		e.dueNs = e.sched.peek()
		heap.Fix(&h, 0)
	}
}

// wakeUp tells the sender that a request is due.
func (c *conn) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
