package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
	"github.com/ledgersim/ledgersim/store"
)

// syncBuffer is a log sink safe for the server's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoCardDataAtRest runs traffic that carries PANs and CVV2s (good and
// bad ones, card details reads, errors) and then looks for card data and
// secrets everywhere they could leak: every value in the store, the raw
// files of the data directory (WAL included), the logs, and the error
// responses.
func TestNoCardDataAtRest(t *testing.T) {
	logs := &syncBuffer{}
	dir := t.TempDir()
	e := testenv.Start(t, server.Config{DataDir: dir, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var hookMu sync.Mutex
	var hookBodies []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hookBodies = append(hookBodies, string(b)+" "+fmt.Sprint(r.Header))
		hookMu.Unlock()
	}))
	defer recv.Close()
	e.Must(201, "POST", "/v1/webhooks", map[string]any{"url": recv.URL, "description": "scan"})
	_, agentID, agentTok := e.Funded("s@example.com", 100000)
	cards := []testenv.Card{e.RawCard(agentID, nil), e.RawCard(agentID, nil)}
	ext := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "ext", "type": "single"}).Str("id")
	tok := e.Must(200, "POST", "/v1/cards/"+ext+"/details", map[string]any{"summary": "x"}).Str("detailsToken")
	extPAN := e.Must(200, "POST", "/v1/extension/redeem", map[string]any{"detailsToken": tok}).Str("pan")
	minted := e.Must(201, "POST", "/v1/agents/"+agentID+"/tokens", map[string]any{"name": "n"}).Str("token")

	c, err := testenv.DialISO(e.Server.ISOAddr())
	require.NoError(t, err)
	defer c.Close()
	var errorBodies []string
	for i, card := range cards {
		for j := 0; j < 5; j++ {
			req := testenv.AuthRequest(card, c.NextSTAN(), fmt.Sprintf("%02d%010d", i, j), 1000, "MID000000000001", "CAFE")
			if j == 1 {
				req.CVV2 = fmt.Sprintf("%03d", (atoi(card.CVV)+1)%1000) // a wrong CVV2
			}
			if j == 2 {
				req.Expiry = "0101"
			}
			_, err := c.Call(req, 10*time.Second)
			require.NoError(t, err)
		}
		// A PAN sent where an ID belongs must not come back, nor be logged.
		r := e.Do("POST", "/v1/simulate/authorization", map[string]any{"cardId": card.PAN, "amount": 1})
		errorBodies = append(errorBodies, string(r.Body))
		r = e.Do("GET", "/v1/cards/"+card.PAN, nil)
		errorBodies = append(errorBodies, string(r.Body))
		r = e.Do("GET", "/v1/transactions?agentId="+card.PAN, nil, "Api-Key", agentTok)
		errorBodies = append(errorBodies, string(r.Body))
		// Nor in the path of a route that does not exist, nor as the name
		// of a parameter no route takes (in the message and in param).
		r = e.Do("GET", "/v1/"+card.PAN, nil)
		errorBodies = append(errorBodies, string(r.Body))
		r = e.Do("POST", "/v1/users", `{"firstName":"a","lastName":"b","email":"s@example.com","`+card.PAN+`":1}`)
		errorBodies = append(errorBodies, string(r.Body))
		r = e.Do("GET", "/v1/transactions?"+card.PAN+"=1", nil)
		errorBodies = append(errorBodies, string(r.Body))
	}
	// Wait until the receiver has every event delivered so far.
	events := len(e.Must(200, "GET", "/v1/events?limit=100", nil).Data())
	deadline := time.Now().Add(30 * time.Second)
	for {
		hookMu.Lock()
		got := len(hookBodies)
		hookMu.Unlock()
		if got >= events || time.Now().After(deadline) {
			require.GreaterOrEqual(t, got, events, "every event reaches the receiver")
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.Stop()

	secrets := map[string]string{testenv.APIKey: "API key", agentTok: "agent token", minted: "agent token", tok: "details token", extPAN: "PAN"}
	for _, card := range cards {
		secrets[card.PAN] = "PAN"
	}
	check := func(where, text string) {
		t.Helper()
		for s, what := range secrets {
			require.NotContains(t, text, s, "%s found in %s", what, where)
		}
		for _, card := range cards {
			require.NotContains(t, text, `"cvv":"`+card.CVV+`"`, "a CVV in %s", where)
			require.NotContains(t, text, "92"+"03"+card.CVV, "a DE 48 CVV2 in %s", where)
		}
	}

	// Every value in the store, decompressed.
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	n := 0
	require.NoError(t, db.Scan(nil, "", false, func(k, v []byte) bool {
		n++
		check("store key "+string(k), string(k))
		check("store value under "+string(k[:min(len(k), 3)]), string(v))
		var m map[string]any
		if json.Unmarshal(v, &m) == nil {
			_, hasCVV := m["cvv"]
			require.False(t, hasCVV, "a stored record has a cvv field")
		}
		return true
	}))
	require.NoError(t, db.Close())
	require.Greater(t, n, 50)

	// The raw files: WAL, tables, manifest, keys.
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		check("file "+filepath.Base(p), string(raw))
		return nil
	}))
	check("logs", logs.String())
	hookMu.Lock()
	for _, b := range hookBodies {
		check("a webhook delivery", b)
	}
	hookMu.Unlock()
	for _, b := range errorBodies {
		check("an error response", b)
		require.True(t, strings.Contains(b, "******"), "a PAN-like ID is echoed masked: %s", b)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
