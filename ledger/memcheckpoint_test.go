package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// ckptTraffic drives mixed card traffic at a ledger: approvals, clearings
// and reversals quoting their originals by RRN and approval code,
// refunds, declines, repeats, and holds left open.
type ckptTraffic struct {
	t   *testing.T
	f   *fixture
	seq atomic.Int64
	mu  sync.Mutex
	// open are authorizations left open; repeats are requests sent once,
	// to be sent again, with their first outcome.
	open    []heldAuth
	repeats []sentAuth
}

type heldAuth struct {
	card int
	out  ledger.Outcome
	rrn  string
}

type sentAuth struct {
	req ledger.AuthRequest
	out ledger.Outcome
}

func (tr *ckptTraffic) authReq(card int, amount int64) ledger.AuthRequest {
	n := tr.seq.Add(1)
	return ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: tr.f.pans[card], Kind: authz.Purchase,
		AmountCents: amount, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812",
		STAN: fmt.Sprintf("%06d", n%1_000_000), RRN: fmt.Sprintf("%012d", n), TxnTime: "1201120000"}
}

func (tr *ckptTraffic) approve(card int) heldAuth {
	req := tr.authReq(card, 100)
	out, err := tr.f.l.Authorize(context.Background(), &req)
	require.NoError(tr.t, err)
	require.Equal(tr.t, authz.CodeApproved, out.Code)
	return heldAuth{card: card, out: out, rrn: req.RRN}
}

// followUp is a clearing or reversal by ISO references, with its own
// STAN and RRN (so that its repeats are remembered too).
func (tr *ckptTraffic) followUp(h heldAuth, clearing bool) {
	n := tr.seq.Add(1)
	f := &ledger.FollowUp{Source: "iso", PAN: tr.f.pans[h.card], RRN: h.rrn, AuthCode: h.out.AuthCode,
		STAN: fmt.Sprintf("%06d", n%1_000_000), TxnTime: "1201120100", AmountCents: 100, Currency: "840"}
	var out ledger.Outcome
	var err error
	if clearing {
		f.MTI, f.Class = "0220", ledger.ClassClearing
		out, err = tr.f.l.Clear(context.Background(), f)
	} else {
		f.MTI, f.Class = "0400", ledger.ClassReversal
		out, err = tr.f.l.Reverse(context.Background(), f)
	}
	require.NoError(tr.t, err)
	require.Equal(tr.t, authz.CodeApproved, out.Code)
	require.Equal(tr.t, h.out.TxnID, out.TxnID)
}

// round is one of each, on card (the last card is frozen: its
// authorizations are declined).
func (tr *ckptTraffic) round(card int) {
	ctx := context.Background()
	cleared := tr.approve(card)
	tr.followUp(cleared, true)
	_, err := tr.f.l.Refund(ctx, cleared.out.TxnID, 30)
	require.NoError(tr.t, err)
	tr.followUp(tr.approve(card), false)
	held := tr.approve(card)
	req := tr.authReq(card, 250)
	first, err := tr.f.l.Authorize(ctx, &req)
	require.NoError(tr.t, err)
	again, err := tr.f.l.Authorize(ctx, &req)
	require.NoError(tr.t, err)
	require.True(tr.t, again.Replayed)
	decl := tr.authReq(len(tr.f.pans)-1, 100)
	out, err := tr.f.l.Authorize(ctx, &decl)
	require.NoError(tr.t, err)
	require.NotEqual(tr.t, authz.CodeApproved, out.Code)
	tr.mu.Lock()
	tr.open = append(tr.open, held)
	tr.repeats = append(tr.repeats, sentAuth{req, first}, sentAuth{decl, out})
	tr.mu.Unlock()
}

// snapshotCfg makes checkpoints happen only when a test takes one.
func snapshotCfg(vc clock.Clock, more func(*ledger.Config)) func(*ledger.Config) {
	return func(c *ledger.Config) {
		c.Clock, c.HoldExpiry, c.RepeatWindow = vc, 30*time.Minute, 2*time.Hour
		c.SnapshotInterval, c.SnapshotRecords = 1000*time.Hour, 1<<40
		if more != nil {
			more(c)
		}
	}
}

// openImage opens a ledger on a crash image of the fixture's filesystem.
func openImage(t *testing.T, f *fixture, image vfs.FS, cfg func(*ledger.Config)) *ledger.Ledger {
	t.Helper()
	db, err := store.Open(store.Options{Dir: f.dir, FS: image})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: f.dir})
	require.NoError(t, err)
	c := ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20}
	cfg(&c)
	l, err := ledger.Open(c)
	require.NoError(t, err)
	return l
}

