package dashboard

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook"
)

// The counters come from the event log rather than from Prometheus: every
// authorization, ISO 8583 or simulated, records a transaction.authorized or
// transaction.declined event carrying its decline reason, so one source
// covers both paths with the platform's own reason strings.

const (
	// pageSize is how many events one store scan returns.
	pageSize = 100
	// defaultMaxScanPerPoll bounds the events one poll reads per type, so
	// that a dashboard open during a load test costs a bounded amount;
	// beyond it the poll skips to the newest event and says so.
	defaultMaxScanPerPoll = 5000
	// rateWindow is the span the per-second rates are averaged over.
	rateWindow = 10 * time.Second
	// minPollInterval lets any number of open pages share one scan.
	minPollInterval = 500 * time.Millisecond
)

// StatsView is the JSON of GET /dashboard/stats.
type StatsView struct {
	// AuthorizedPerSec and DeclinedPerSec are averaged over the last ten
	// seconds of wall time.
	AuthorizedPerSec float64 `json:"authorizedPerSec"`
	DeclinedPerSec   float64 `json:"declinedPerSec"`
	// ApprovalRatePct is approved / (approved + declined) over the same
	// window; null when there were none.
	ApprovalRatePct *float64 `json:"approvalRatePct"`
	// Authorized, Declined and DeclineReasons count since the server
	// started counting (the first poll reads up to the scan bound of the
	// history before it).
	Authorized     int64         `json:"authorized"`
	Declined       int64         `json:"declined"`
	DeclineReasons []ReasonCount `json:"declineReasons"`
	// Truncated is true when a poll found more new events than it reads;
	// the totals then undercount.
	Truncated bool  `json:"truncated"`
	AsOf      int64 `json:"asOf"`
}

// ReasonCount is one decline reason and how often it was given.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

type sample struct {
	at                   time.Time
	authorized, declined int64
}

// stats tails the event log's two transaction types.
type stats struct {
	db       *store.DB
	events   webhook.EventIndex
	maxScan  int
	pageSize int
	now      func() time.Time

	mu       sync.Mutex
	newest   map[string]string // event type -> newest event ID counted
	samples  []sample          // one per poll, oldest first, within rateWindow
	total    map[string]int64  // event type -> count
	reasons  map[string]int64
	trunc    bool
	lastPoll time.Time
	last     StatsView
}

func newStats(db *store.DB, events webhook.EventIndex, maxScan int, now func() time.Time) *stats {
	if maxScan <= 0 {
		maxScan = defaultMaxScanPerPoll
	}
	return &stats{db: db, events: events, maxScan: maxScan, pageSize: pageSize, now: now, newest: map[string]string{},
		total: map[string]int64{}, reasons: map[string]int64{}}
}

// poll reads the events recorded since the previous poll and returns the
// counters.
func (s *stats) poll() (StatsView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.lastPoll.IsZero() && now.Sub(s.lastPoll) < minPollInterval {
		return s.last, nil
	}
	var smp sample
	smp.at = now
	for _, typ := range []string{model.EvtTxnAuthorized, model.EvtTxnDeclined} {
		n, err := s.readNew(typ)
		if err != nil {
			return StatsView{}, err
		}
		if typ == model.EvtTxnAuthorized {
			smp.authorized = n
		} else {
			smp.declined = n
		}
	}
	first := s.lastPoll.IsZero()
	s.lastPoll = now
	if !first { // history read by the first poll is not a rate
		s.samples = append(s.samples, smp)
	} else {
		s.samples = append(s.samples, sample{at: now})
	}
	for len(s.samples) > 1 && now.Sub(s.samples[0].at) > rateWindow {
		s.samples = s.samples[1:]
	}
	s.last = s.view(now)
	return s.last, nil
}

// readNew counts the events of typ newer than the last one counted.
func (s *stats) readNew(typ string) (int64, error) {
	stop := s.newest[typ]
	var n int64
	var newest, cursor string
	for read := 0; ; {
		page, err := webhook.ListEvents(s.db, s.events, typ, s.pageSize, cursor)
		if err != nil {
			return n, err
		}
		for i := range page.Items {
			e := &page.Items[i]
			// Event IDs sort by time, and the index is read newest first.
			// Two shards may make their changes durable out of ID order,
			// so an event landing just behind one already counted can be
			// missed: these are counters for a person to watch, not the
			// ledger's books.
			if stop != "" && e.ID <= stop {
				page.HasMore = false
				break
			}
			if newest == "" {
				newest = e.ID
			}
			n++
			s.total[typ]++
			if typ == model.EvtTxnDeclined {
				s.reasons[declineReason(e.Data)]++
			}
			read++
		}
		if !page.HasMore {
			break
		}
		if read >= s.maxScan {
			s.trunc = true
			break
		}
		cursor = page.Cursor
	}
	if newest != "" {
		s.newest[typ] = newest
	}
	return n, nil
}

func declineReason(data json.RawMessage) string {
	var d struct {
		DeclinedReason string `json:"declinedReason"`
	}
	if json.Unmarshal(data, &d) != nil || d.DeclinedReason == "" {
		return "unspecified"
	}
	return d.DeclinedReason
}

func (s *stats) view(now time.Time) StatsView {
	v := StatsView{Authorized: s.total[model.EvtTxnAuthorized], Declined: s.total[model.EvtTxnDeclined],
		Truncated: s.trunc, AsOf: now.UnixMilli(), DeclineReasons: []ReasonCount{}}
	var a, d int64
	for _, smp := range s.samples[1:] {
		a += smp.authorized
		d += smp.declined
	}
	if secs := now.Sub(s.samples[0].at).Seconds(); secs > 0 {
		v.AuthorizedPerSec = float64(a) / secs
		v.DeclinedPerSec = float64(d) / secs
	}
	if a+d > 0 {
		pct := 100 * float64(a) / float64(a+d)
		v.ApprovalRatePct = &pct
	}
	for r, c := range s.reasons {
		v.DeclineReasons = append(v.DeclineReasons, ReasonCount{Reason: r, Count: c})
	}
	sort.Slice(v.DeclineReasons, func(i, j int) bool {
		x, y := v.DeclineReasons[i], v.DeclineReasons[j]
		if x.Count != y.Count {
			return x.Count > y.Count
		}
		return x.Reason < y.Reason
	})
	return v
}
