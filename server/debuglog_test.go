package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
	"github.com/ledgersim/ledgersim/vault"
)

// lockedBuffer is a log sink the server's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDebugLogs: at debug level every HTTP request and every ISO decision
// leaves a line with what an operator needs, and no line carries a PAN, a
// CVV or a key.
func TestDebugLogs(t *testing.T) {
	var logs lockedBuffer
	e := testenv.Start(t, server.Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	_, agentID, token := e.Funded("log@example.com", 10000)
	card := e.RawCard(agentID, nil)
	c, err := testenv.DialISO(e.Server.ISOAddr())
	require.NoError(t, err)
	defer c.Close()
	rep, err := c.Call(testenv.AuthRequest(card, c.NextSTAN(), "000000000001", 250, "MERCH01", "SHOP"), 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, "00", rep.Code)
	rep, err = c.Call(testenv.AuthRequest(card, c.NextSTAN(), "000000000002", 1_000_000, "MERCH01", "SHOP"), 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, "51", rep.Code)
	got := e.Must(200, "GET", "/v1/cards/"+card.ID, nil)

	var httpLines, isoLines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		switch m["msg"] {
		case "http request":
			httpLines = append(httpLines, m)
		case "iso decision":
			isoLines = append(isoLines, m)
		}
	}
	var sawCard bool
	for _, m := range httpLines {
		require.NotEmpty(t, m["method"])
		require.NotContains(t, m["route"], card.ID, "the route pattern, not the path")
		require.Contains(t, m, "durationMs")
		require.Contains(t, m, "status")
		if m["route"] == "/v1/cards/{id}" && m["requestId"] == got.Header.Get("Request-Id") {
			sawCard = true
			require.EqualValues(t, 200, m["status"])
			require.Equal(t, "GET", m["method"])
		}
	}
	require.True(t, sawCard, "the card read is logged with its request id")
	require.Len(t, isoLines, 2)
	for i, want := range []struct{ code, reason string }{{"00", ""}, {"51", "insufficient_funds"}} {
		m := isoLines[i]
		require.Equal(t, "0100", m["mti"])
		require.Equal(t, want.code, m["code"])
		require.Equal(t, vault.Mask(card.PAN), m["pan"])
		require.Contains(t, m, "durationMs")
		if want.reason != "" {
			require.NotEmpty(t, m["reason"])
		}
	}
	all := logs.String()
	require.NotContains(t, all, card.PAN)
	require.NotContains(t, all, `"`+card.CVV+`"`)
	require.NotContains(t, all, testenv.APIKey)
	require.NotContains(t, all, token)
}
