package ledger

import "github.com/ledgersim/ledgersim/decisionlog"

// Deferred lets a caller take a decision without waiting for it to be
// durable, and wait later. The ISO listener's reader decides the requests
// of a connection one after another and hands each reply, with its
// Deferred, to a goroutine that waits before writing it: the reader goes
// on to the next request while the sync is under way, and one sync
// releases many replies at once, with no goroutine per request.
//
// A decision given a Deferred (AuthRequest.Durable, FollowUp.Durable) is
// applied as always, under its shard's lock and in WAL order, but returns
// before its sync. Its outcome must not be told to anyone before Wait
// returns nil; if Wait fails, the decision may not be durable and the
// caller must answer as for a failed decision. A Deferred is used for one
// decision at a time and may be reused after Wait.
type Deferred struct {
	c *change // a change to wait for
	// or, for a repeat's reply, the newest record when it was answered:
	// the decision it repeats is at or before it.
	l      *Ledger
	marker decisionlog.LSN
}

// Wait blocks until the decision is durable, then tells the event
// listener of its events. It returns at once when there was nothing to
// wait for.
func (d *Deferred) Wait() error {
	var err error
	if d.c != nil {
		err = d.c.wait()
	}
	if d.marker != 0 {
		if merr := d.l.dlog.WaitDurable(d.marker); err == nil {
			err = merr
		}
	}
	d.c, d.l, d.marker = nil, nil, 0
	return err
}

// finish waits for c to be durable, or hands it to d to wait for later.
func (l *Ledger) finish(c *change, d *Deferred) error {
	if d == nil {
		return c.wait()
	}
	d.c = c
	return nil
}

// replayed makes sure the decision a repeat is answered from is durable:
// the first message's batch may still be waiting for its sync when its
// repeat arrives, and the repeat's reply must not overtake it. With d,
// the wait is left to d.
func (l *Ledger) replayed(d *Deferred) error {
	lsn := l.lastAppended()
	if d == nil {
		return l.dlog.WaitDurable(lsn)
	}
	d.l, d.marker = l, lsn
	return nil
}
