package ledger

import (
	"container/heap"
	"hash/fnv"
	"strconv"
)

// txnRef is what memory keeps of an open authorization: enough to find it
// as the original of a clearing or a reversal without reading the store,
// and to expire its hold. The full record is in the store; a resolved
// transaction is found through the store's original index, and repeats of
// any message through the ledger's repeat index.
type txnRef struct {
	id          string
	userID      string
	open        bool
	holdExpires int64 // epoch ms; 0 when not open
	keys        []string
	heapIdx     int
}

// Ref keys. A message is identified for repeat detection by its class,
// STAN and RRN; an original is found, among its card's purchases, by DE 90
// (STAN + DE 7) or by RRN and approval code.
func repeatKey(class byte, stan, rrn string) string { return "m" + string(class) + stan + "|" + rrn }
func origKeySTAN(cardID, stan, txnTime string) string {
	return "s" + cardID + "|" + stan + "|" + txnTime
}
func origKeyRRN(cardID, rrn, authCode string) string {
	return "r" + cardID + "|" + rrn + "|" + authCode
}

// holdHeap orders open transactions by hold expiry, so that expiring holds
// costs time proportional to what expires.
type holdHeap []*txnRef

func (h holdHeap) Len() int           { return len(h) }
func (h holdHeap) Less(i, j int) bool { return h[i].holdExpires < h[j].holdExpires }
func (h holdHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *holdHeap) Push(x any) {
	r := x.(*txnRef)
	r.heapIdx = len(*h)
	*h = append(*h, r)
}
func (h *holdHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.heapIdx = -1
	return r
}

// shardTxns is a shard's memory of its open authorizations.
type shardTxns struct {
	refs  map[string]*txnRef // by original keys
	byID  map[string]*txnRef
	holds holdHeap
}

func newShardTxns() shardTxns {
	return shardTxns{refs: map[string]*txnRef{}, byID: map[string]*txnRef{}}
}

// add remembers an open authorization.
func (st *shardTxns) add(r *txnRef) {
	r.heapIdx = -1
	if !r.open {
		return
	}
	for _, k := range r.keys {
		st.refs[k] = r
	}
	st.byID[r.id] = r
	heap.Push(&st.holds, r)
}

// close forgets an authorization that no longer holds funds; from now on
// it is found through the store's index.
func (st *shardTxns) close(r *txnRef) {
	if !r.open {
		return
	}
	r.open = false
	delete(st.byID, r.id)
	if r.heapIdx >= 0 && r.heapIdx < len(st.holds) && st.holds[r.heapIdx] == r {
		heap.Remove(&st.holds, r.heapIdx)
	}
	for _, k := range r.keys {
		if st.refs[k] == r {
			delete(st.refs, k)
		}
	}
}

// authCode derives a 6-character approval code from the transaction ID.
func authCode(txnID string) string {
	h := fnv.New64a()
	h.Write([]byte(txnID))
	s := strconv.FormatUint(h.Sum64(), 36)
	for len(s) < 6 {
		s = "0" + s
	}
	b := []byte(s[len(s)-6:])
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}
