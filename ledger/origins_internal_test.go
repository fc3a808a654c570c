package ledger

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// maxOriginBytes bounds what memory spends to find one approved purchase
// by both of its references for as long as the ledger runs: a 48-byte
// entry and a 4-byte slot in each of two open-addressing tables (between
// 3/8 and 3/4 full), with the entries' room to grow.
const maxOriginBytes = 80

// TestOriginMemory holds the index of approved purchases to
// maxOriginBytes each on the heap, just after the table grew and just
// before.
func TestOriginMemory(t *testing.T) {
	var ids model.IDGen
	for _, n := range []int{131_072 + 1, 262_000} {
		txns := make([]model.Transaction, n)
		for i := range txns {
			txns[i] = model.Transaction{ID: ids.New(model.PrefixTransaction, time.UnixMilli(1_700_000_000_000+int64(i))),
				Kind: model.KindPurchase, Status: model.TxnAuthorized, ResponseCode: authz.CodeApproved, CardID: "card_x",
				STAN: fmt.Sprintf("%06d", i%1_000_000), TxnTime: "1207101500", RRN: fmt.Sprintf("%012d", i), AuthorizationCode: "A1B2C3"}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		o := newOrigins()
		for i := range txns {
			o.add(&txns[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		t.Logf("%d approved purchases: %.1f bytes each on the heap", n, per)
		assert.LessOrEqual(t, per, float64(maxOriginBytes))
		require.Equal(t, []string{txns[n/2].ID}, o.candidates(refRRN, txns[n/2].RRN, "A1B2C3", "card_x", 0))
		runtime.KeepAlive(o)
	}
}
