package loadtest

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ledgersim/ledgersim/iso"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultConns              = 4
	DefaultRate               = 1000.0
	DefaultDuration           = 10 * time.Second
	DefaultTimeout            = 2 * time.Second
	DefaultMaxInFlightPerConn = 4096
	DefaultMaxApprovals       = 1_000_000
	DefaultDialTimeout        = 2 * time.Second
	DefaultTick               = time.Millisecond
)

// Bounds on Config values, so that a typo cannot ask for a run the machine
// cannot hold.
const (
	maxConns           = 4096
	maxRate            = 10_000_000.0
	maxDuration        = 24 * time.Hour
	maxInFlightPerConn = 1 << 20
	maxTick            = 10 * time.Millisecond
)

// The default floor of a Max search: a trial needs floorSamples requests in
// its window for its p99 to rest on ten samples above it.
const (
	floorSamples = 1000
	minFloorRate = 1
)

// Config configures a run. The zero value of every field except Target and
// Cards takes the default in its comment.
type Config struct {
	// Target is the ISO 8583 listener, host:port. Required.
	Target string
	// Framing is the length header: iso.Binary2 (default), iso.ASCII4,
	// iso.Binary4 or iso.Binary2TPDU. With a TPDU every request carries
	// iso.DefaultTPDU, and a reply whose TPDU is not its swap counts as a
	// decode error.
	Framing iso.Framing
	// Conns is how many TCP connections the rate is spread over. Default 4,
	// at most 4096.
	Conns int
	// Rate is the total number of requests due per second. Default 1000.
	Rate float64
	// Arrivals spaces the due times: Constant (default) or Poisson.
	Arrivals Arrivals
	// Duration is the measured part of the run. Default 10 s.
	Duration time.Duration
	// Warmup runs before Duration at the same rate; requests due in it are
	// sent and answered but left out of every result except the per-second
	// series (marked as warmup) and the approvals. Default 0.
	Warmup time.Duration
	// Timeout is how long after its due time a request may go unanswered
	// before it counts as a timeout. Default 2 s, at most 60 s.
	Timeout time.Duration
	// Mix is the share of each message kind. The zero Mix is DefaultMix.
	Mix Mix
	// Seed seeds every random choice (arrival gaps, kinds, cards,
	// amounts), so two runs with the same seed offer the same load.
	Seed uint64
	// Cards are the cards to spend with (from Provision, LoadState or
	// SyntheticCards). Required.
	Cards []Card
	// MaxInFlightPerConn bounds one connection's window: the requests
	// between the oldest unanswered one and the newest. When it is full
	// the connection sends nothing more until a reply or a timeout frees
	// a place; requests falling due meanwhile are sent late, still timed
	// from their due time. Default 4096.
	MaxInFlightPerConn int
	// MaxApprovals bounds Result.Approvals; approvals beyond it are only
	// counted (Result.ApprovalsDropped). Default 1,000,000; negative
	// keeps none.
	MaxApprovals int
	// DialTimeout bounds each connection attempt. Default 2 s.
	DialTimeout time.Duration
	// Tick is the shortest interval between two wake-ups of the
	// generator's clock. At each wake-up every request due by then goes
	// out, in one write per connection; a request waits for its tick at
	// most Tick, and that wait is part of its latency, which runs from
	// its due time (Result.SendLag shows it). When requests fall due
	// further apart than Tick, the clock wakes at each due time and adds
	// nothing. A longer tick costs the generator less CPU per request at
	// high rates: on the project's 2-core machine at 20,000/s over 4
	// connections, about 10-14 µs per request at 1 ms and 14-27 µs at
	// 250 µs. Default 1 ms, at most 10 ms.
	Tick time.Duration
	// RunID is the first six characters of every RRN (DE 37), to keep this
	// run's references apart from earlier runs' on the same server. It
	// must be 6 upper-case letters or digits. Default: the start time in
	// seconds, base 36, made unique within the process.
	RunID string
	// ServerCPU, when set, is read at the start of the measured period and
	// at the end of the schedule, and Result.ServerCPU reports the server's
	// CPU per request sent (ProcCPU with ListenerPID when the server runs
	// on this host, MetricsCPU otherwise). The generator's own CPU is
	// always reported.
	ServerCPU CPUSource
	// Search tunes Max; Run ignores it.
	Search SearchConfig

	// pacerStall, set only by tests, holds the pacer up once, for For,
	// when it first finds a request due At or later: the pause a
	// descheduled generator suffers, made on purpose.
	pacerStall struct{ At, For time.Duration }
	// sendBufferBytes, set only by tests, fixes each connection's kernel
	// send buffer (SO_SNDBUF), which otherwise grows to megabytes, so
	// that a server that stops reading makes writes come back short soon.
	sendBufferBytes int
}

