package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// ledgerView is what a client can read of a ledger: each user's balance,
// each card's status, and every transaction as the API shows it.
type ledgerView struct {
	users map[string]model.User
	cards map[string]string
	txns  map[string]model.Transaction
	// byCard and byUser are the transaction lists, newest first, paged
	// three at a time.
	byCard, byUser map[string][]string
}

func viewOf(t *testing.T, l *ledger.Ledger, users, cards []string) ledgerView {
	t.Helper()
	v := ledgerView{users: map[string]model.User{}, cards: map[string]string{}, txns: map[string]model.Transaction{},
		byCard: map[string][]string{}, byUser: map[string][]string{}}
	pages := func(f ledger.TxnFilter) []string {
		var ids []string
		p := ledger.ListParams{Limit: 3}
		for {
			page, err := l.ListTxns(f, p)
			require.NoError(t, err)
			for _, tx := range page.Items {
				ids = append(ids, tx.ID)
			}
			if !page.HasMore {
				return ids
			}
			p.Cursor = page.Cursor
		}
	}
	for _, id := range users {
		u, err := l.GetUser(id)
		require.NoError(t, err)
		v.users[id] = u
		v.byUser[id] = pages(ledger.TxnFilter{UserID: id})
	}
	for _, id := range cards {
		c, err := l.GetCard(id)
		require.NoError(t, err)
		v.cards[id] = fmt.Sprintf("%s updated %d", c.Status, c.UpdatedAt)
		v.byCard[id] = pages(ledger.TxnFilter{CardID: id})
	}
	p := ledger.ListParams{Limit: 100}
	for {
		page, err := l.ListTxns(ledger.TxnFilter{}, p)
		require.NoError(t, err)
		for _, tx := range page.Items {
			v.txns[tx.ID] = tx
		}
		if !page.HasMore {
			break
		}
		p.Cursor = page.Cursor
	}
	return v
}

// TestCrashReplaysTheLog: the store takes decision records without
// syncing its own WAL, so a crash can leave it behind the log; a restart
// replays what it lacks. Every acknowledged change is there after the
// crash, read through the same calls a client makes, whatever part of the
// store's unsynced writes the crash kept.
//
// The hot keys (balances, usage, spend) reach the store only at
// checkpoints: with none since the start, and with one every few records,
// the restart's replay of the hot keys from the older checkpoint gives
// the same balances.
func TestCrashReplaysTheLog(t *testing.T) {
	for _, tc := range []struct {
		keep        int
		checkpoints int
	}{{0, 1 << 30}, {50, 1 << 30}, {100, 1 << 30}, {0, 7}, {50, 7}, {100, 7}} {
		keep := tc.keep
		t.Run(fmt.Sprintf("unsynced-kept-%d%%/checkpoint-every-%d", keep, tc.checkpoints), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			f := newFixtureStore(t, 3, store.Options{FS: fs}, func(c *ledger.Config) {
				c.CheckpointRecords, c.CheckpointInterval = tc.checkpoints, time.Hour
			})
			ctx := context.Background()
			var users []string
			for _, id := range f.cards {
				c, err := f.l.GetCard(id)
				require.NoError(t, err)
				users = append(users, c.UserID)
			}
			// Acknowledged traffic: approvals, a clearing, a reversal, a
			// freeze and a deposit.
			var approved []ledger.Outcome
			for i := range 30 {
				out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
					PAN: f.pans[i%3], Kind: authz.Purchase, AmountCents: int64(100 + i), Currency: "840", MerchantID: "M1",
					Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i+1), RRN: fmt.Sprintf("%012d", i+1), TxnTime: "1121101500"})
				require.NoError(t, err)
				require.Equal(t, authz.CodeApproved, out.Code)
				approved = append(approved, out)
			}
			_, err := f.l.Clear(ctx, &ledger.FollowUp{Source: "api", MTI: "0220", Class: ledger.ClassClearing, TxnID: approved[0].TxnID, AmountCents: 100})
			require.NoError(t, err)
			_, err = f.l.Reverse(ctx, &ledger.FollowUp{Source: "api", MTI: "0400", Class: ledger.ClassReversal, TxnID: approved[1].TxnID})
			require.NoError(t, err)
			_, err = f.l.FreezeCard(ctx, f.cards[2])
			require.NoError(t, err)
			_, _, err = f.l.SimulateDeposit(ctx, ledger.DepositInput{UserID: users[0], Asset: "USDC", Chain: "base", Amount: "1", AmountCents: 500})
			require.NoError(t, err)
			want := viewOf(t, f.l, users, f.cards)
			last := ledger.LastLSN(f.l)

			image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rand.New(rand.NewPCG(uint64(keep), 1))})
			db, err := store.Open(store.Options{Dir: f.dir, FS: image})
			require.NoError(t, err)
			defer db.Close()
			v, err := vault.Open(vault.Config{Dir: f.dir})
			require.NoError(t, err)
			l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
			require.NoError(t, err)
			defer l.Close()
			require.Equal(t, last, ledger.LastLSN(l), "every acknowledged record survives in the log")
			projected, err := ledger.ProjectedLSN(l)
			require.NoError(t, err)
			require.Equal(t, last, projected, "the restart brought the store up to the log")
			got := viewOf(t, l, users, f.cards)
			require.Equal(t, want, got)
		})
	}
}

