package eventlog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// A reversal's event is stored exactly as it was when it was encoded
// from a map: AppendJSON of the payload's Map() with the three fields
// added.
func TestAppendTxnReversalMatchesTheMap(t *testing.T) {
	full := authorized()
	full.DeclinedReason, full.PostedAt, full.IntentID, full.OriginalTransactionID = "x", 1763700000123, "int_1", "txn_0"
	full.RequestedAmount = 6000
	odd := TxnPayload{MerchantName: "Café <Ünïcode> & \"quotes\"\n\x01\u2028 \xff", Amount: -5, Status: "reversed"}
	for name, c := range map[string]struct {
		p  TxnPayload
		rv Reversal
	}{
		"typical":     {authorized(), Reversal{OriginalAmount: 4250, ReversedAmount: 4250, Reason: "customer_cancellation"}},
		"every field": {full, Reversal{OriginalAmount: -1, ReversedAmount: 0, Reason: ""}},
		"odd strings": {odd, Reversal{OriginalAmount: 1 << 62, ReversedAmount: -7, Reason: "<&>\"\\\x00é"}},
		"zero":        {TxnPayload{}, Reversal{}},
	} {
		t.Run(name, func(t *testing.T) {
			data := c.p.Map()
			data["originalAmount"], data["reversedAmount"], data["reason"] = c.rv.OriginalAmount, c.rv.ReversedAmount, c.rv.Reason
			want, err := AppendJSON(nil, 1763700000000, model.EvtTxnReversed, data)
			require.NoError(t, err)
			got := AppendTxnReversal(nil, 1763700000000, model.EvtTxnReversed, &c.p, c.rv)
			require.Equal(t, string(want), string(got))
		})
	}
}

func TestAppendTxnReversalAllocatesNothingIntoRoom(t *testing.T) {
	p := authorized()
	buf := make([]byte, 0, 1024)
	rv := Reversal{OriginalAmount: 4250, ReversedAmount: 4250, Reason: "customer_cancellation"}
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = AppendTxnReversal(buf[:0], 1, model.EvtTxnReversed, &p, rv) }))
}
