package ledger

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// TestDecodeTail: the decoder of a restart's replay hands over, in LSN
// order, one step per transaction, event and older index key the records
// hold (their bytes intact after the log's read buffer moved on), skips
// everything else, and ends the stream at the first record it cannot
// decode with an error that names it.
func TestDecodeTail(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	txn := func(id string) []byte {
		raw, err := AppendTransaction(nil, &model.Transaction{ID: id, CardID: "card_1", UserID: "user_1", AgentID: "agent_1",
			Status: model.TxnAuthorized, AmountCents: 100, Currency: "USD"})
		require.NoError(t, err)
		return raw
	}
	event, err := eventlog.AppendJSON(nil, model.Ms(now), model.EvtTxnAuthorized, map[string]string{"id": "txn_a"})
	require.NoError(t, err)
	record := func(ops ...[2][]byte) []byte {
		rec := appendRecordHeader(nil, RecOther, now)
		for _, op := range ops {
			rec = appendOp(rec, opSet, op[0], op[1])
		}
		return rec
	}
	good := [][]byte{
		record([2][]byte{keyspace.TxnKey("txn_a"), txn("txn_a")}, [2][]byte{keyspace.EventKey("evt_a"), event},
			[2][]byte{keyspace.BalanceKey("user_1"), []byte(`{}`)}),
		record([2][]byte{keyspace.TxnByCardKey("card_1", "txn_b"), nil}, [2][]byte{keyspace.EventByTypeKey("t.x", "evt_b"), nil}),
	}
	bad := record([2][]byte{keyspace.TxnKey("txn_c"), []byte("not a transaction")})

	for _, tc := range []struct {
		name    string
		recs    [][]byte
		repeat  int // good records appended this many times, to fill several chunks
		wantErr string
	}{
		{name: "whole", recs: good, repeat: replayChunkSteps},
		{name: "stops at a bad record", recs: append(append([][]byte{}, good...), bad, good[0]), repeat: 1, wantErr: "record 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dl, err := decisionlog.Open(decisionlog.Config{Dir: "log", FS: vfs.NewMem()})
			require.NoError(t, err)
			defer func() { require.NoError(t, dl.Close()) }()
			var last decisionlog.LSN
			for range tc.repeat {
				last, err = dl.Append(tc.recs...)
				require.NoError(t, err)
			}
			require.NoError(t, dl.WaitDurable(last))

			l := &Ledger{dlog: dl}
			chunks, free := make(chan *replayChunk, 2), make(chan *replayChunk, 4)
			go l.decodeTail(1, chunks, free)
			var got []string
			var gotErr error
			for c := range chunks {
				for i := range c.steps {
					s := &c.steps[i]
					switch s.kind {
					case stepTxn:
						got = append(got, "txn "+s.txn.ID+" "+s.txn.CardID)
					case stepEvent:
						got = append(got, "event "+s.typ+" "+string(c.bytes(s.b)))
					case stepEventType:
						got = append(got, "event index "+string(c.bytes(s.a))+" "+string(c.bytes(s.b)))
					case stepList:
						got = append(got, "list "+string(s.listKind)+" "+string(c.bytes(s.a))+" "+string(c.bytes(s.b)))
					}
				}
				if c.err != nil {
					gotErr = c.err
				}
				free <- c
			}
			one := []string{"txn txn_a card_1", "event " + model.EvtTxnAuthorized + " evt_a", "list c card_1 txn_b", "event index t.x evt_b"}
			var want []string
			for range tc.repeat {
				want = append(want, one...)
			}
			require.Equal(t, want, got)
			if tc.wantErr == "" {
				require.NoError(t, gotErr)
				return
			}
			require.ErrorContains(t, gotErr, tc.wantErr)
		})
	}
}
