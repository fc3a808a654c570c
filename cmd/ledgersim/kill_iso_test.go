package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
)

// TestKilledDuringAuthorizations SIGKILLs the server while ISO 8583
// authorizations are in flight on several connections, restarts it, and
// checks that every approval a client received is in the store with the
// same approval code, and that every user's balance is consistent:
// available = settled - pending, pending = the sum of open authorizations.
func TestKilledDuringAuthorizations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	bin := testenv.BuildBinary(t)
	dir := t.TempDir()
	p := testenv.StartProc(t, bin, dir, "--kyc", "auto")
	e := &testenv.Env{T: t, Base: "http://" + p.HTTPAddr, Client: &http.Client{Timeout: 30 * time.Second}}

	var cards []testenv.Card
	for i := 0; i < 8; i++ {
		_, agentID, _ := e.Funded(fmt.Sprintf("k%d@example.com", i), 1_000_000)
		cards = append(cards, e.RawCard(agentID, nil))
	}

	type approval struct{ card, rrn, authCode string }
	var (
		mu        sync.Mutex
		approvals []approval
		count     atomic.Int64
		wg        sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		c, err := testenv.DialISO(p.ISOAddr)
		require.NoError(t, err)
		defer c.Close()
		wg.Add(1)
		go func(w int, c *testenv.ISOClient) {
			defer wg.Done()
			window := make(chan struct{}, 32) // pipelined: up to 32 outstanding
			var inner sync.WaitGroup
			defer inner.Wait()
			for i := 0; ; i++ {
				select {
				case window <- struct{}{}:
				case <-c.Closed():
					return
				}
				card := cards[(w+i)%len(cards)]
				rrn := fmt.Sprintf("%02d%010d", w, i)
				ch, err := c.Send(testenv.AuthRequest(card, c.NextSTAN(), rrn, 100+int64(i%50), "MERCHANT0000001", "BLUE BOTTLE COFFEE"))
				if err != nil {
					return
				}
				inner.Add(1)
				go func() {
					defer inner.Done()
					defer func() { <-window }()
					rep, ok := <-ch
					if ok && rep.Code == "00" {
						mu.Lock()
						approvals = append(approvals, approval{card.ID, rep.RRN, rep.AuthCode})
						mu.Unlock()
						count.Add(1)
					}
				}()
			}
		}(w, c)
	}
	deadline := time.Now().Add(60 * time.Second)
	for count.Load() < 1500 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	p.Kill()
	wg.Wait()
	require.GreaterOrEqual(t, count.Load(), int64(1500))

	p2 := testenv.StartProc(t, bin, dir, "--kyc", "auto")
	e.Base = "http://" + p2.HTTPAddr
	type stored struct{ authCode, status string }
	byRRN := map[string]stored{}
	users := map[string]bool{}
	for _, c := range cards {
		users[c.UserID] = true
		cursor := ""
		for {
			path := "/v1/transactions?limit=100&cardId=" + c.ID
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.Must(200, "GET", path, nil)
			for _, tx := range r.Data() {
				code, _ := tx["authorizationCode"].(string)
				byRRN[tx["rrn"].(string)] = stored{code, tx["status"].(string)}
			}
			if r.JSON["hasMore"] != true {
				break
			}
			cursor = r.Str("cursor")
		}
	}
	mu.Lock()
	for _, a := range approvals {
		s, ok := byRRN[a.rrn]
		require.True(t, ok, "approval %s lost after SIGKILL", a.rrn)
		require.Equal(t, a.authCode, s.authCode, "approval %s has another code after restart", a.rrn)
		require.Equal(t, "authorized", s.status)
	}
	mu.Unlock()
	for userID := range users {
		b := e.Must(200, "GET", "/v1/balances/"+userID, nil)
		var open int64
		cursor := ""
		for {
			path := "/v1/transactions?limit=100&status=authorized&userId=" + userID
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.Must(200, "GET", path, nil)
			for _, tx := range r.Data() {
				open += int64(tx["pendingAmount"].(float64))
			}
			if r.JSON["hasMore"] != true {
				break
			}
			cursor = r.Str("cursor")
		}
		require.Equal(t, b.Num("settled")-b.Num("pending"), b.Num("available"))
		require.Equal(t, open, b.Num("pending"), "pending = sum of open authorizations for %s", userID)
		require.GreaterOrEqual(t, b.Num("available"), int64(0))
	}
	t.Logf("%d approvals received before SIGKILL, all present with their codes", len(approvals))
	_ = iso.Binary2
}