// TestRestartFromMemoryCheckpoint: a checkpoint is taken while traffic
// goes on, more traffic follows, and the process dies without closing
// anything. The restart loads the checkpoint and replays the log after
// it; its memory tables are those a full rebuild from the store gives,
// and it decides alike: repeats from before and after the checkpoint
// answer with their first reply, and open holds from before and after it
// are found as originals.
func TestRestartFromMemoryCheckpoint(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	fs := vfs.NewCrashableMem()
	cfg := snapshotCfg(vc, nil)
	f := newFixtureStore(t, 4, store.Options{FS: fs}, cfg)
	ctx := context.Background()
	_, err := f.l.FreezeCard(ctx, f.cards[3])
	require.NoError(t, err)
	tr := &ckptTraffic{t: t, f: f}
	for i := range 12 {
		tr.round(i % 3)
	}
	// Holds from here expire; the ones made after stay open.
	vc.Advance(31 * time.Minute)
	expired, err := f.l.Sweep(ctx)
	require.NoError(t, err)
	require.Positive(t, expired)
	for i := range 6 {
		tr.round(i % 3)
	}

	// A checkpoint while three cards' traffic goes on.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for card := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					tr.round(card)
				}
			}
		}()
	}
	var lsn uint64
	for range 3 {
		lsn = ledger.SnapshotNow(f.l)
	}
	close(stop)
	wg.Wait()
	require.Positive(t, lsn)
	for i := range 9 {
		tr.round(i % 3)
	}
	last := ledger.LastLSN(f.l)
	require.Greater(t, last, lsn, "the log runs past the checkpoint")

	// The crash: nothing is closed.
	crash := vfs.CrashCloneCfg{UnsyncedDataPercent: 0}
	fromCkpt := openImage(t, f, fs.CrashClone(crash), cfg)
	full := openImage(t, f, fs.CrashClone(crash), snapshotCfg(vc, ledger.IgnoreSnapshots))
	require.Equal(t, lsn, ledger.LoadedSnapshot(fromCkpt), "the restart loaded the newest checkpoint")
	require.Zero(t, ledger.LoadedSnapshot(full))
	want := ledger.DumpTables(full)
	require.Equal(t, want, ledger.DumpTables(fromCkpt))
	require.Empty(t, ledger.CompareMemory(ledger.DumpMemory(full), ledger.DumpMemory(fromCkpt)))
	holds, _ := ledger.OpenHolds(fromCkpt)
	require.Equal(t, 2*(len(tr.open)-12), holds, "two holds a round are left open; the first twelve rounds' expired")

	orig := f.l
	defer func() { f.l = orig }()
	for _, l := range []*ledger.Ledger{fromCkpt, full} {
		f.l = l
		for _, s := range tr.repeats {
			out, err := l.Authorize(ctx, &s.req)
			require.NoError(t, err)
			require.True(t, out.Replayed, "a repeat answers with the first reply")
			require.Equal(t, s.out.Code, out.Code)
			require.Equal(t, s.out.TxnID, out.TxnID)
		}
		for _, h := range tr.open[12:] {
			tr.followUp(h, l == fromCkpt)
		}
	}
}

// TestMemoryCheckpointFallsBack: a damaged newest checkpoint gives way to
// the one before it, a checkpoint made with another number of user shards
// or another repeat window to the full rebuild; either way memory is what
// a full rebuild gives.
func TestMemoryCheckpointFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage bool
		change func(*ledger.Config)
		loaded func(first, second uint64) uint64
	}{
		{"damaged newest", true, nil, func(first, _ uint64) uint64 { return first }},
		{"other shard count", false, func(c *ledger.Config) { c.Shards = 16 }, func(uint64, uint64) uint64 { return 0 }},
		{"other repeat window", false, func(c *ledger.Config) { c.RepeatWindow = time.Hour }, func(uint64, uint64) uint64 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := clock.NewVirtual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			fs := vfs.NewCrashableMem()
			f := newFixtureStore(t, 4, store.Options{FS: fs}, snapshotCfg(vc, nil))
			_, err := f.l.FreezeCard(context.Background(), f.cards[3])
			require.NoError(t, err)
			tr := &ckptTraffic{t: t, f: f}
			for i := range 6 {
				tr.round(i % 3)
			}
			first := ledger.SnapshotNow(f.l)
			for i := range 6 {
				tr.round(i % 3)
			}
			second := ledger.SnapshotNow(f.l)
			for i := range 3 {
				tr.round(i % 3)
			}
			image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
			if tc.damage {
				name := image.PathJoin(f.dir, "checkpoints", fmt.Sprintf("%016x.ckpt", second))
				file, err := image.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
				require.NoError(t, err)
				_, err = file.WriteAt([]byte("damage"), 40)
				require.NoError(t, err)
				require.NoError(t, file.Close())
			}
			l := openImage(t, f, image, snapshotCfg(vc, tc.change))
			require.Equal(t, tc.loaded(first, second), ledger.LoadedSnapshot(l))
			full := openImage(t, f, fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0}),
				snapshotCfg(vc, func(c *ledger.Config) {
					if tc.change != nil {
						tc.change(c)
					}
					ledger.IgnoreSnapshots(c)
				}))
			require.Equal(t, ledger.DumpTables(full), ledger.DumpTables(l))
		})
	}
}

// TestLogKeptAboveOldestCheckpoint: however far retention would trim, the
// log keeps every record after the oldest checkpoint kept, so that a
// restart can replay from either.
func TestLogKeptAboveOldestCheckpoint(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	f := newFixtureCfg(t, 1, nil, snapshotCfg(vc, func(c *ledger.Config) {
		c.LogSegmentBytes, c.LogRetention = 1<<20+64, time.Minute
	}))
	ctx := context.Background()
	auths := func(n int) {
		for i := range n {
			out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
				PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 1, Currency: "840", MerchantID: "M1",
				Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i%1000000), RRN: fmt.Sprintf("%012d", i+n), TxnTime: "1121101500"})
			require.NoError(t, err)
			require.Equal(t, authz.CodeApproved, out.Code)
		}
	}
	auths(1500)
	oldest := ledger.SnapshotNow(f.l)
	auths(3000)
	ledger.SnapshotNow(f.l)
	auths(3000)
	vc.Advance(2 * time.Minute)
	_, err := f.l.Sweep(ctx)
	require.NoError(t, err)
	vc.Advance(2 * time.Minute)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	require.True(t, ledger.LogHas(f.l, oldest+1), "the log keeps what follows the oldest checkpoint")
	require.False(t, ledger.LogHas(f.l, 1), "and drops what precedes it, past the retention")
}
