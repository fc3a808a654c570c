package loadtest

import (
	"fmt"
	"math/rand/v2"
)

// Arrivals selects how request due times are spaced.
type Arrivals uint8

const (
	// Constant spaces requests exactly 1/rate apart (the zero value).
	Constant Arrivals = iota
	// Poisson draws exponential gaps with mean 1/rate, the arrival
	// pattern of many independent clients; its bursts are what queues
	// are made of.
	Poisson
)

// String returns the name ParseArrivals accepts.
func (a Arrivals) String() string {
	switch a {
	case Constant:
		return "constant"
	case Poisson:
		return "poisson"
	}
	return fmt.Sprintf("Arrivals(%d)", uint8(a))
}

// ParseArrivals turns "constant" or "poisson" into an Arrivals.
func ParseArrivals(s string) (Arrivals, error) {
	switch s {
	case "constant":
		return Constant, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("loadtest: unknown arrivals %q (want constant or poisson)", s)
}

// MarshalText and UnmarshalText make Arrivals readable in JSON results.
func (a Arrivals) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses what MarshalText wrote.
func (a *Arrivals) UnmarshalText(b []byte) error {
	v, err := ParseArrivals(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// schedule yields the due times of one connection's requests, in
// nanoseconds from the start of the run. The run's rate is split evenly
// over its connections: with constant arrivals connection i of n sends at
// (i + k*n)/rate, so the connections interleave into one evenly spaced
// stream; with Poisson arrivals each connection is an independent Poisson
// process at rate/n, and the superposition of independent Poisson
// processes is a Poisson process at the full rate.
//
// Due times depend only on the configuration and the seed, never on how
// fast anything is sent or answered: that is what makes the load open-loop.
type schedule struct {
	poisson bool
	gapNs   float64 // mean gap between this connection's requests
	phaseNs float64
	k       int64   // index of the next constant arrival
	nextNs  float64 // due time of the next request
	rng     *rand.Rand
}

// newSchedule returns the schedule of connection conn of conns at a total
// rate of ratePerSec.
func newSchedule(a Arrivals, ratePerSec float64, conn, conns int, rng *rand.Rand) *schedule {
	s := &schedule{
		poisson: a == Poisson,
		gapNs:   float64(conns) * 1e9 / ratePerSec,
		phaseNs: float64(conn) * 1e9 / ratePerSec,
		rng:     rng,
	}
	if s.poisson {
		s.nextNs = s.rng.ExpFloat64() * s.gapNs
	} else {
		s.nextNs = s.phaseNs
	}
	return s
}

// peek returns the due time of the next request.
func (s *schedule) peek() int64 { return int64(s.nextNs) }

// advance moves to the request after the one peek returns. Constant due
// times are computed as phase + k*gap rather than by adding gaps, so that
// rounding does not accumulate over millions of requests.
func (s *schedule) advance() {
	if s.poisson {
		s.nextNs += s.rng.ExpFloat64() * s.gapNs
		return
	}
	s.k++
	s.nextNs = s.phaseNs + float64(s.k)*s.gapNs
}
