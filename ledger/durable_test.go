package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
)

// TestDeferredDecisions: with a Deferred, a decision is applied (readable,
// and decided on by what follows) when the call returns, its events are
// announced only after Wait, and a repeat's reply waits for a sync too.
func TestDeferredDecisions(t *testing.T) {
	var announced atomic.Int64
	f := newFixtureCfg(t, 1, nil, func(c *ledger.Config) { c.OnEvents = func(ids []string) { announced.Add(int64(len(ids))) } })
	l := f.l
	before := announced.Load()

	var d ledger.Deferred
	req := &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0], Kind: authz.Purchase,
		AmountCents: 100, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812", STAN: "000001",
		RRN: "000000000001", TxnTime: "1121101500", Durable: &d}
	out, err := l.Authorize(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, out.Code)
	txn, err := l.GetTxn(out.TxnID)
	require.NoError(t, err, "the decision is applied before it is durable")
	require.Equal(t, out.TxnID, txn.ID)
	require.Equal(t, before, announced.Load(), "events are announced only once the decision is durable")
	require.NoError(t, d.Wait())
	require.Greater(t, announced.Load(), before)
	require.NoError(t, d.Wait(), "a Deferred with nothing left to wait for returns at once")

	// The repeat is answered from the first reply, after a sync.
	repeat := *req
	repeat.MTI, repeat.Durable = "0101", &d
	again, err := l.Authorize(context.Background(), &repeat)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, out.AuthCode, again.AuthCode)
	require.NoError(t, d.Wait())
}