// TestStoreLagsTheLogBeforeReplay shows the case the replay exists for: in
// a crash image that keeps none of the store's unsynced writes, the store
// is behind the log; CatchUpStore brings it up to date.
func TestStoreLagsTheLogBeforeReplay(t *testing.T) {
	fs := vfs.NewCrashableMem()
	f := newFixtureStore(t, 1, store.Options{FS: fs}, nil)
	last := ledger.LastLSN(f.l)
	image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	db, err := store.Open(store.Options{Dir: f.dir, FS: image})
	require.NoError(t, err)
	defer db.Close()
	raw, err := db.Get(store.MetaKey("lsn"))
	var projected uint64
	if err == nil {
		require.Len(t, raw, 8)
		projected = uint64(raw[0])<<56 | uint64(raw[1])<<48 | uint64(raw[2])<<40 | uint64(raw[3])<<32 |
			uint64(raw[4])<<24 | uint64(raw[5])<<16 | uint64(raw[6])<<8 | uint64(raw[7])
	} else {
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	require.Less(t, projected, last, "the store's own WAL is not synced for projections")

	// What verify does before it reads the store: replay the rest.
	n, err := ledger.CatchUpStore(db)
	require.NoError(t, err)
	require.Equal(t, int(last-projected), n)
	raw, err = db.Get(store.MetaKey("lsn"))
	require.NoError(t, err)
	require.Equal(t, byte(last), raw[7])
	n, err = ledger.CatchUpStore(db)
	require.NoError(t, err)
	require.Zero(t, n, "a store up to date replays nothing")
}

// TestSweepTrimsTheLog: once the store holds records durably for longer
// than the retention, Sweep lets the log drop their segments; a restart
// afterwards starts from the store and the log that is left.
func TestSweepTrimsTheLog(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	f := newFixtureCfg(t, 1, nil, func(c *ledger.Config) {
		c.Clock, c.LogSegmentBytes, c.LogRetention = vc, 1<<20+64, time.Minute
	})
	ctx := context.Background()
	segments := func() int {
		names, err := os.ReadDir(filepath.Join(f.dir, "log"))
		require.NoError(t, err)
		n := 0
		for _, e := range names {
			if strings.HasSuffix(e.Name(), ".log") {
				n++
			}
		}
		return n
	}
	for i := range 3000 {
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 1, Currency: "840", MerchantID: "M1",
			Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i%1000000), RRN: fmt.Sprintf("%012d", i), TxnTime: "1121101500"})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
	}
	before := segments()
	require.Greater(t, before, 2, "the records fill several segments")
	_, err := f.l.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, before, segments(), "nothing is dropped within the retention")
	vc.Advance(2 * time.Minute)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, segments(), "what the store held past the retention is dropped")

	u, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	user, err := f.l.GetUser(u.UserID)
	require.NoError(t, err)
	require.NoError(t, f.l.Close())
	require.NoError(t, f.db.Close())
	f.closed = true

	db, err := store.Open(store.Options{Dir: f.dir})
	require.NoError(t, err)
	defer db.Close()
	v, err := vault.Open(vault.Config{Dir: f.dir})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: vc})
	require.NoError(t, err)
	defer l.Close()
	again, err := l.GetUser(u.UserID)
	require.NoError(t, err)
	require.Equal(t, user.PendingCents, again.PendingCents)
	require.Equal(t, int64(3000), again.PendingCents)
}

// TestStoreIsItsLogReplayed: replaying the decision log into an empty
// store gives the store, key for key, after traffic of every kind; and a
// store changed behind the log's back is caught.
func TestStoreIsItsLogReplayed(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	var approved []ledger.Outcome
	for i := range 40 {
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: f.pans[i%3], Kind: authz.Purchase, AmountCents: int64(100 + i), Currency: "840", MerchantID: "M1",
			Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i+1), RRN: fmt.Sprintf("%012d", i+1), TxnTime: "1121101500"})
		require.NoError(t, err)
		approved = append(approved, out)
	}
	for i := range 10 {
		_, err := f.l.Clear(ctx, &ledger.FollowUp{Source: "api", MTI: "0220", Class: ledger.ClassClearing, TxnID: approved[i].TxnID, AmountCents: 100})
		require.NoError(t, err)
		_, err = f.l.Reverse(ctx, &ledger.FollowUp{Source: "api", MTI: "0400", Class: ledger.ClassReversal, TxnID: approved[10+i].TxnID})
		require.NoError(t, err)
	}
	_, err := f.l.FreezeCard(ctx, f.cards[2])
	require.NoError(t, err)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)

	res, err := ledger.CheckStoreAgainstLog(f.db)
	require.NoError(t, err)
	require.False(t, res.HotBehind, "Sweep wrote the hot keys' checkpoint")
	require.True(t, res.Whole, "a store that started with its log")
	require.Equal(t, uint64(1), res.First)
	require.Equal(t, ledger.LastLSN(f.l), res.Last)
	require.Greater(t, res.Keys, 150)
	require.Zero(t, res.Mismatched, "%v", res.Mismatches)

	// A change made to the store behind the log's back.
	tx, err := f.l.GetTxn(approved[30].TxnID)
	require.NoError(t, err)
	require.NoError(t, f.db.PutSync(keyspace.TxnKey(tx.ID), []byte("tampered")))
	require.NoError(t, f.db.PutSync(keyspace.UserKey("user_stray"), []byte("{}")))
	res, err = ledger.CheckStoreAgainstLog(f.db)
	require.NoError(t, err)
	require.Equal(t, 2, res.Mismatched, "%v", res.Mismatches)
}

