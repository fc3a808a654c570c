// Package compare runs the side-by-side comparison: the same open-loop
// workload (loadtest.Run, the same cards, mix and seed) against several
// ISO 8583 hosts, one after the other. For each it finds the highest rate
// whose p99 stays under a bound (loadtest.Max), then runs every host at one
// common rate to compare latencies under the same load, and reports both
// with ratios to a baseline (ledgersim).
package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgersim/ledgersim/loadtest"
)

// Target is one host under comparison.
type Target struct {
	Name string `json:"name"`
	Addr string `json:"addr"` // ISO 8583 listener, host:port
	// Durable says whether the host syncs what it approved before it
	// answers; only shown in the table.
	Durable bool `json:"durable"`
}

// Defaults of Options.
const (
	DefaultBound          = 10 * time.Millisecond
	DefaultCommonFraction = 0.5
	DefaultConns          = 4
	DefaultStartRate      = 250
	DefaultCeilingRate    = 200_000
	DefaultResolution     = 0.1
	DefaultMaxTrials      = 16
	DefaultTrialWarmup    = time.Second
	DefaultTrialDuration  = 3 * time.Second
	DefaultPause          = 2 * time.Second
	DefaultCommonWarmup   = 2 * time.Second
	DefaultCommonDuration = 10 * time.Second
)

// Options configure a comparison. Zero fields take the defaults above.
type Options struct {
	Targets []Target // the first is the baseline of the ratios
	Cards   []loadtest.Card
	Mix     loadtest.Mix
	Seed    uint64
	Conns   int
	Timeout time.Duration // per request; loadtest's default when zero

	// Bound is the p99 latency a sustainable rate must keep.
	Bound time.Duration
	// The rate search (see loadtest.SearchConfig; a zero FloorRate takes
	// loadtest's default).
	StartRate, FloorRate, CeilingRate, Resolution float64
	MaxTrials                                     int
	TrialWarmup, TrialDuration, Pause             time.Duration

	// CommonRate is the rate of the fixed-rate runs; zero means
	// CommonFraction (default 0.5) of the lowest maximum found.
	CommonRate                   float64
	CommonFraction               float64
	CommonWarmup, CommonDuration time.Duration

	// Goals are floors for the baseline's highest rate over a target's,
	// by target name ("sink": 0.5 says the baseline should sustain at
	// least half of what the sink does); the report says whether each is
	// met.
	Goals map[string]float64

	// Progress receives a line per trial and per phase.
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Bound == 0 {
		o.Bound = DefaultBound
	}
	if o.Conns == 0 {
		o.Conns = DefaultConns
	}
	if o.StartRate == 0 {
		o.StartRate = DefaultStartRate
	}
	if o.CeilingRate == 0 {
		o.CeilingRate = DefaultCeilingRate
	}
	if o.Resolution == 0 {
		o.Resolution = DefaultResolution
	}
	if o.MaxTrials == 0 {
		o.MaxTrials = DefaultMaxTrials
	}
	if o.TrialWarmup == 0 {
		o.TrialWarmup = DefaultTrialWarmup
	}
	if o.TrialDuration == 0 {
		o.TrialDuration = DefaultTrialDuration
	}
	if o.Pause == 0 {
		o.Pause = DefaultPause
	}
	if o.CommonFraction == 0 {
		o.CommonFraction = DefaultCommonFraction
	}
	if o.CommonWarmup == 0 {
		o.CommonWarmup = DefaultCommonWarmup
	}
	if o.CommonDuration == 0 {
		o.CommonDuration = DefaultCommonDuration
	}
	if o.Mix == (loadtest.Mix{}) {
		o.Mix = loadtest.DefaultMix
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Summary is one fixed-rate run, reduced to what the table shows.
type Summary struct {
	RatePerSec       float64          `json:"ratePerSec"`
	ThroughputPerSec float64          `json:"throughputPerSec"`
	P50              time.Duration    `json:"p50Ns"`
	P99              time.Duration    `json:"p99Ns"`
	P999             time.Duration    `json:"p999Ns"`
	Max              time.Duration    `json:"maxNs"`
	Offered          int64            `json:"offered"`
	Replies          int64            `json:"replies"`
	Approvals        int64            `json:"approvals"` // replies with DE 39 00
	Errors           int64            `json:"errors"`    // connection and decode errors
	Timeouts         int64            `json:"timeouts"`
	Unexpected       int64            `json:"unexpected"` // replies whose DE 39 a correct host would not give
	Codes            map[string]int64 `json:"codes"`
	// CPU per request sent over the measured period, in microseconds: the
	// host's (zero when it could not be read: not on this host, say) and
	// the generator's.
	ServerCPUMicros    float64 `json:"serverCpuMicrosPerMessage"`
	GeneratorCPUMicros float64 `json:"generatorCpuMicrosPerMessage"`
}

// Summarize reduces a loadtest result.
func Summarize(r *loadtest.Result) *Summary {
	return &Summary{
		RatePerSec: r.RatePerSec, ThroughputPerSec: r.ThroughputPerSec,
		P50: r.Latency.P50, P99: r.Latency.P99, P999: r.Latency.P999, Max: r.Latency.Max,
		Offered: r.Offered, Replies: r.Replies, Approvals: r.Codes["00"],
		Errors: r.Errors + r.DecodeErrors, Timeouts: r.Timeouts, Unexpected: r.Unexpected, Codes: r.Codes,
		ServerCPUMicros: r.ServerCPU.MicrosPerMessage, GeneratorCPUMicros: r.GeneratorCPU.MicrosPerMessage,
	}
}

// TargetResult is everything measured on one target.
type TargetResult struct {
	Target
	// MaxRatePerSec is the highest rate whose trial passed (p99 under the
	// bound, no timeouts, no errors); 0 when none did.
	MaxRatePerSec float64          `json:"maxRatePerSec"`
	Trials        []loadtest.Trial `json:"trials"`
	// AtMax is the passing trial at MaxRatePerSec.
	AtMax *Summary `json:"atMax,omitempty"`
	// Common is the fixed-rate run at Report.CommonRatePerSec.
	Common *Summary `json:"common,omitempty"`
	// Error is what stopped this target's measurement, if anything.
	Error string `json:"error,omitempty"`
}

// Ratio is one target's figure over the baseline's. It is NaN, written
// to JSON as null, when either side is missing or zero.
type Ratio float64

// MarshalJSON writes NaN as null, which JSON can hold.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(r)) || math.IsInf(float64(r), 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(float64(r), 'g', 6, 64)), nil
}

// UnmarshalJSON reads null as NaN.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = Ratio(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*r = Ratio(f)
	return err
}

