package dashboard

import (
	"time"

	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook"
)

// Poller exposes the counters with a chosen clock, scan bound and page size.
type Poller struct{ s *stats }

func NewPoller(db *store.DB, events webhook.EventIndex, maxScan, pageSize int, now func() time.Time) Poller {
	s := newStats(db, events, maxScan, now)
	s.pageSize = pageSize
	return Poller{s}
}

func (p Poller) Poll() (StatsView, error) { return p.s.poll() }
