package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Result is the outcome of a run. It is plain data and round-trips through
// encoding/json. Durations are time.Duration values, written to JSON as
// integer nanoseconds (the Ns suffix of their JSON names).
//
// Everything except Series and Approvals counts only requests due in the
// measured part of the run (after Warmup): a request is measured or not by
// its due time, whenever it was sent or answered.
type Result struct {
	// The configuration, as run.
	Target        string        `json:"target"`
	Framing       string        `json:"framing"`
	Conns         int           `json:"conns"`
	RatePerSec    float64       `json:"ratePerSec"`
	Arrivals      Arrivals      `json:"arrivals"`
	Duration      time.Duration `json:"durationNs"`
	Warmup        time.Duration `json:"warmupNs"`
	Timeout       time.Duration `json:"timeoutNs"`
	Mix           string        `json:"mix"`
	Seed          uint64        `json:"seed"`
	Cards         int           `json:"cards"`
	RunID         string        `json:"runId"`
	IntentsAsAuth bool          `json:"intentsAsAuth"` // no card had an intent: the intent share was sent as auth
	StartedAt     time.Time     `json:"startedAt"`
	// MeasuredSeconds is the length of the measured period (shorter than
	// Duration when the context ended the run early).
	MeasuredSeconds float64 `json:"measuredSeconds"`

	// Offered counts requests that fell due; Sent those written to a
	// connection; Replies those answered in time.
	Offered int64 `json:"offered"`
	Sent    int64 `json:"sent"`
	Replies int64 `json:"replies"`
	// Timeouts counts requests with no reply within Timeout of their due
	// time; TimeoutsUnsent is the part of them never sent, because the
	// generator could only have sent them after their timeout (a full
	// window, a blocked connection).
	Timeouts       int64 `json:"timeouts"`
	TimeoutsUnsent int64 `json:"timeoutsUnsent"`
	// Errors counts requests that failed without a reply or a timeout:
	// ErrorsConnLost were in flight on a connection that broke,
	// ErrorsUnsent fell due while there was no connection.
	Errors         int64 `json:"errors"`
	ErrorsConnLost int64 `json:"errorsConnLost"`
	ErrorsUnsent   int64 `json:"errorsUnsent"`
	// Unexpected counts replies whose DE 39 is not what a correct server
	// answers to their kind (see KindResult.Expected).
	Unexpected int64 `json:"unexpected"`
	// Replies that matched no request in flight: LateReplies answered a
	// request already counted as a timeout; UnmatchedReplies matched
	// nothing; DecodeErrors could not be read at all.
	LateReplies      int64 `json:"lateReplies"`
	UnmatchedReplies int64 `json:"unmatchedReplies"`
	DecodeErrors     int64 `json:"decodeErrors"`
	Reconnects       int64 `json:"reconnects"`
	// Fallbacks counts clear, reversal, reversal advice, increment and
	// repeat draws sent as auth because no earlier approval or answered
	// authorization was at hand (at the start of a run, or when approvals
	// are rare).
	Fallbacks int64 `json:"fallbacks"`
	// TimeoutReversals counts the 0400 reversals sent, as an acquirer
	// does, for purchases, refunds and 0200s that timed out. They are not
	// part of the mix, and not counted in Offered, Sent, Replies,
	// Timeouts or Latency: their replies, codes and own timeouts are in
	// Kinds["timeout_reversal"].
	// TimeoutReversalsUnsent counts those owed but never sent: their
	// originals timed out after the drain gave up, or too many were owed
	// at once.
	TimeoutReversals       int64 `json:"timeoutReversals"`
	TimeoutReversalsUnsent int64 `json:"timeoutReversalsUnsent"`

	OfferedPerSec    float64 `json:"offeredPerSec"`
	SentPerSec       float64 `json:"sentPerSec"`
	ThroughputPerSec float64 `json:"throughputPerSec"` // replies per second

	// Latency runs from each request's due time to its reply.
	Latency Percentiles `json:"latency"`
	// SendLag runs from each request's due time to the moment the
	// generator handed it to its connection: the wait for the clock's
	// tick (at most Config.Tick), and how far the generator fell behind
	// the schedule.
	SendLag Percentiles `json:"sendLag"`
	// PacerLag is how late the generator's clock woke, against the time it
	// meant to (the next due time, or a tick after its last wake-up),
	// once per wake-up, over the measured period. Send lag also grows with
	// the tick and when a server's backpressure fills a connection's
	// window; pacer lag cannot, because the clock never waits on a
	// connection, so a long one means the generator itself (or the
	// machine under it) was held up, and the requests due then carry that
	// wait in their latencies. PacerLagMaxAt is when the latest wake-up was due, from
	// the start of the run (warmup included).
	PacerLag      Percentiles   `json:"pacerLag"`
	PacerLagMaxAt time.Duration `json:"pacerLagMaxAtNs"`
	// ServiceTime runs from send to reply: what a generator that ignores
	// coordinated omission would call latency. It is here for comparison
	// only; when the generator fell behind, it hides the wait.
	ServiceTime Percentiles `json:"serviceTime"`
	// GeneratorCPU and ServerCPU are the CPU time the generator and the
	// server (Config.ServerCPU; empty without it) spent from the start of
	// the measured period to the end of the schedule, per request sent in
	// the measured period: the generator shares the machine with a server
	// on the same host, and what it costs the server does not get.
	GeneratorCPU CPUUse `json:"generatorCpu"`
	ServerCPU    CPUUse `json:"serverCpu"`
	// Histogram is the full distribution behind Latency, mergeable with
	// other runs'.
	Histogram *Histogram `json:"histogram"`

	Codes map[string]int64      `json:"codes"` // DE 39 of every reply; codes outside the profile as "other"
	Kinds map[string]KindResult `json:"kinds"`

	// Series has one entry per second of the run, warmup included.
	Series []SecondStats `json:"series"`

	// Approvals lists every approved 0110 received, warmup and late
	// replies included, so that a checker can look each one up in the
	// server's store. Cards appear masked.
	Approvals        []Approval `json:"approvals,omitempty"`
	ApprovalsDropped int64      `json:"approvalsDropped"`
}