// Ratios compares a target with the baseline.
type Ratios struct {
	Name string `json:"name"`
	// MaxRate is the target's maximum over the baseline's: above 1, the
	// target sustains more.
	MaxRate Ratio `json:"maxRate"`
	// P99 and P50 at the common rate, the target's over the baseline's:
	// above 1, the target is slower.
	P99 Ratio `json:"p99"`
	P50 Ratio `json:"p50"`
}

// Standing is the baseline's highest sustainable rate over one other
// target's, against the goal for it.
type Standing struct {
	Name string `json:"name"`
	// Ratio is the baseline's maximum over this target's: above 1, the
	// baseline sustains more.
	Ratio Ratio `json:"ratio"`
	// Goal is the least Ratio should be; zero for none.
	Goal float64 `json:"goal,omitempty"`
	// Met says whether Ratio reaches Goal; absent without a goal or a
	// ratio.
	Met *bool `json:"met,omitempty"`
}

// ComputeStandings compares the first target's maximum with every other
// target's, against goals by name.
func ComputeStandings(ts []TargetResult, goals map[string]float64) []Standing {
	if len(ts) == 0 {
		return nil
	}
	base := ts[0]
	out := make([]Standing, 0, len(ts)-1)
	for _, t := range ts[1:] {
		st := Standing{Name: t.Name, Ratio: ratio(base.MaxRatePerSec, t.MaxRatePerSec), Goal: goals[t.Name]}
		if st.Goal > 0 && !math.IsNaN(float64(st.Ratio)) {
			met := float64(st.Ratio) >= st.Goal
			st.Met = &met
		}
		out = append(out, st)
	}
	return out
}

