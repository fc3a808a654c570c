package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/store"
)

// DefaultSchedule is the wait after each failed attempt: the first retry
// comes 10 s after the first failure, the ninth (the tenth and last
// attempt) about 68.6 hours after it, so an event is tried for about three
// days. Each wait is stretched or shrunk by up to Config.JitterFraction.
var DefaultSchedule = []time.Duration{
	10 * time.Second,
	time.Minute,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	6 * time.Hour,
	12 * time.Hour,
	24 * time.Hour,
	24 * time.Hour,
}

// Config wires a Service. Every field documents its default and unit.
type Config struct {
	// Store keeps the endpoints, their queues and delivery logs, and the
	// cursor in the decision log. Required.
	Store *store.DB
	// Log is the decision log whose events are delivered (the ledger).
	// Required.
	Log EventLog
	// Clock tells the time of every decision. Required.
	Clock clock.Clock
	// Logger receives operational messages (never a secret, a body or a
	// URL). Default: discard.
	Logger *slog.Logger

	// Timeout bounds one attempt, from connecting to reading the response.
	// Default 30 s, the platform's "2xx within 30 seconds".
	Timeout time.Duration
	// Schedule is the wait after each failed attempt; an event is attempted
	// at most len(Schedule)+1 times. Default DefaultSchedule.
	Schedule []time.Duration
	// JitterFraction spreads each wait uniformly over ±JitterFraction of
	// it, so that receivers coming back are not hit by every retry at once.
	// Range [0, 1). Default 0.2.
	JitterFraction float64
	// Rand returns a uniform number in [0, 1) for the jitter. Default
	// math/rand/v2.Float64. Tests pass a constant 0.5 for no jitter.
	Rand func() float64
	// RotationOverlap is how long the previous secret keeps signing after a
	// rotation. Default 24 h.
	RotationOverlap time.Duration

	// MaxEndpoints bounds the number of endpoints. Default 100.
	MaxEndpoints int
	// MaxInFlight bounds the attempts in flight at once, all endpoints
	// together. An attempt counts from its start until its outcome is
	// recorded. Default 32.
	MaxInFlight int
	// MaxInFlightPerEndpoint bounds the attempts in flight at once to one
	// endpoint while it has fallen behind (see the ordering rule in the
	// package docs); otherwise an endpoint has one at a time. 1 keeps every
	// endpoint at one at a time. Default 16.
	MaxInFlightPerEndpoint int
	// MaxBufferedPerEndpoint bounds the queue records of one endpoint held
	// in memory. An endpoint whose queue is longer has fallen behind.
	// Default 256 (MaxBuffered when that is smaller).
	MaxBufferedPerEndpoint int
	// MaxBuffered bounds the queue records held in memory in total.
	// Default 4096. Must be at least MaxBufferedPerEndpoint.
	MaxBuffered int
	// FanOutBatch is about how many events fan-out queues in one synced
	// batch: a batch ends after the record that reaches it (a record's
	// events are never split). Default 256.
	FanOutBatch int
	// MaxDeliveryLog is how many delivery-log records are kept per
	// endpoint; older ones are pruned. Default 10000.
	MaxDeliveryLog int
	// PollInterval is the longest the dispatcher sleeps without looking for
	// due work; it also bounds how late a virtual-clock advance is noticed
	// when nobody calls Kick. Default 1 s.
	PollInterval time.Duration
	// Client sends the attempts, each with a deadline Timeout after it
	// starts. Default: a fasthttp client that does not follow redirects (a
	// 3xx is a failed attempt) and whose connections Close cuts. Close
	// waits for an injected client's attempts in flight to end (at their
	// deadline at the latest).
	Client Doer
	// OnAttempt, when set, is told the outcome of every recorded attempt
	// (AttemptSucceeded, AttemptRetrying, AttemptExhausted, AttemptGone)
	// and how long it took (metrics). It is called with the service's lock
	// held, so it must not call back into the service.
	OnAttempt func(outcome string, latency time.Duration)
}

// Attempt outcomes passed to Config.OnAttempt.
const (
	AttemptSucceeded = "succeeded" // a 2xx: delivered
	AttemptRetrying  = "retrying"  // failed; another attempt is scheduled
	AttemptExhausted = "exhausted" // failed, and it was the last attempt
	AttemptGone      = "gone"      // HTTP 410: the endpoint is disabled
)

