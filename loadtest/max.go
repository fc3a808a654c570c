package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Trial is one short open-loop run of a Max search.
type Trial struct {
	RatePerSec       float64       `json:"ratePerSec"`
	Pass             bool          `json:"pass"`
	Reason           string        `json:"reason,omitempty"` // why it failed
	P50              time.Duration `json:"p50Ns"`
	P99              time.Duration `json:"p99Ns"`
	ThroughputPerSec float64       `json:"throughputPerSec"`
	Timeouts         int64         `json:"timeouts"`
	Errors           int64         `json:"errors"`
}

// MaxResult is the outcome of a Max search.
type MaxResult struct {
	Bound time.Duration `json:"p99BoundNs"`
	// RatePerSec is the highest rate whose trial passed; 0 when none did.
	RatePerSec float64 `json:"ratePerSec"`
	Trials     []Trial `json:"trials"`
	// Best is the full result of the trial at RatePerSec.
	Best *Result `json:"best,omitempty"`
	// Stop says why the search ended: one of the Stop constants.
	Stop string `json:"stop"`
	// FloorRate and CeilingRate are the search's bounds, after defaults.
	FloorRate   float64 `json:"floorRatePerSec"`
	CeilingRate float64 `json:"ceilingRatePerSec"`
}

// Why a Max search ended.
const (
	StopResolved = "resolved"    // a passing rate within Resolution of a failing one
	StopCeiling  = "ceiling"     // the trial at CeilingRate passed
	StopFloor    = "floor"       // the trial at FloorRate failed
	StopTrials   = "trial limit" // MaxTrials ran first
	StopCanceled = "canceled"    // the context ended the search
)

// Max finds the highest rate at which the p99 latency (measured from due
// times, as in Run) stays at or under bound.
//
// It is a closed loop around short open-loop trials: each trial is a Run of
// cfg at one rate, for cfg.Warmup + cfg.Duration (so keep them short, e.g.
// 1 s + 3 s). A trial passes when its p99 is at most bound and it had no
// timeouts and no errors. The search:
//
//  1. starts at Search.StartRate (default cfg.Rate);
//  2. while every trial has passed, multiplies the rate by Search.Factor
//     (default 2), up to Search.CeilingRate;
//  3. while every trial has failed, divides it by Search.Factor, down to
//     Search.FloorRate;
//  4. once it has a passing rate below a failing one, bisects between them
//     until they are within Search.Resolution (default 5%) or one request
//     per second of each other.
//
// It stops there, when the trial at the ceiling passes, when the trial at
// the floor fails, or after Search.MaxTrials trials, pausing Search.Pause
// between trials so one trial's backlog does not leak into the next. The
// answer is the highest passing rate. Trials keep no approvals, and each
// gets its own RunID (a cfg.RunID is ignored). One line per trial goes to
// progress; MaxResult.Stop says which of these ended it.
func Max(ctx context.Context, cfg Config, bound time.Duration, progress io.Writer) (*MaxResult, error) {
	if bound <= 0 {
		return nil, errors.New("loadtest: max: the p99 bound must be positive")
	}
	if progress == nil {
		progress = io.Discard
	}
	cfg = cfg.withDefaults()
	s := cfg.Search.withDefaults(cfg.Rate, cfg.Duration)
	if err := s.validate(); err != nil {
		return nil, err
	}
	cfg.RunID = ""
	cfg.MaxApprovals = -1
	out := &MaxResult{Bound: bound, Stop: StopTrials, FloorRate: s.FloorRate, CeilingRate: s.CeilingRate}
	sr := &search{cfg: s, rate: s.StartRate}
	for n := 1; n <= s.MaxTrials; n++ {
		rate := sr.rate
		tc := cfg
		tc.Rate = rate
		res, err := Run(ctx, tc, nil)
		if err != nil {
			if ctx.Err() != nil {
				out.Stop = StopCanceled
			}
			return out, fmt.Errorf("loadtest: max: trial at %.0f/s: %w", rate, err)
		}
		t := judge(res, rate, bound)
		out.Trials = append(out.Trials, t)
		verdict := "pass"
		if !t.Pass {
			verdict = "fail: " + t.Reason
		}
		fmt.Fprintf(progress, "trial %2d  rate %9.0f/s  achieved %9.0f/s  p50 %8.3fms  p99 %8.3fms  %s\n",
			n, rate, t.ThroughputPerSec, float64(t.P50)/1e6, float64(t.P99)/1e6, verdict)
		if t.Pass {
			out.RatePerSec, out.Best = rate, res
		}
		if stop := sr.next(t.Pass); stop != "" {
			out.Stop = stop
			return out, nil
		}
		select {
		case <-ctx.Done():
			out.Stop = StopCanceled
			return out, ctx.Err()
		case <-time.After(s.Pause):
		}
	}
	return out, nil
}

// search is the rate search of Max, apart from running trials.
type search struct {
	cfg    SearchConfig
	rate   float64 // the rate to try next
	lo, hi float64 // highest passing, lowest failing; 0 = none yet
}

// next records the verdict on s.rate and picks the next rate; when the
// search is over it says why instead (a Stop constant).
func (s *search) next(pass bool) (stop string) {
	if pass {
		s.lo = s.rate
	} else {
		s.hi = s.rate
	}
	switch {
	case s.hi == 0:
		if s.rate >= s.cfg.CeilingRate {
			return StopCeiling
		}
		s.rate = min(s.rate*s.cfg.Factor, s.cfg.CeilingRate)
	case s.lo == 0:
		// When a trial fails for a reason the rate does not drive (a
		// disk's sync tail, a paused machine), every lower rate fails
		// too; the floor keeps that from running on to a few requests
		// per second.
		if s.rate <= s.cfg.FloorRate {
			return StopFloor
		}
		s.rate = max(s.rate/s.cfg.Factor, s.cfg.FloorRate)
	default:
		// Closer than Resolution, or than one request per second,
		// is closer than the noise of a short trial.
		if s.hi-s.lo <= max(s.cfg.Resolution*s.lo, 1) {
			return StopResolved
		}
		s.rate = (s.lo + s.hi) / 2
	}
	return ""
}

// judge decides whether a trial passed.
func judge(res *Result, rate float64, bound time.Duration) Trial {
	t := Trial{RatePerSec: rate, P50: res.Latency.P50, P99: res.Latency.P99, ThroughputPerSec: res.ThroughputPerSec,
		Timeouts: res.Timeouts, Errors: res.Errors + res.DecodeErrors}
	switch {
	case t.Timeouts > 0:
		t.Reason = fmt.Sprintf("%d timeouts", t.Timeouts)
	case t.Errors > 0:
		t.Reason = fmt.Sprintf("%d errors", t.Errors)
	case res.Replies == 0:
		t.Reason = "no replies"
	case t.P99 > bound:
		t.Reason = fmt.Sprintf("p99 %.3fms over %.3fms", float64(t.P99)/1e6, float64(bound)/1e6)
	default:
		t.Pass = true
	}
	return t
}