// Report is the whole comparison.
type Report struct {
	StartedAt        time.Time      `json:"startedAt"`
	Seconds          float64        `json:"seconds"`
	Bound            time.Duration  `json:"p99BoundNs"`
	CommonRatePerSec float64        `json:"commonRatePerSec"`
	CommonRateRule   string         `json:"commonRateRule"`
	Mix              string         `json:"mix"`
	Seed             uint64         `json:"seed"`
	Conns            int            `json:"conns"`
	Cards            int            `json:"cards"`
	Trial            string         `json:"trial"`  // warmup + duration of each search trial
	Common           string         `json:"common"` // warmup + duration of each common-rate run
	LoadAvgBefore    string         `json:"loadAvgBefore,omitempty"`
	LoadAvgAfter     string         `json:"loadAvgAfter,omitempty"`
	Baseline         string         `json:"baseline"`
	Targets          []TargetResult `json:"targets"`
	Ratios           []Ratios       `json:"ratios"`
	// Standings are the baseline's maximum over each other target's.
	Standings []Standing `json:"standings"`
}

// CommonRate is the rate every target is run at: fraction of the lowest
// positive maximum, rounded down to a whole rate, and at least 1. It
// returns 0 and false when no target has a maximum.
func CommonRate(maxima []float64, fraction float64) (float64, bool) {
	lowest := math.Inf(1)
	for _, m := range maxima {
		if m > 0 && m < lowest {
			lowest = m
		}
	}
	if math.IsInf(lowest, 1) {
		return 0, false
	}
	return max(1, math.Floor(lowest*fraction)), true
}

// ratio is a/b, NaN unless both are positive.
func ratio(a, b float64) Ratio {
	if !(a > 0 && b > 0) {
		return Ratio(math.NaN())
	}
	return Ratio(a / b)
}

var noRatio = Ratio(math.NaN())

// ComputeRatios compares every target with the first.
func ComputeRatios(ts []TargetResult) []Ratios {
	if len(ts) == 0 {
		return nil
	}
	base := ts[0]
	out := make([]Ratios, len(ts))
	for i, t := range ts {
		r := Ratios{Name: t.Name, MaxRate: ratio(t.MaxRatePerSec, base.MaxRatePerSec), P99: noRatio, P50: noRatio}
		if t.Common != nil && base.Common != nil {
			r.P99 = ratio(float64(t.Common.P99), float64(base.Common.P99))
			r.P50 = ratio(float64(t.Common.P50), float64(base.Common.P50))
		}
		out[i] = r
	}
	return out
}