// TestHotKeysReachTheStoreAtCheckpoints: a user's balance changes in
// memory with every authorization, and in the store only at a checkpoint
// (the store is still consistent: the log since the checkpoint completes
// it, which the comparison with the log skips until then).
func TestHotKeysReachTheStoreAtCheckpoints(t *testing.T) {
	f := newFixtureCfg(t, 1, nil, func(c *ledger.Config) {
		c.CheckpointRecords, c.CheckpointInterval = 1<<30, time.Hour
	})
	ctx := context.Background()
	card, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	storedPending := func() int64 {
		u := &model.User{ID: card.UserID}
		require.NoError(t, ledger.OverlayDeltas(f.db, func(string) *model.User { return u },
			func(string) *model.Card { return nil }, func(string) *model.Agent { return nil }))
		return u.PendingCents
	}
	require.Zero(t, storedPending())
	for i := range 5 {
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 100, Currency: "840", MerchantID: "M1",
			Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i+1), RRN: fmt.Sprintf("%012d", i+1), TxnTime: "1121101500"})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
	}
	u, err := f.l.GetUser(card.UserID)
	require.NoError(t, err)
	require.Equal(t, int64(500), u.PendingCents, "memory is current")
	require.Zero(t, storedPending(), "the store's balance waits for the checkpoint")
	res, err := ledger.CheckStoreAgainstLog(f.db)
	require.NoError(t, err)
	require.True(t, res.HotBehind)
	require.Zero(t, res.Mismatched, "%v", res.Mismatches)

	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(500), storedPending(), "Sweep wrote the checkpoint")
	res, err = ledger.CheckStoreAgainstLog(f.db)
	require.NoError(t, err)
	require.False(t, res.HotBehind)
	require.Zero(t, res.Mismatched, "%v", res.Mismatches)
}

// TestRestartReplaysHotKeysTheStoreLacks: a crash after the store synced
// every record's other keys but before any checkpoint of the hot keys; the
// restart takes every balance, usage and spend from the log.
func TestRestartReplaysHotKeysTheStoreLacks(t *testing.T) {
	fs := vfs.NewCrashableMem()
	f := newFixtureStore(t, 2, store.Options{FS: fs}, func(c *ledger.Config) {
		c.CheckpointRecords, c.CheckpointInterval = 1<<30, time.Hour
	})
	ctx := context.Background()
	_, err := f.l.Sweep(ctx) // a checkpoint before the traffic
	require.NoError(t, err)
	var users []string
	for _, id := range f.cards {
		c, err := f.l.GetCard(id)
		require.NoError(t, err)
		users = append(users, c.UserID)
	}
	for i := range 10 {
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: f.pans[i%2], Kind: authz.Purchase, AmountCents: int64(100 + i), Currency: "840", MerchantID: "M1",
			Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i+1), RRN: fmt.Sprintf("%012d", i+1), TxnTime: "1121101500"})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
	}
	want := viewOf(t, f.l, users, f.cards)
	require.NoError(t, f.db.SyncWAL()) // every projection durable in the store; no checkpoint
	all, hot, err := ledger.StoreLSNs(f.db)
	require.NoError(t, err)
	require.Equal(t, ledger.LastLSN(f.l), all)
	require.Less(t, hot, all-9, "the hot keys were last written before the traffic")

	image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	db, err := store.Open(store.Options{Dir: f.dir, FS: image})
	require.NoError(t, err)
	defer db.Close()
	v, err := vault.Open(vault.Config{Dir: f.dir})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
	require.NoError(t, err)
	defer l.Close()
	require.Equal(t, want, viewOf(t, l, users, f.cards))
	all, hot, err = ledger.StoreLSNs(db)
	require.NoError(t, err)
	require.Equal(t, all, hot, "the replay brought the hot keys up to the rest")
	require.Equal(t, ledger.LastLSN(l), all)
}

// TestListUsersShowsCurrentBalances: the list reads each user from memory,
// not the stored record, whose balance is the one of its last whole write.
func TestListUsersShowsCurrentBalances(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
		PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 250, Currency: "840", MerchantID: "M1",
		Merchant: "SHOP", MCC: "5812", STAN: "000001", RRN: "000000000001", TxnTime: "1121101500"})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, out.Code)
	page, err := f.l.ListUsers(ledger.ListParams{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	u, err := f.l.GetUser(page.Items[0].ID)
	require.NoError(t, err)
	require.Equal(t, int64(250), u.PendingCents)
	require.Equal(t, u, page.Items[0])
}
