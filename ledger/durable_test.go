package ledger_test

import (
	"context"
	"github.com/ledgersim/ledgersim/internal/gatedfs"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// TestDeferredDecisions: with a Deferred, a decision is applied (readable,
// and decided on by what follows) when the call returns, its events are
// announced only after Wait, and a repeat's reply waits for a sync too.
func TestDeferredDecisions(t *testing.T) {
	f := newFixtureCfg(t, 1, nil, nil)
	l := f.l
	var r announcedReader
	l.AttachEventReader(&r)
	announced := &r.n
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

// announcedReader is an event reader that wants every event and counts
// the announcements.
type announcedReader struct{ n atomic.Int64 }

func (r *announcedReader) Wants(string) bool { return true }

func (r *announcedReader) Notify(decisionlog.LSN) { r.n.Add(1) }

func (r *announcedReader) NeededLSN() decisionlog.LSN { return 0 }

// TestManagementChangesWaitForSyncOffTheShardLock: a management change
// (here a freeze) waiting for its sync does not hold its shard, so reads
// and ISO decisions on the same user go on meanwhile and see the change.
// Before, the freeze waited under the lock and a card-network decision on
// any of the user's cards stalled behind the management call's fsync.
func TestManagementChangesWaitForSyncOffTheShardLock(t *testing.T) {
	fs := gatedfs.New()
	f := newFixtureStore(t, 1, store.Options{FS: fs}, nil)
	ctx := context.Background()
	card := f.cards[0]

	open := fs.Hold()
	t.Cleanup(open) // a failing test still lets the store close
	frozen := make(chan error, 1)
	go func() {
		_, err := f.l.FreezeCard(ctx, card)
		frozen <- err
	}()

	// The freeze is applied before it is durable; until it is, the call
	// does not return, and the shard is free.
	var got string
	require.Eventually(t, func() bool {
		c, err := f.l.GetCard(card)
		require.NoError(t, err)
		got = c.Status
		return got == model.CardFrozen
	}, 10*time.Second, time.Millisecond, "the freeze is applied while its sync waits (status %q)", got)
	var d ledger.Deferred
	out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0],
		Kind: authz.Purchase, AmountCents: 100, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812",
		STAN: "000001", RRN: "000000000001", TxnTime: "1121101500", Durable: &d})
	require.NoError(t, err)
	require.NotEqual(t, authz.CodeApproved, out.Code, "the decision sees the applied freeze")
	select {
	case err := <-frozen:
		t.Fatalf("the freeze returned (%v) before its sync", err)
	default:
	}

	open()
	require.NoError(t, <-frozen)
	require.NoError(t, d.Wait())
}