// Run measures every target: first the rate searches, one target after the
// other, then a fixed-rate run of each at the common rate. A target that
// cannot be measured (it refuses connections, say) is reported with its
// error and left out of the common rate; Run fails only when the context
// ends or the options are unusable.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if len(o.Targets) == 0 {
		return nil, errors.New("compare: no targets")
	}
	if len(o.Cards) == 0 {
		return nil, errors.New("compare: no cards")
	}
	seen := map[string]bool{}
	for _, t := range o.Targets {
		if t.Name == "" || t.Addr == "" || seen[t.Name] {
			return nil, fmt.Errorf("compare: target %q: a unique name and an address are required", t.Name)
		}
		seen[t.Name] = true
	}
	start := time.Now()
	rep := &Report{
		StartedAt: start.UTC(), Bound: o.Bound, Mix: o.Mix.String(), Seed: o.Seed, Conns: o.Conns, Cards: len(o.Cards),
		Trial:         fmt.Sprintf("%v + %v", o.TrialWarmup, o.TrialDuration),
		Common:        fmt.Sprintf("%v + %v", o.CommonWarmup, o.CommonDuration),
		LoadAvgBefore: loadAvg(), Baseline: o.Targets[0].Name,
	}
	base := loadtest.Config{
		Conns: o.Conns, Mix: o.Mix, Seed: o.Seed, Cards: o.Cards, Timeout: o.Timeout,
		Search: loadtest.SearchConfig{
			StartRate: o.StartRate, FloorRate: o.FloorRate, CeilingRate: o.CeilingRate, Resolution: o.Resolution,
			MaxTrials: o.MaxTrials, Pause: o.Pause,
		},
	}
	rep.Targets = make([]TargetResult, len(o.Targets))
	maxima := make([]float64, 0, len(o.Targets))
	for i, t := range o.Targets {
		tr := &rep.Targets[i]
		tr.Target = t
		fmt.Fprintf(o.Progress, "== %s (%s): highest rate with p99 <= %v\n", t.Name, t.Addr, o.Bound)
		cfg := base
		cfg.Target, cfg.Rate, cfg.Warmup, cfg.Duration = t.Addr, o.StartRate, o.TrialWarmup, o.TrialDuration
		cfg.ServerCPU = serverCPU(t.Addr)
		mr, err := loadtest.Max(ctx, cfg, o.Bound, o.Progress)
		if mr != nil {
			tr.MaxRatePerSec, tr.Trials = mr.RatePerSec, mr.Trials
			if mr.Best != nil {
				tr.AtMax = Summarize(mr.Best)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			tr.Error = err.Error()
			fmt.Fprintf(o.Progress, "%s: %v\n", t.Name, err)
		}
		if tr.MaxRatePerSec > 0 {
			maxima = append(maxima, tr.MaxRatePerSec)
		}
		fmt.Fprintf(o.Progress, "%s: highest sustainable rate %.0f/s\n", t.Name, tr.MaxRatePerSec)
		if err := sleep(ctx, o.Pause); err != nil {
			return rep, err
		}
	}

	if o.CommonRate > 0 {
		rep.CommonRatePerSec, rep.CommonRateRule = o.CommonRate, "given"
	} else if r, ok := CommonRate(maxima, o.CommonFraction); ok {
		rep.CommonRatePerSec = r
		rep.CommonRateRule = fmt.Sprintf("%g x the lowest maximum", o.CommonFraction)
	}
	if rep.CommonRatePerSec > 0 {
		for i, t := range o.Targets {
			tr := &rep.Targets[i]
			if tr.Error != "" && tr.MaxRatePerSec == 0 {
				continue
			}
			fmt.Fprintf(o.Progress, "== %s: %v + %v at %.0f/s\n", t.Name, o.CommonWarmup, o.CommonDuration, rep.CommonRatePerSec)
			cfg := base
			cfg.Target, cfg.Rate, cfg.Warmup, cfg.Duration = t.Addr, rep.CommonRatePerSec, o.CommonWarmup, o.CommonDuration
			cfg.ServerCPU = serverCPU(t.Addr)
			cfg.MaxApprovals = -1
			res, err := loadtest.Run(ctx, cfg, nil)
			if res != nil {
				tr.Common = Summarize(res)
				fmt.Fprintf(o.Progress, "%s: p50 %s  p99 %s  p99.9 %s  timeouts %d  errors %d\n", t.Name,
					ms(res.Latency.P50), ms(res.Latency.P99), ms(res.Latency.P999), res.Timeouts, res.Errors)
			}
			if err != nil {
				if ctx.Err() != nil {
					return rep, err
				}
				tr.Error = strings.TrimSpace(tr.Error + "; common rate: " + err.Error())
			}
			if err := sleep(ctx, o.Pause); err != nil {
				return rep, err
			}
		}
	}
	rep.Ratios = ComputeRatios(rep.Targets)
	rep.Standings = ComputeStandings(rep.Targets, o.Goals)
	rep.LoadAvgAfter = loadAvg()
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// serverCPU reads the CPU of the process listening on addr, when it runs
// on this host; nil otherwise.
func serverCPU(addr string) loadtest.CPUSource {
	pid, err := loadtest.ListenerPID(addr)
	if err != nil {
		return nil
	}
	return loadtest.ProcCPU(pid)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages, or "" where the
// system does not publish them. Other work on the machine skews every
// figure, so the report records it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// busy reports whether a load average line's one-minute figure is above
// the number of CPUs.
func busy(loadAvg string) bool {
	f := strings.Fields(loadAvg)
	if len(f) == 0 {
		return false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return err == nil && v > float64(runtime.NumCPU())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func fmtRatio(r Ratio) string {
	if math.IsNaN(float64(r)) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(r))
}

func fmtMicros(v float64) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtRate(r float64) string {
	if r <= 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f/s", r)
}

// WriteTable writes the comparison as a plain-text table.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "p99 bound %v; common rate %s (%s); mix %s; %d cards; %d connections; seed %d\n",
		r.Bound, fmtRate(r.CommonRatePerSec), r.CommonRateRule, r.Mix, r.Cards, r.Conns, r.Seed)
	fmt.Fprintf(w, "search trials %s each; common-rate runs %s; ratios against %s", r.Trial, r.Common, r.Baseline)
	if r.LoadAvgBefore != "" {
		fmt.Fprintf(w, "; load average before %s, after %s", r.LoadAvgBefore, r.LoadAvgAfter)
	}
	fmt.Fprintln(w)
	if busy(r.LoadAvgBefore) || busy(r.LoadAvgAfter) {
		fmt.Fprintf(w, "warning: the machine was busy (load average above its %d CPUs): other work skews these figures\n", runtime.NumCPU())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tdurable\tmax rate\tx max\tp50\tp99\tp99.9\tx p99\tapprovals\tunexpected\ttimeouts\terrors\thost µs/msg\tgen µs/msg\t")
	ratios := map[string]Ratios{}
	for _, q := range r.Ratios {
		ratios[q.Name] = q
	}
	for _, t := range r.Targets {
		q, ok := ratios[t.Name]
		if !ok {
			q = Ratios{MaxRate: noRatio, P99: noRatio, P50: noRatio}
		}
		durable := "no"
		if t.Durable {
			durable = "yes"
		}
		p50, p99, p999, appr, unexp, tmo, errs, srvCPU, genCPU := "-", "-", "-", "-", "-", "-", "-", "-", "-"
		if c := t.Common; c != nil {
			p50, p99, p999 = ms(c.P50), ms(c.P99), ms(c.P999)
			appr, unexp = fmt.Sprint(c.Approvals), fmt.Sprint(c.Unexpected)
			tmo, errs = fmt.Sprint(c.Timeouts), fmt.Sprint(c.Errors)
			srvCPU, genCPU = fmtMicros(c.ServerCPUMicros), fmtMicros(c.GeneratorCPUMicros)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Name, durable, fmtRate(t.MaxRatePerSec),
			fmtRatio(q.MaxRate), p50, p99, p999, fmtRatio(q.P99), appr, unexp, tmo, errs, srvCPU, genCPU)
	}
	_ = tw.Flush()
	if len(r.Standings) > 0 {
		parts := make([]string, 0, len(r.Targets))
		for _, t := range r.Targets {
			parts = append(parts, t.Name+" "+fmtRate(t.MaxRatePerSec))
		}
		fmt.Fprintf(w, "highest rate with p99 <= %v: %s\n", r.Bound, strings.Join(parts, "; "))
	}
	for _, st := range r.Standings {
		goal := ""
		switch {
		case st.Met != nil && *st.Met:
			goal = fmt.Sprintf(" (goal >= %gx: met)", st.Goal)
		case st.Met != nil:
			goal = fmt.Sprintf(" (goal >= %gx: not met)", st.Goal)
		case st.Goal > 0:
			goal = fmt.Sprintf(" (goal >= %gx: no figure)", st.Goal)
		}
		fmt.Fprintf(w, "%s / %s: %s%s\n", r.Baseline, st.Name, fmtRatio(st.Ratio), goal)
	}
	for _, t := range r.Targets {
		if t.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", t.Name, t.Error)
		}
	}
}
