package server_test

import (
	"fmt"
	"sync"
	"testing"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// isoResult is one request sent concurrently and what came back.
type isoResult struct {
	card   isoCard
	fields isoFields
	amount int64
	rep    *isoReply
	err    error
}

// isoFanOut sends every request at once: each connection gets its share,
// all in flight together (pipelined), and waits for every reply.
func isoFanOut(conns []*connection.Connection, mti string, work []isoResult) {
	var wg sync.WaitGroup
	for i := range work {
		wg.Add(1)
		go func(w *isoResult, c *connection.Connection) {
			defer wg.Done()
			w.rep, w.err = isoExchange(c, mti, w.fields)
		}(&work[i], conns[i%len(conns)])
	}
	wg.Wait()
}

// requireLedgerInvariants checks, for each user, available = settled -
// pending and pending = the sum of the pendingAmount of their open
// authorizations.
func (h *isoHarness) requireLedgerInvariants(users map[string]bool) {
	h.t.Helper()
	for userID := range users {
		b := h.balance(userID)
		var open int64
		for _, tx := range h.txns("status=authorized&userId=" + userID) {
			open += isoNum(tx, "pendingAmount")
		}
		require.Equal(h.t, b.Settled-b.Pending, b.Available, "available = settled - pending for %s", userID)
		require.Equal(h.t, open, b.Pending, "pending = sum of open authorizations for %s", userID)
	}
}

// TestISOPipelinedConnections sends 8 connections x 200 authorizations at
// once over 16 cards of 4 users, then captures or reverses every approval
// the same way, and checks that every request was answered and matched and
// that the balances add up.
func TestISOPipelinedConnections(t *testing.T) {
	const (
		conns      = 8
		perConn    = 200
		users      = 4
		cardsEach  = 4
		depositCts = 60_000
	)
	h := startISO(t, server.Config{})
	var cards []isoCard
	userSet := map[string]bool{}
	for u := 0; u < users; u++ {
		userID, agentID := h.newAgent(depositCts)
		userSet[userID] = true
		for i := 0; i < cardsEach; i++ {
			cards = append(cards, h.newCard(agentID, nil))
		}
	}
	cs := make([]*connection.Connection, conns)
	for i := range cs {
		cs[i] = h.dial()
	}

	work := make([]isoResult, conns*perConn)
	for i := range work {
		c := cards[i%len(cards)]
		amount := int64(100 + (i*37)%900)
		work[i] = isoResult{card: c, amount: amount, fields: h.purchase(c, amount)}
	}
	isoFanOut(cs, "0100", work)

	approvedByUser := map[string]int{}
	var approved []isoResult
	codes := map[string]int{}
	for _, w := range work {
		require.NoError(t, w.err)
		h.requireReply(w.rep, "0110", w.rep.Code)
		require.Equal(t, w.fields[11], w.rep.wire[11], "matched by STAN")
		require.Equal(t, w.fields[37], w.rep.wire[37], "matched by RRN")
		codes[w.rep.Code]++
		switch w.rep.Code {
		case "00":
			require.Len(t, w.rep.AuthCode, 6)
			approvedByUser[w.card.UserID]++
			approved = append(approved, w)
		case "51":
		default:
			t.Fatalf("unexpected response code %s", w.rep.Code)
		}
	}
	t.Logf("authorizations: %v", codes)
	require.NotZero(t, codes["00"])
	require.NotZero(t, codes["51"], "the load runs the balances dry")
	for userID := range userSet {
		require.Len(t, h.txns("status=authorized&userId="+userID), approvedByUser[userID])
		b := h.balance(userID)
		require.Equal(t, int64(depositCts), b.Settled)
		require.GreaterOrEqual(t, b.Available, int64(0), "no overdraft under concurrency")
	}
	h.requireLedgerInvariants(userSet)

	// Capture every other approval 10 cents short, reverse the rest, all at
	// once.
	var clearings, reversals []isoResult
	captured := map[string]int64{}
	for i, w := range approved {
		if i%2 == 0 {
			clearings = append(clearings, isoResult{card: w.card, fields: h.followUp(w.fields, w.amount-10)})
			captured[w.card.UserID] += w.amount - 10
		} else {
			reversals = append(reversals, isoResult{card: w.card, fields: h.followUp(w.fields, w.amount)})
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); isoFanOut(cs, "0220", clearings) }()
	go func() { defer wg.Done(); isoFanOut(cs, "0400", reversals) }()
	wg.Wait()
	for _, w := range clearings {
		require.NoError(t, w.err)
		h.requireApproved(w.rep, "0230")
	}
	for _, w := range reversals {
		require.NoError(t, w.err)
		h.requireApproved(w.rep, "0410")
	}
	for userID := range userSet {
		require.Equal(t, isoBalance{Available: depositCts - captured[userID], Pending: 0, Settled: depositCts - captured[userID]},
			h.balance(userID), fmt.Sprintf("user %s", userID))
	}
	h.requireLedgerInvariants(userSet)
}
