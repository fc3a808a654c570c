package api_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

func TestRateLimits(t *testing.T) {
	e := testenv.Start(t, server.Config{RateLimits: true, Clock: "virtual"})
	// Reads: a burst of 20, then 429 with Retry-After; refill at 100 a minute.
	for i := 0; i < 20; i++ {
		e.Must(200, "GET", "/v1/users", nil)
	}
	r := e.Must(429, "GET", "/v1/users", nil)
	require.Equal(t, "rate_limit_exceeded", r.ErrCode())
	require.Equal(t, "rate_limit_error", r.JSON["error"].(map[string]any)["type"])
	require.Equal(t, "1", r.Header.Get("Retry-After"), "one read comes back every 0.6 s")
	require.EqualValues(t, 1000, r.Num("retryAfter"))
	e.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 1}, "Api-Key", testenv.APIKey)

	// Writes: the minute the clock moved refilled the bucket to its burst of
	// 10; the 11th write is refused.
	for i := 0; i < 10; i++ {
		e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "R", "lastName": "L", "email": fmt.Sprintf("r%d@example.com", i)})
	}
	r = e.Must(429, "POST", "/v1/users", map[string]any{"firstName": "R", "lastName": "L", "email": "late@example.com"})
	require.Equal(t, "2", r.Header.Get("Retry-After"), "one write comes back every 2 s")
	require.Len(t, e.Must(200, "GET", "/v1/users?limit=100", nil).Data(), 10, "a refused write applied nothing")

	// Without the flag nothing is limited.
	free := testenv.Start(t, server.Config{})
	for i := 0; i < 40; i++ {
		free.Must(200, "GET", "/v1/users", nil)
	}
}
