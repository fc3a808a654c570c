package ledger

import (
	"container/heap"
	"hash/fnv"
	"strconv"
)

// txnRef is what memory keeps of a transaction: enough to answer a repeat
// with its first reply, to find an original for a clearing or a reversal,
// and to expire a hold. The full record is in the store.
type txnRef struct {
	id          string
	userID      string
	fingerprint uint64
	code        string
	authCode    string
	reason      string
	open        bool
	holdExpires int64 // epoch ms; 0 when not open
	until       int64 // epoch ms after which the ref may be dropped (when not open)
	keys        []string
	heapIdx     int
}

// Ref keys. A message is identified for repeat detection by its class,
// STAN and RRN; an original is found by DE 90 (STAN + DE 7) or by RRN and
// approval code.
func repeatKey(class byte, stan, rrn string) string { return "m" + string(class) + stan + "|" + rrn }
func origKeySTAN(stan, txnTime string) string       { return "s" + stan + "|" + txnTime }
func origKeyRRN(rrn, authCode string) string        { return "r" + rrn + "|" + authCode }

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

// refQueue remembers refs in the order they may be dropped (their until is
// non-decreasing with insertion, since time only moves forward), so dropping
// stale refs is proportional to what is dropped.
type refQueue struct {
	items []*txnRef
	head  int
}

func (q *refQueue) push(r *txnRef) { q.items = append(q.items, r) }

func (q *refQueue) popExpired(nowMs int64, drop func(*txnRef)) {
	for q.head < len(q.items) {
		r := q.items[q.head]
		if r.until > nowMs {
			break
		}
		q.items[q.head] = nil
		q.head++
		drop(r)
	}
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append([]*txnRef(nil), q.items[q.head:]...)
		q.head = 0
	}
}

// shardTxns is a shard's transaction memory.
type shardTxns struct {
	refs  map[string]*txnRef // by repeat and original keys
	byID  map[string]*txnRef // open transactions by ID
	holds holdHeap
	queue refQueue
}

func newShardTxns() shardTxns {
	return shardTxns{refs: map[string]*txnRef{}, byID: map[string]*txnRef{}}
}

func (st *shardTxns) add(r *txnRef) {
	r.heapIdx = -1
	for _, k := range r.keys {
		st.refs[k] = r
	}
	if r.open {
		st.byID[r.id] = r
		heap.Push(&st.holds, r)
	}
	st.queue.push(r)
}

// close marks an open ref resolved; it stays findable until its until.
func (st *shardTxns) close(r *txnRef, until int64) {
	if r.open {
		r.open = false
		delete(st.byID, r.id)
		if r.heapIdx >= 0 && r.heapIdx < len(st.holds) && st.holds[r.heapIdx] == r {
			heap.Remove(&st.holds, r.heapIdx)
		}
	}
	r.until = until
	st.queue.push(r)
}

func (st *shardTxns) drop(r *txnRef) {
	if r.open {
		return // an open hold is dropped only when it is resolved
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
