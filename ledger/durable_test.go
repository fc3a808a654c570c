package ledger_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
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

// gatedFS is an in-memory filesystem whose WAL syncs can be held: while
// the gate is closed, a sync of a .log file waits for it to open. It lets
// a test look at the ledger while a change is applied but not yet durable.
type gatedFS struct {
	vfs.FS
	gate atomic.Pointer[chan struct{}]
}

func newGatedFS() *gatedFS { return &gatedFS{FS: vfs.NewMem()} }

// hold closes the gate; the returned func opens it again (once, however
// often it is called).
func (g *gatedFS) hold() (open func()) {
	ch := make(chan struct{})
	g.gate.Store(&ch)
	return sync.OnceFunc(func() {
		g.gate.Store(nil)
		close(ch)
	})
}

func (g *gatedFS) wait() {
	if ch := g.gate.Load(); ch != nil {
		<-*ch
	}
}

func (g *gatedFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &gatedFile{File: f, fs: g}, nil
}

func (g *gatedFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.Create(name, c)
	return g.wrap(name, f, err)
}

func (g *gatedFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.ReuseForWrite(oldname, newname, c)
	return g.wrap(newname, f, err)
}

func (g *gatedFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name, c, opts...)
	return g.wrap(name, f, err)
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (f *gatedFile) Sync() error {
	f.fs.wait()
	return f.File.Sync()
}

func (f *gatedFile) SyncData() error {
	f.fs.wait()
	return f.File.SyncData()
}

func (f *gatedFile) SyncTo(length int64) (bool, error) {
	f.fs.wait()
	return f.File.SyncTo(length)
}

// TestManagementChangesWaitForSyncOffTheShardLock: a management change
// (here a freeze) waiting for its sync does not hold its shard, so reads
// and ISO decisions on the same user go on meanwhile and see the change.
// Before, the freeze waited under the lock and a card-network decision on
// any of the user's cards stalled behind the management call's fsync.
func TestManagementChangesWaitForSyncOffTheShardLock(t *testing.T) {
	fs := newGatedFS()
	f := newFixtureStore(t, 1, store.Options{FS: fs}, nil)
	ctx := context.Background()
	card := f.cards[0]

	open := fs.hold()
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
