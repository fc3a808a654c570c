package eventlog

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// FuzzTxnRecord: any payload survives the binary form and reads as
// encoding/json writes its map.
func FuzzTxnRecord(f *testing.F) {
	f.Add("txn_1", "card_1", "Merchant <&>", "pending", "", int64(4250), int64(0))
	f.Add("", "", "\xff", "", "declined_reason", int64(-1), int64(1763700000000))
	f.Fuzz(func(t *testing.T, id, card, merchant, status, reason string, amount, posted int64) {
		p := TxnPayload{TransactionID: id, CardID: card, AgentID: card + "a", UserID: id + "u", Amount: amount,
			AuthorizedAmount: -amount, Currency: status, MerchantName: merchant, MCC: reason, Status: status,
			DeclinedReason: reason, PostedAt: posted, AttestationStatus: merchant, IntentID: reason, OriginalTransactionID: id}
		rec, err := Decode("evt_f", AppendTxn(nil, posted, model.EvtTxnDeclined, &p))
		require.NoError(t, err)
		want, err := json.Marshal(p.Map())
		require.NoError(t, err)
		require.Equal(t, string(want), string(rec.Data))
	})
}

// FuzzDecode: no input panics, and whatever decodes yields valid JSON.
func FuzzDecode(f *testing.F) {
	p := authorized()
	f.Add(AppendTxn(nil, 1, model.EvtTxnAuthorized, &p))
	j, _ := AppendJSON(nil, 1, model.EvtCardCreated, map[string]string{"cardId": "card_1"})
	f.Add(j)
	f.Add([]byte(`{"id":"evt_1","type":"user.approved","createdAt":1,"data":{"userId":"usr_1"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, err := Decode("evt_1", raw)
		if err != nil {
			return
		}
		require.True(t, json.Valid(rec.Data), "data %q", rec.Data)
		require.True(t, json.Valid(rec.AppendEnvelope(nil)))
	})
}
