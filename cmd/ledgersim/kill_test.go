package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
)

// TestKilledServerLosesNothingAcknowledged writes through the API from many
// clients, kills the server process with SIGKILL mid-stream, restarts it on
// the same data directory, and checks that every acknowledged write is
// there.
func TestKilledServerLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	bin := testenv.BuildBinary(t)
	dir := t.TempDir()
	p := testenv.StartProc(t, bin, dir, "--kyc", "auto")
	base := "http://" + p.HTTPAddr
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path string, body any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(raw))
		req.Header.Set("Api-Key", testenv.APIKey)
		res, err := client.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}

	type acked struct {
		userID   string
		deposits int64 // acknowledged deposits of 1.00
	}
	var (
		mu    sync.Mutex
		users []*acked
		acks  atomic.Int64
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, u := post("/v1/users", map[string]any{"firstName": "K", "lastName": "L", "email": fmt.Sprintf("w%d-%d@example.com", w, i)})
				if st != 201 {
					return
				}
				a := &acked{userID: u["id"].(string)}
				mu.Lock()
				users = append(users, a)
				mu.Unlock()
				acks.Add(1)
				if st, _ := post("/v1/verification/user", map[string]any{"userId": a.userID}); st != 200 {
					return
				}
				for d := 0; d < 3; d++ {
					st, _ := post("/v1/simulate/deposit", map[string]any{"userId": a.userID, "asset": "USDC", "chain": "base", "amount": 1})
					if st != 201 {
						return
					}
					mu.Lock()
					a.deposits++
					mu.Unlock()
					acks.Add(1)
				}
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for acks.Load() < 400 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.Kill() // mid-stream: requests are in flight
	close(stop)
	wg.Wait()
	require.GreaterOrEqual(t, acks.Load(), int64(400))

	p2 := testenv.StartProc(t, bin, dir, "--kyc", "auto")
	base = "http://" + p2.HTTPAddr
	mu.Lock()
	defer mu.Unlock()
	for _, a := range users {
		req, _ := http.NewRequest("GET", base+"/v1/balances/"+a.userID, nil)
		req.Header.Set("Api-Key", testenv.APIKey)
		res, err := client.Do(req)
		require.NoError(t, err)
		var b map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&b))
		res.Body.Close()
		require.Equal(t, 200, res.StatusCode, "acknowledged user %s is lost", a.userID)
		got := int64(b["available"].(float64))
		// Every acknowledged deposit is there; at most the one in flight
		// when the process died may be there too.
		require.GreaterOrEqual(t, got, a.deposits*100, "user %s lost an acknowledged deposit", a.userID)
		require.LessOrEqual(t, got, (a.deposits+1)*100)
		require.Equal(t, got, int64(b["settled"].(float64)), "available = settled - pending with no holds")
	}
	t.Logf("%d acknowledged writes, %d users, all present after SIGKILL", acks.Load(), len(users))
}

// TestSIGTERMShutsDownCleanly checks that SIGTERM ends the server with exit
// status 0 after its orderly shutdown, and that its data opens again.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a server process")
	}
	bin := testenv.BuildBinary(t)
	dir := t.TempDir()
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		p := testenv.StartProc(t, bin, dir)
		require.NoError(t, p.Cmd.Process.Signal(sig))
		require.NoError(t, p.Wait(), "exit status after %v", sig)
		stopped := false
		for _, l := range p.Logs() {
			if strings.Contains(l, `"msg":"ledgersim stopped"`) {
				stopped = true
			}
		}
		require.True(t, stopped, "the server logs its orderly stop")
	}
}
