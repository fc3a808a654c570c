package ledger_test

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/internal/gatedfs"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// storedEventsByType reads every event in the store, by type, newest
// first: what the index by type must answer.
func storedEventsByType(t *testing.T, db *store.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	require.NoError(t, db.Scan(keyspace.EventsPrefix, "", true, func(k, v []byte) bool {
		id := string(bytes.TrimPrefix(k, keyspace.EventsPrefix))
		rec, err := eventlog.Decode(id, v)
		require.NoError(t, err)
		out[rec.Type] = append(out[rec.Type], id)
		return true
	}))
	return out
}

func requireIndexMatchesStore(t *testing.T, l *ledger.Ledger, db *store.DB) {
	t.Helper()
	want := storedEventsByType(t, db)
	require.NotEmpty(t, want)
	for typ, ids := range want {
		require.Equal(t, ids, l.EventIDsByType(typ, "", math.MaxInt32), typ)
	}
}

// TestEventsByTypeVisibleOnceDurable: an event is found by type once its
// record is durable, before the call that made it returns, and not
// while its record is not durable yet (no reply about it can have left).
func TestEventsByTypeVisibleOnceDurable(t *testing.T) {
	fs := gatedfs.New()
	f := newFixtureStore(t, 1, store.Options{FS: fs}, nil)
	ctx := context.Background()
	ids := func(typ string) []string { return f.l.EventIDsByType(typ, "", math.MaxInt32) }
	requireIndexMatchesStore(t, f.l, f.db)
	before := ids(model.EvtTxnAuthorized)

	open := fs.Hold()
	t.Cleanup(open) // a failing test still lets the store close
	var d ledger.Deferred
	out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0],
		Kind: authz.Purchase, AmountCents: 100, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812",
		STAN: "000001", RRN: "000000000001", TxnTime: "1121101500", Durable: &d})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, out.Code)
	require.Equal(t, before, ids(model.EvtTxnAuthorized), "the decision is applied, its record is not durable")

	open()
	require.NoError(t, d.Wait())
	after := ids(model.EvtTxnAuthorized)
	require.Len(t, after, len(before)+1, "durable, so listed")
	require.Equal(t, append(after[:1:1], before...), after, "the newest")
	requireIndexMatchesStore(t, f.l, f.db)
}

// TestRestartRebuildsEventsByType: after a restart the index by type is
// what it was, rebuilt from the store's events; a store written when the
// index was kept in it loses its xet/ keys at Open, and serves the same.
func TestRestartRebuildsEventsByType(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3)
	for i, pan := range f.pans {
		_, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: pan,
			Kind: authz.Purchase, AmountCents: int64(100 * (i + 1)), Currency: "840", MerchantID: "M1", Merchant: "SHOP",
			MCC: "5812", STAN: "00000" + string(rune('1'+i)), RRN: "00000000000" + string(rune('1'+i)), TxnTime: "1121101500"})
		require.NoError(t, err)
	}
	_, err := f.l.FreezeCard(ctx, f.cards[0])
	require.NoError(t, err)
	requireIndexMatchesStore(t, f.l, f.db)
	live := map[string][]string{}
	for typ := range storedEventsByType(t, f.db) {
		live[typ] = f.l.EventIDsByType(typ, "", math.MaxInt32)
	}

	// The store as an earlier version left it: an xet/ key per event.
	f.closeStore(t)
	db, err := store.Open(store.Options{Dir: f.dir})
	require.NoError(t, err)
	b := db.NewBatch()
	for typ, ids := range live {
		for _, id := range ids {
			b.Put(keyspace.EventByTypeKey(typ, id), nil)
		}
	}
	require.NoError(t, db.Commit(b))
	require.NoError(t, db.Close())

	for _, round := range []string{"with xet/ keys", "without"} {
		db, err := store.Open(store.Options{Dir: f.dir})
		require.NoError(t, err)
		v, err := vault.Open(vault.Config{Dir: f.dir})
		require.NoError(t, err)
		l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
		require.NoError(t, err)
		for typ, ids := range live {
			require.Equal(t, ids, l.EventIDsByType(typ, "", math.MaxInt32), "%s: %s", round, typ)
		}
		left := 0
		require.NoError(t, db.Scan(keyspace.EventByTypePrefix, "", false, func(_, _ []byte) bool { left++; return true }))
		require.Zero(t, left, "%s: the store keeps no index by type", round)
		check, err := ledger.CheckStoreAgainstLog(db)
		require.NoError(t, err)
		require.True(t, check.Whole)
		require.Zero(t, check.Mismatched, "%s: %v", round, check.Mismatches)
		require.NoError(t, l.Close())
		require.NoError(t, db.Close())
	}
}
