package api

import (
	"math"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/clock"
)

// Rate limits of the platform (its authentication page), per caller: the
// organization's key, or each agent token. They are off unless the server
// is started with --rate-limits, so a test suite is never throttled by
// surprise.
var (
	limitRead       = bucketSpec{perMinute: 100, burst: 20}
	limitWrite      = bucketSpec{perMinute: 30, burst: 10}
	limitCardCreate = bucketSpec{perMinute: 10, burst: 5}
)

type bucketSpec struct {
	perMinute float64
	burst     float64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter is a set of token buckets, one per caller and class, on the
// injected clock.
type limiter struct {
	clock clock.Clock
	mu    sync.Mutex
	b     map[string]*bucket
}

func newLimiter(c clock.Clock) *limiter { return &limiter{clock: c, b: map[string]*bucket{}} }

// take spends one token of the caller's bucket for the class, or returns
// how many seconds until one is available.
func (l *limiter) take(caller, class string, spec bucketSpec) (ok bool, retryAfter int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := caller + "|" + class
	b := l.b[k]
	if b == nil {
		b = &bucket{tokens: spec.burst, last: now}
		l.b[k] = b
	}
	rate := spec.perMinute / 60 // tokens per second
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(spec.burst, b.tokens+el*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, int(math.Ceil((1 - b.tokens) / rate))
}

// rateLimit applies the caller's limits to a request.
func (a *API) rateLimit(rc *reqCtx, method string, rt *route) error {
	if a.limits == nil {
		return nil
	}
	caller := rc.actor()
	checks := []struct {
		class string
		spec  bucketSpec
	}{{"read", limitRead}}
	if method != "GET" {
		checks[0] = struct {
			class string
			spec  bucketSpec
		}{"write", limitWrite}
		if rt.pattern == "/v1/agents/{id}/cards" {
			checks = append(checks, struct {
				class string
				spec  bucketSpec
			}{"card", limitCardCreate})
		}
	}
	for _, c := range checks {
		if ok, wait := a.limits.take(caller, c.class, c.spec); !ok {
			return &apiError{Status: 429, Type: typeRateLimit, Code: "rate_limit_exceeded", RetryAfter: wait,
				Message: "Rate limit exceeded; retry after the time in Retry-After."}
		}
	}
	return nil
}
