package webhook

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestAttemptOutcomesAndQueueDepth: every recorded attempt is reported
// with its outcome, and the queue depth follows the durable queue, across
// a restart too.
func TestAttemptOutcomesAndQueueDepth(t *testing.T) {
	var mu sync.Mutex
	var outcomes []string
	h := newHarness(t, func(c *Config) {
		c.Schedule = []time.Duration{10 * time.Second} // two attempts in all
		c.OnAttempt = func(outcome string, latency time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, outcome)
		}
	})
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), outcomes...)
	}
	failing := newReceiver(t, func(int, *http.Request) int { return 500 })
	ok := newReceiver(t, nil)
	h.endpoint(failing.url(), model.EvtUserApproved)
	h.endpoint(ok.url(), model.EvtUserApproved)
	require.Zero(t, h.svc.QueueDepth())

	h.event(model.EvtUserApproved, nil)
	h.settle()
	require.ElementsMatch(t, []string{AttemptSucceeded, AttemptRetrying}, seen())
	require.EqualValues(t, 1, h.svc.QueueDepth(), "the failed delivery waits for its retry")
	require.EqualValues(t, h.count([]byte(pQueue)), h.svc.QueueDepth())

	h.restart()
	require.EqualValues(t, 1, h.svc.QueueDepth(), "counted from the store on start")
	h.advance(10 * time.Second)
	require.Equal(t, AttemptExhausted, seen()[len(seen())-1])
	require.Zero(t, h.svc.QueueDepth())

	gone := newReceiver(t, func(int, *http.Request) int { return 410 })
	h.endpoint(gone.url(), model.EvtUserApproved)
	h.event(model.EvtUserApproved, nil)
	h.settle()
	require.Contains(t, seen(), AttemptGone)
	// The 410's delivery is held with its disabled endpoint; the other
	// failing one waits for its retry.
	require.EqualValues(t, h.count([]byte(pQueue)), h.svc.QueueDepth())
}