// AttemptOutcomes lists every outcome, so that an observer can create its
// series before the first attempt.
var AttemptOutcomes = []string{AttemptSucceeded, AttemptRetrying, AttemptExhausted, AttemptGone}

func (c *Config) validate() error {
	if c.Store == nil || c.Clock == nil || c.Log == nil {
		return errors.New("webhook: Store, Log and Clock are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Schedule == nil {
		c.Schedule = DefaultSchedule
	}
	if c.JitterFraction == 0 {
		c.JitterFraction = 0.2
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.RotationOverlap == 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if c.MaxEndpoints == 0 {
		c.MaxEndpoints = 100
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 32
	}
	if c.MaxInFlightPerEndpoint == 0 {
		c.MaxInFlightPerEndpoint = 16
	}
	if c.MaxBufferedPerEndpoint == 0 {
		c.MaxBufferedPerEndpoint = 256
		if c.MaxBuffered != 0 && c.MaxBuffered < c.MaxBufferedPerEndpoint {
			c.MaxBufferedPerEndpoint = c.MaxBuffered
		}
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = 4096
	}
	if c.FanOutBatch == 0 {
		c.FanOutBatch = 256
	}
	if c.MaxDeliveryLog == 0 {
		c.MaxDeliveryLog = 10000
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("webhook: Timeout must be positive, got %s", c.Timeout)
	case len(c.Schedule) == 0 || len(c.Schedule) > 100:
		return fmt.Errorf("webhook: Schedule must have 1..100 steps, got %d", len(c.Schedule))
	case c.JitterFraction < 0 || c.JitterFraction >= 1:
		return fmt.Errorf("webhook: JitterFraction must be in [0, 1), got %g", c.JitterFraction)
	case c.RotationOverlap < 0:
		return fmt.Errorf("webhook: RotationOverlap must not be negative, got %s", c.RotationOverlap)
	case c.MaxEndpoints < 1 || c.MaxEndpoints > 10000:
		return fmt.Errorf("webhook: MaxEndpoints must be 1..10000, got %d", c.MaxEndpoints)
	case c.MaxInFlight < 1 || c.MaxInFlight > 4096:
		return fmt.Errorf("webhook: MaxInFlight must be 1..4096, got %d", c.MaxInFlight)
	case c.MaxInFlightPerEndpoint < 1 || c.MaxInFlightPerEndpoint > 4096:
		return fmt.Errorf("webhook: MaxInFlightPerEndpoint must be 1..4096, got %d", c.MaxInFlightPerEndpoint)
	case c.MaxBufferedPerEndpoint < 1:
		return fmt.Errorf("webhook: MaxBufferedPerEndpoint must be positive, got %d", c.MaxBufferedPerEndpoint)
	case c.MaxBuffered < c.MaxBufferedPerEndpoint:
		return fmt.Errorf("webhook: MaxBuffered (%d) must be at least MaxBufferedPerEndpoint (%d)", c.MaxBuffered, c.MaxBufferedPerEndpoint)
	case c.FanOutBatch < 1 || c.FanOutBatch > 10000:
		return fmt.Errorf("webhook: FanOutBatch must be 1..10000, got %d", c.FanOutBatch)
	case c.MaxDeliveryLog < 1:
		return fmt.Errorf("webhook: MaxDeliveryLog must be positive, got %d", c.MaxDeliveryLog)
	case c.PollInterval < time.Millisecond:
		return fmt.Errorf("webhook: PollInterval must be at least 1ms, got %s", c.PollInterval)
	}
	for i, d := range c.Schedule {
		if d <= 0 {
			return fmt.Errorf("webhook: Schedule[%d] must be positive, got %s", i, d)
		}
	}
	return nil
}

// Backoff is the wait after the given failed attempt (1-based) under
// schedule, with r in [0, 1) choosing a point in ±jitter of it. ok is false
// when that attempt was the last.
func Backoff(schedule []time.Duration, jitter float64, attempt int, r float64) (wait time.Duration, ok bool) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, false
	}
	base := schedule[attempt-1]
	f := 1 + jitter*(2*r-1)
	return time.Duration(float64(base) * f), true
}