// Percentiles summarizes a latency distribution.
type Percentiles struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"minNs"`
	Mean  time.Duration `json:"meanNs"`
	P50   time.Duration `json:"p50Ns"`
	P90   time.Duration `json:"p90Ns"`
	P99   time.Duration `json:"p99Ns"`
	P999  time.Duration `json:"p999Ns"`
	Max   time.Duration `json:"maxNs"`
}

// CPUUse is the CPU time one process spent over a run's measured period.
type CPUUse struct {
	// Source says what was read; empty when nothing was.
	Source  string  `json:"source,omitempty"`
	Seconds float64 `json:"seconds"`
	// Cores is Seconds over the wall-clock time between the readings.
	Cores float64 `json:"cores"`
	// MicrosPerMessage is Seconds per request sent in the measured
	// period, in microseconds.
	MicrosPerMessage float64 `json:"microsPerMessage"`
	// Error is why the figures are missing, when a reading failed.
	Error string `json:"error,omitempty"`
}

// text is the CPU figure as WriteText shows it.
func (u CPUUse) text() string {
	switch {
	case u.Source == "":
		return "not measured"
	case u.Error != "":
		return "not measured (" + u.Error + ")"
	}
	return fmt.Sprintf("%.1fµs (%.2f cores, %s)", u.MicrosPerMessage, u.Cores, u.Source)
}

// PauseWarnAt is the generator clock lag above which a result warns that
// the generator was held up. On a busy 2-core machine the clock's lag
// reaches 2 – 8 ms now and then; pauses worth a warning are longer.
const PauseWarnAt = 10 * time.Millisecond

// PauseWarning says, when the generator's clock ran more than PauseWarnAt
// late, that the latencies around that moment include the generator's
// own pause; it is empty otherwise.
func (r *Result) PauseWarning() string {
	if r.PacerLag.Max <= PauseWarnAt {
		return ""
	}
	return fmt.Sprintf("the generator's clock woke %.1fms late at %.3fs: the generator (or the machine under it) was held up, "+
		"and requests due then carry that wait in their latencies; it is not the server's", float64(r.PacerLag.Max)/1e6, r.PacerLagMaxAt.Seconds())
}

func percentilesOf(h *Histogram) Percentiles {
	return Percentiles{Count: h.Count(), Min: h.Min(), Mean: h.Mean(), P50: h.Quantile(0.50),
		P90: h.Quantile(0.90), P99: h.Quantile(0.99), P999: h.Quantile(0.999), Max: h.Max()}
}

// KindResult is the outcome of one message kind.
type KindResult struct {
	// Expected is the DE 39 a correct server answers: "00", "54", "61",
	// or "original" for repeats (the code of the first reply).
	Expected   string           `json:"expected"`
	Offered    int64            `json:"offered"`
	Sent       int64            `json:"sent"`
	Replies    int64            `json:"replies"`
	Timeouts   int64            `json:"timeouts"`
	Errors     int64            `json:"errors"`
	Unexpected int64            `json:"unexpected"`
	Codes      map[string]int64 `json:"codes"`
}

// SecondStats is one second of the run. Replies, latencies and timeouts
// count in the second they happened; Offered and Sent in the second the
// generator handled the request.
type SecondStats struct {
	Second     int           `json:"second"` // from the start of the run, warmup included
	Warmup     bool          `json:"warmup"`
	Partial    bool          `json:"partial,omitempty"` // the run ended during this second
	Offered    int64         `json:"offered"`
	Sent       int64         `json:"sent"`
	Replies    int64         `json:"replies"`
	Timeouts   int64         `json:"timeouts"`
	Errors     int64         `json:"errors"`
	P50        time.Duration `json:"p50Ns"`
	P99        time.Duration `json:"p99Ns"`
	Max        time.Duration `json:"maxNs"`
	SendLagMax time.Duration `json:"sendLagMaxNs"`
}

// Approval is one approved 0110: what a checker needs to find the
// authorization in the server's store.
type Approval struct {
	STAN        string `json:"stan"`
	RRN         string `json:"rrn"`
	CardID      string `json:"cardId,omitempty"`
	Card        string `json:"card"` // masked PAN: first 6 and last 4 digits
	AmountCents int64  `json:"amountCents"`
	AuthCode    string `json:"authCode"` // DE 38
	Kind        string `json:"kind"`     // auth, intent, refund, repeat, ...
	Late        bool   `json:"late,omitempty"`
	Warmup      bool   `json:"warmup,omitempty"`
}

// Response codes counted one by one; anything else counts as "other".
var codeList = [...]string{"00", "05", "12", "13", "14", "25", "30", "51", "54", "57", "61", "62", "65", "82", "94", "96"}

const (
	codeOther = len(codeList)
	numCodes  = codeOther + 1
	codeNone  = -1 // a reply without a readable DE 39
)

func codeIndex(c [2]byte) int {
	for i, s := range codeList {
		if s[0] == c[0] && s[1] == c[1] {
			return i
		}
	}
	return codeOther
}

func codeName(i int) string {
	if i < codeOther {
		return codeList[i]
	}
	return "other"
}

// kindCounters and stats are the counters kept per connection, per second
// and per run; they are merged by adding.
type kindCounters struct {
	offered, sent, replies, timeouts, errors, unexpected int64
	codes                                                [numCodes]int64
}

type stats struct {
	lat            Histogram
	kinds          [numKinds]kindCounters
	timeoutsUnsent int64
	errConnLost    int64
	errUnsent      int64
	late           int64
	unmatched      int64
	decodeErrors   int64
	lagMaxNs       int64
}

func (s *stats) merge(o *stats) {
	s.lat.Merge(&o.lat)
	for k := range s.kinds {
		a, b := &s.kinds[k], &o.kinds[k]
		a.offered += b.offered
		a.sent += b.sent
		a.replies += b.replies
		a.timeouts += b.timeouts
		a.errors += b.errors
		a.unexpected += b.unexpected
		for i := range a.codes {
			a.codes[i] += b.codes[i]
		}
	}
	s.timeoutsUnsent += o.timeoutsUnsent
	s.errConnLost += o.errConnLost
	s.errUnsent += o.errUnsent
	s.late += o.late
	s.unmatched += o.unmatched
	s.decodeErrors += o.decodeErrors
	s.lagMaxNs = max(s.lagMaxNs, o.lagMaxNs)
}

func (s *stats) reset() { *s = stats{} }

// sum adds up the requests of the mix: the reversals owed for timeouts
// are counted apart (Result.TimeoutReversals, their kind's KindResult).
func (s *stats) sum() (offered, sent, replies, timeouts, errors int64) {
	for k := range s.kinds {
		if Kind(k) == KindTimeoutReversal {
			continue
		}
		c := &s.kinds[k]
		offered += c.offered
		sent += c.sent
		replies += c.replies
		timeouts += c.timeouts
		errors += c.errors
	}
	return
}

// WriteText writes a human-readable summary of the result.
func (r *Result) WriteText(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }
	fmt.Fprintf(w, "target %s  conns %d  rate %.0f/s %s  duration %v (warmup %v)  timeout %v  cards %d  seed %d\n",
		r.Target, r.Conns, r.RatePerSec, r.Arrivals, r.Duration, r.Warmup, r.Timeout, r.Cards, r.Seed)
	fmt.Fprintf(w, "mix %s", r.Mix)
	if r.IntentsAsAuth {
		fmt.Fprint(w, " (no intents: intent share sent as auth)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "offered %d (%.0f/s)  sent %d (%.0f/s)  replies %d (%.0f/s)  timeouts %d (unsent %d)  errors %d (conn lost %d, unsent %d)\n",
		r.Offered, r.OfferedPerSec, r.Sent, r.SentPerSec, r.Replies, r.ThroughputPerSec,
		r.Timeouts, r.TimeoutsUnsent, r.Errors, r.ErrorsConnLost, r.ErrorsUnsent)
	fmt.Fprintf(w, "latency from due time: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d replies)\n",
		ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.P999), ms(r.Latency.Max), ms(r.Latency.Mean), r.Latency.Count)
	fmt.Fprintf(w, "generator send lag: p50 %s  p99 %s  max %s;  send-to-reply (for comparison only): p50 %s  p99 %s  max %s\n",
		ms(r.SendLag.P50), ms(r.SendLag.P99), ms(r.SendLag.Max), ms(r.ServiceTime.P50), ms(r.ServiceTime.P99), ms(r.ServiceTime.Max))
	fmt.Fprintf(w, "generator clock lag: p50 %s  p99 %s  max %s (at %.3fs)\n",
		ms(r.PacerLag.P50), ms(r.PacerLag.P99), ms(r.PacerLag.Max), r.PacerLagMaxAt.Seconds())
	if warn := r.PauseWarning(); warn != "" {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintf(w, "CPU per message sent: generator %s;  server %s\n", r.GeneratorCPU.text(), r.ServerCPU.text())
	fmt.Fprintf(w, "unexpected codes %d  late replies %d  unmatched %d  decode errors %d  reconnects %d  fallbacks to auth %d\n",
		r.Unexpected, r.LateReplies, r.UnmatchedReplies, r.DecodeErrors, r.Reconnects, r.Fallbacks)
	fmt.Fprintf(w, "timeouts reversed: %d reversals sent (%d owed but not sent)\n", r.TimeoutReversals, r.TimeoutReversalsUnsent)
	fmt.Fprintf(w, "codes: %s\n", formatCodes(r.Codes))
	names := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return kindOrder(names[i]) < kindOrder(names[j]) })
	for _, n := range names {
		k := r.Kinds[n]
		if k.Offered == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-16s offered %-8d replies %-8d timeouts %-6d errors %-6d expected %-8s unexpected %-6d codes %s\n",
			n, k.Offered, k.Replies, k.Timeouts, k.Errors, k.Expected, k.Unexpected, formatCodes(k.Codes))
	}
	fmt.Fprintf(w, "approvals recorded %d (dropped %d)\n", len(r.Approvals), r.ApprovalsDropped)
}

func kindOrder(name string) int {
	for i, n := range kindNames {
		if n == name {
			return i
		}
	}
	return len(kindNames)
}

func formatCodes(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
