package ledger

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// maxHistoryBytes bounds what memory keeps of one approved purchase for as
// long as the process runs, after its hold and its repeat entry are gone:
// its place in its card's, user's and agent's transaction lists, its
// event's place among the events of its type, and its entry in the
// originals' index (which finds it for a refund or a late clearing).
const maxHistoryBytes = 128

// TestHistoryMemory measures, on the heap, what the tables that grow with
// history (not with what is open) cost an approved purchase, at sizes
// that leave the tables just grown and nearly full. These tables are not
// trimmed: at 14,000 approvals a second (the load generator's mix at
// 20,000 messages a second) they grow by this figure times 14,000 every
// second, which is what bounds a long run's memory (docs/decision-log.md).
func TestHistoryMemory(t *testing.T) {
	var ids model.IDGen
	for _, n := range []int{100_000, 129_000, 190_000} {
		txns := make([]model.Transaction, n)
		evIDs := make([][]byte, n)
		start := time.UnixMilli(1_700_000_000_000)
		for i := range n {
			now := start.Add(time.Duration(i) * time.Millisecond)
			txns[i] = model.Transaction{ID: ids.New(model.PrefixTransaction, now), Kind: model.KindPurchase,
				Status: model.TxnAuthorized, ResponseCode: authz.CodeApproved, AuthorizationCode: "A1B2C3",
				CardID: fmt.Sprintf("card_%04d", i%1000), UserID: fmt.Sprintf("user_%03d", i%100),
				AgentID: fmt.Sprintf("agent_%03d", i%100), STAN: strconv.Itoa(i % 1_000_000),
				TxnTime: "1207101500", RRN: fmt.Sprintf("%012d", i)}
			evIDs[i] = []byte(ids.New(model.PrefixEvent, now))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		lists, events, origins := newTxnLists(), newEventsByType(), newOrigins()
		for i := range txns {
			tx := &txns[i]
			id := []byte(tx.ID)
			lists.add('c', []byte(tx.CardID), id)
			lists.add('u', []byte(tx.UserID), id)
			lists.add('a', []byte(tx.AgentID), id)
			events.addTyped(model.EvtTxnAuthorized, evIDs[i])
			origins.add(tx)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
		t.Logf("%d approved purchases: %.1f bytes each on the heap (lists, events by type, originals)", n, per)
		assert.LessOrEqual(t, per, float64(maxHistoryBytes))
		assert.Equal(t, txns[n/2].ID, origins.newest(refRRN, txns[n/2].RRN, "A1B2C3", txns[n/2].CardID))
		runtime.KeepAlive(lists)
		runtime.KeepAlive(events)
	}
}