// SearchConfig tunes Max. Zero fields take the default in their comment.
type SearchConfig struct {
	// StartRate is the first trial's rate. Default Config.Rate.
	StartRate float64
	// CeilingRate stops the upward search. Default 1,000,000.
	CeilingRate float64
	// FloorRate stops the downward search: when a trial at FloorRate
	// fails, no lower rate is tried. Default: the rate at which one
	// trial's measured window (Config.Duration) holds 1,000 requests,
	// below which a trial's p99 rests on fewer than ten samples above it
	// and says more about one stray pause than about the host; never
	// above StartRate, never below 1 per second.
	FloorRate float64
	// Factor multiplies the rate after each passing trial while no trial
	// has failed yet. Default 2.
	Factor float64
	// Resolution ends the binary search once the gap between the highest
	// passing and the lowest failing rate is at most this fraction of the
	// passing one. Default 0.05.
	Resolution float64
	// MaxTrials bounds the number of trials. Default 20.
	MaxTrials int
	// Pause separates trials, so that one trial's backlog on the server
	// does not leak into the next. Default 1 s.
	Pause time.Duration
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Conns == 0 {
		c.Conns = DefaultConns
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	if c.MaxInFlightPerConn == 0 {
		c.MaxInFlightPerConn = DefaultMaxInFlightPerConn
	}
	if c.MaxApprovals == 0 {
		c.MaxApprovals = DefaultMaxApprovals
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	return c
}

// validate rejects a configuration that cannot work, after withDefaults.
func (c Config) validate() error {
	if c.Target == "" {
		return errors.New("loadtest: config: Target is required")
	}
	if _, _, err := net.SplitHostPort(c.Target); err != nil {
		return fmt.Errorf("loadtest: config: Target %q is not host:port", c.Target)
	}
	if !c.Framing.Valid() {
		return fmt.Errorf("loadtest: config: unknown Framing %d", uint8(c.Framing))
	}
	if c.Conns < 1 || c.Conns > maxConns {
		return fmt.Errorf("loadtest: config: Conns %d out of range [1, %d]", c.Conns, maxConns)
	}
	if !(c.Rate > 0 && c.Rate <= maxRate) {
		return fmt.Errorf("loadtest: config: Rate %g out of range (0, %g]", c.Rate, maxRate)
	}
	if c.Arrivals != Constant && c.Arrivals != Poisson {
		return fmt.Errorf("loadtest: config: unknown Arrivals %d", uint8(c.Arrivals))
	}
	if c.Duration <= 0 || c.Duration > maxDuration {
		return fmt.Errorf("loadtest: config: Duration %v out of range (0, %v]", c.Duration, maxDuration)
	}
	if c.Warmup < 0 || c.Warmup > maxDuration {
		return fmt.Errorf("loadtest: config: Warmup %v out of range [0, %v]", c.Warmup, maxDuration)
	}
	if c.Timeout < time.Millisecond || c.Timeout > HistogramMax {
		return fmt.Errorf("loadtest: config: Timeout %v out of range [1ms, %v]", c.Timeout, HistogramMax)
	}
	if err := c.Mix.validate(); err != nil {
		return err
	}
	if len(c.Cards) == 0 {
		return errors.New("loadtest: config: Cards is empty")
	}
	if c.MaxInFlightPerConn < 1 || c.MaxInFlightPerConn > maxInFlightPerConn {
		return fmt.Errorf("loadtest: config: MaxInFlightPerConn %d out of range [1, %d]", c.MaxInFlightPerConn, maxInFlightPerConn)
	}
	if c.Tick <= 0 || c.Tick > maxTick {
		return fmt.Errorf("loadtest: config: Tick %v out of range (0, %v]", c.Tick, maxTick)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("loadtest: config: DialTimeout %v is negative", c.DialTimeout)
	}
	if c.RunID != "" && !validRunID(c.RunID) {
		return fmt.Errorf("loadtest: config: RunID %q must be 6 characters 0-9 or A-Z", c.RunID)
	}
	for i := range c.Cards {
		if err := c.Cards[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

func validRunID(s string) bool {
	if len(s) != runIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'A' && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

func (s SearchConfig) withDefaults(rate float64, window time.Duration) SearchConfig {
	if s.StartRate == 0 {
		s.StartRate = rate
	}
	if s.FloorRate == 0 {
		s.FloorRate = minFloorRate
		if window > 0 {
			s.FloorRate = max(floorSamples/window.Seconds(), minFloorRate)
		}
		s.FloorRate = min(s.FloorRate, s.StartRate)
	}
	if s.CeilingRate == 0 {
		s.CeilingRate = 1_000_000
	}
	if s.Factor == 0 {
		s.Factor = 2
	}
	if s.Resolution == 0 {
		s.Resolution = 0.05
	}
	if s.MaxTrials == 0 {
		s.MaxTrials = 20
	}
	if s.Pause == 0 {
		s.Pause = time.Second
	}
	return s
}

func (s SearchConfig) validate() error {
	switch {
	case !(s.StartRate > 0 && s.StartRate <= maxRate):
		return fmt.Errorf("loadtest: search: StartRate %g out of range (0, %g]", s.StartRate, maxRate)
	case !(s.CeilingRate >= s.StartRate && s.CeilingRate <= maxRate):
		return fmt.Errorf("loadtest: search: CeilingRate %g out of range [StartRate, %g]", s.CeilingRate, maxRate)
	case !(s.FloorRate >= minFloorRate && s.FloorRate <= s.StartRate):
		return fmt.Errorf("loadtest: search: FloorRate %g out of range [%g, StartRate]", s.FloorRate, float64(minFloorRate))
	case !(s.Factor > 1):
		return fmt.Errorf("loadtest: search: Factor %g must be above 1", s.Factor)
	case !(s.Resolution > 0 && s.Resolution < 1):
		return fmt.Errorf("loadtest: search: Resolution %g out of range (0, 1)", s.Resolution)
	case s.MaxTrials < 1 || s.MaxTrials > 1000:
		return fmt.Errorf("loadtest: search: MaxTrials %d out of range [1, 1000]", s.MaxTrials)
	case s.Pause < 0:
		return fmt.Errorf("loadtest: search: Pause %v is negative", s.Pause)
	}
	return nil
}
