package ledger

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// sampleSnapshot fills a set of tables with a few of everything (odd IDs
// and an overflowing repeat reply too) and copies them as a checkpoint
// does.
func sampleSnapshot(t *testing.T) *memSnapshot {
	t.Helper()
	shards := make([]shardTxns, 4)
	for i := range shards {
		shards[i] = newShardTxns()
	}
	o, lists, events, ri := newOrigins(), newTxnLists(), newEventsByType(), newRepeatIndex(60_000)
	for i := range 40 {
		id := fmt.Sprintf("txn_01m8rscfx%011d", i)
		if i == 7 {
			id = "odd-id"
		}
		tx := &model.Transaction{ID: id, CardID: fmt.Sprintf("card%d", i%3), UserID: "u", AgentID: "a", Kind: model.KindPurchase,
			Status: model.TxnAuthorized, ResponseCode: authz.CodeApproved, STAN: fmt.Sprintf("%06d", i%5), TxnTime: "1201120000",
			RRN: fmt.Sprintf("%012d", i), AuthorizationCode: authCode(id)}
		o.add(tx)
		lists.add('c', []byte(tx.CardID), []byte(id))
		events.addTyped("transaction.created", []byte(fmt.Sprintf("evt_01m8rscfx%011d", i)))
		shards[i%4].add(&txnRef{id: id, open: true, holdExpires: int64(1000 + i),
			keys: []string{origKeySTAN(tx.CardID, tx.STAN, tx.TxnTime), origKeyRRN(tx.CardID, tx.RRN, tx.AuthorizationCode)}})
		_, _, c := ri.claim(ClassAuth, tx.STAN, tx.RRN, uint64(i), 1000)
		if i == 9 {
			c.settle("05", "an unusual reason", "ABC123", id)
		} else {
			c.settle("00", "", authCode(id), id)
		}
	}
	events.addTyped("odd.type", []byte("not-an-event-id"))
	s := &memSnapshot{lsn: 42, windowMs: 60_000, holds: make([][]holdCopy, len(shards))}
	for i := range shards {
		s.holds[i] = shards[i].copyHolds()
	}
	s.origins, s.lists, s.events = o.copyTable(), lists.copyTable(), events.copyTable()
	s.names, s.repeats = ri.copyTable()
	return s
}

// TestMemCheckpointRoundTrip: what a checkpoint writes decodes into the
// same tables; anything cut short or altered is refused or decodes, and
// never panics.
func TestMemCheckpointRoundTrip(t *testing.T) {
	s := sampleSnapshot(t)
	var buf bytes.Buffer
	require.NoError(t, s.encode(&buf))
	raw := buf.Bytes()
	tables, err := decodeTables(bytes.NewReader(raw), int64(len(raw)), 4, 60_000, 0)
	require.NoError(t, err)
	again := &memSnapshot{lsn: 42, windowMs: 60_000, holds: make([][]holdCopy, 4)}
	for i := range tables.holds {
		again.holds[i] = tables.holds[i].copyHolds()
	}
	again.origins, again.lists, again.events = tables.origins.copyTable(), tables.lists.copyTable(), tables.events.copyTable()
	again.names, again.repeats = tables.repeats.copyTable()
	var buf2 bytes.Buffer
	require.NoError(t, again.encode(&buf2))
	require.Equal(t, len(raw), buf2.Len(), "the tables decoded encode to as much")
	require.Equal(t, 40, tables.repeats.len())

	_, err = decodeTables(bytes.NewReader(raw), int64(len(raw)), 8, 60_000, 0)
	require.ErrorIs(t, err, errMismatch, "another shard count")
	_, err = decodeTables(bytes.NewReader(raw), int64(len(raw)), 4, 120_000, 0)
	require.ErrorIs(t, err, errMismatch, "another repeat window")
	// Every cut and flip would decode thousands of times; a spread of
	// them reaches every table.
	for n := 0; n < len(raw); n += 29 {
		_, err := decodeTables(bytes.NewReader(raw[:n]), int64(n), 4, 60_000, 0)
		require.Error(t, err, "cut at %d", n)
	}
	for i := 0; i < len(raw); i += 17 {
		bad := bytes.Clone(raw)
		bad[i] ^= byte(1) << (i % 8)
		_, _ = decodeTables(bytes.NewReader(bad), int64(len(bad)), 4, 60_000, 0)
	}
}
