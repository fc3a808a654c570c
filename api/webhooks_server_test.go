package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

// TestWebhooksThroughTheServer runs the whole server on a virtual clock:
// ledger changes reach a real receiver signed, a failed delivery is retried
// when the clock is advanced through the API, and events recorded before a
// restart are still delivered after it. It skips while the server does not
// wire webhook delivery.
func TestWebhooksThroughTheServer(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	var (
		mu     sync.Mutex
		failed bool
		got    []*http.Request
		bodies [][]byte
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, body)
		if !failed { // the first attempt fails
			failed = true
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(rcv.Close)

	r := e.Do("POST", "/v1/webhooks", map[string]any{"url": rcv.URL, "events": []string{"user.approved"}})
	// A 404 or 503 here is broken wiring (the routes or the service not
	// bound), a failure like any other.
	require.Equal(t, 201, r.Status, "%s", r.Body)
	secret := r.Str("secret")
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	userID, _, _ := e.Funded("hooks@example.com", 0)
	require.Eventually(t, func() bool { return count() == 1 }, 30*time.Second, 5*time.Millisecond)
	// The retry is scheduled when the failure is recorded, after the
	// receiver answered: advance the clock only once it is, or the retry
	// would fall after the advanced time.
	hookID := r.Str("id")
	require.Eventually(t, func() bool {
		return len(e.Must(200, "GET", "/v1/webhooks/"+hookID+"/deliveries", nil).Data()) == 1
	}, 30*time.Second, 5*time.Millisecond)
	e.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 1})
	require.Eventually(t, func() bool { return count() == 2 }, 30*time.Second, 5*time.Millisecond)

	now := time.UnixMilli(e.Must(200, "GET", "/v1/simulate/clock", nil).Num("now"))
	mu.Lock()
	for i, req := range got {
		require.Equal(t, "user.approved", req.Header.Get("X-Ledger-Event-Type"))
		require.NoError(t, signature.Verify(req.Header.Get("X-Ledger-Signature"), bodies[i], []string{secret}, now, signature.DefaultTolerance))
	}
	evtID := got[0].Header.Get("X-Ledger-Event-Id")
	mu.Unlock()
	ev := e.Must(200, "GET", "/v1/events/"+evtID, nil)
	require.Equal(t, userID, ev.JSON["data"].(map[string]any)["userId"])

	// The second attempt is recorded after the receiver has answered it,
	// so the log may lag the receiver's count for a moment.
	var log []map[string]any
	require.Eventually(t, func() bool {
		log = e.Must(200, "GET", "/v1/webhooks/"+hookID+"/deliveries", nil).Data()
		return len(log) == 2
	}, 30*time.Second, 5*time.Millisecond)
	require.Equal(t, "succeeded", log[0]["status"])
	require.Equal(t, "failed", log[1]["status"])

	// After a restart the endpoint, its log and delivery all carry on.
	e.Restart()
	require.Len(t, e.Must(200, "GET", "/v1/webhooks/"+hookID+"/deliveries", nil).Data(), 2)
	e.Funded("hooks2@example.com", 0)
	require.Eventually(t, func() bool { return count() == 3 }, 30*time.Second, 5*time.Millisecond)
}
