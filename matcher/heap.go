package matcher

// expiry is one pending intent in the expiry heap. The heap is ordered by
// expiresMs, then by seq (the order intents were added), so Expire reports
// intents in a deterministic order without looking anything up.
type expiry struct {
	expiresMs int64
	seq       uint64
	handle    uint32
}

func (a *expiry) before(b *expiry) bool {
	return a.expiresMs < b.expiresMs || (a.expiresMs == b.expiresMs && a.seq < b.seq)
}

// The heap is a binary min-heap over ix.heap; each record knows its
// position (heapPos), so an entry can leave the heap from the middle (the
// one a matched or removed intent left behind, when Add reuses its record)
// or move (SetExpiry). Sifting moves a hole rather than swapping, which
// halves the writes.
//
// Adding an intent that expires after most others (the usual case: now plus
// a TTL) and removing one from the middle both settle within a level or two
// on average, because most of a heap's entries sit in its last levels.

func (ix *Index) heapPush(it expiry) {
	ix.heap = append(ix.heap, it)
	ix.siftUp(len(ix.heap) - 1)
}

// heapRemove takes the entry at position i out of the heap.
func (ix *Index) heapRemove(i int) {
	last := len(ix.heap) - 1
	if i != last {
		ix.heap[i] = ix.heap[last]
	}
	ix.heap = ix.heap[:last]
	if i != last {
		ix.heapFix(i)
	}
}

// heapFix restores the order after the entry at i changed.
func (ix *Index) heapFix(i int) {
	if ix.siftUp(i) == i {
		ix.siftDown(i)
	}
}

func (ix *Index) siftUp(i int) int {
	h := ix.heap
	it := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !it.before(&h[p]) {
			break
		}
		h[i] = h[p]
		ix.recs[h[i].handle].heapPos = uint32(i)
		i = p
	}
	h[i] = it
	ix.recs[it.handle].heapPos = uint32(i)
	return i
}

func (ix *Index) siftDown(i int) {
	h := ix.heap
	n := len(h)
	it := h[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].before(&h[c]) {
			c++
		}
		if !h[c].before(&it) {
			break
		}
		h[i] = h[c]
		ix.recs[h[i].handle].heapPos = uint32(i)
		i = c
	}
	h[i] = it
	ix.recs[it.handle].heapPos = uint32(i)
}
