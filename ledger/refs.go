package ledger

// txnRef names an open authorization while an operation works on it:
// enough to find it as the original of a clearing or a reversal without
// reading the store, and to expire its hold. The full record is in the
// store; a resolved transaction is found through the store's original
// index, and repeats of any message through the ledger's repeat index. A
// txnRef is a handle made for one operation; what memory keeps is packed
// in shardTxns.
type txnRef struct {
	id          string
	userID      string
	open        bool
	holdExpires int64 // epoch ms; 0 when not open
	keys        []string
	// keyHashes[:nKeyHashes] are original keys given already hashed
	// (refKeyHash), as the decision path gives them (origHashSTAN,
	// origHashRRN); they follow keys. An array, not a slice: a ref's
	// pointers reach the heap through add, and this keeps the hashes
	// on the decision's stack.
	keyHashes  [2]uint64
	nKeyHashes int
}

// addKeyHash gives the ref one more original key, hashed.
func (r *txnRef) addKeyHash(h uint64) {
	if r.nKeyHashes < len(r.keyHashes) {
		r.keyHashes[r.nKeyHashes] = h
		r.nKeyHashes++
	}
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

// shardTxns is a shard's memory of its open authorizations, packed so
// that the collector has nothing to scan in it: every open hold is a
// 48-byte openHold in fixed-size chunks (freed slots are reused), found by
// its packed ID and by the 64-bit hashes of its original keys through
// open-addressing tables of slot numbers, and ordered by hold expiry in a
// heap of slot numbers, so that expiring holds costs time proportional to
// what expires. An ID that is not of model.IDGen's form (none is, outside
// tests) is kept in oddIDs. TestOpenHoldMemory holds an open hold to
// maxOpenHoldBytes.
//
// A key hash names the hold that last claimed the key, as the string
// keys did: a later purchase that reuses DE 11 + DE 7 on the same card is
// the original those keys find. Two different keys of one shard's open
// holds share a 64-bit hash with a chance of about n/2^64 per lookup.
type shardTxns struct {
	chunks []*holdChunk
	slots  uint32   // slots made so far
	free   []uint32 // freed slots
	byID   slotTable
	byKey  slotTable // values are slot<<1 | which key
	heap   []uint32  // slots, by hold expiry
	oddIDs map[string]uint32
	open   int
}

// maxOpenHoldBytes is the most an open authorization may cost in memory:
// 48 bytes of hold, 5 to 11 of ID table, 11 to 21 of key table (two keys)
// and 4 to 8 of heap.
const maxOpenHoldBytes = 96

const holdChunkLen = 1024

type holdChunk [holdChunkLen]openHold

// openHold is one open authorization.
type openHold struct {
	id      [2]uint64 // the ID's two 55-bit halves (prefix "txn"); zero when in oddIDs
	expires int64     // epoch ms
	keys    [2]uint64 // original key hashes; 0 = none
	heapIdx uint32
	live    bool
}

func newShardTxns() shardTxns {
	return shardTxns{oddIDs: map[string]uint32{}}
}

func (st *shardTxns) at(slot uint32) *openHold {
	return &st.chunks[slot/holdChunkLen][slot%holdChunkLen]
}

// refKeyHash hashes an original key (FNV-1a 64 and MurmurHash3's mixer);
// 0 is kept for "no key".
func refKeyHash(k string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(k); i++ {
		h ^= uint64(k[i])
		h *= 1099511628211
	}
	return max(mix64(h), 1)
}

// mix64 is MurmurHash3's 64-bit finalizer.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func idHash(p [2]uint64) uint64 { return mix64(p[0] ^ mix64(p[1])) }

// packTxnID packs a transaction ID; ok is false for another form.
func packTxnID(id string) ([2]uint64, bool) {
	prefix, a, b, ok := packID(id)
	if !ok || prefix != "txn" {
		return [2]uint64{}, false
	}
	return [2]uint64{a, b}, true
}

func (st *shardTxns) idHashOf(slot uint32) uint64 { return idHash(st.at(slot).id) }
func (st *shardTxns) keyHashOf(v uint32) uint64   { return st.at(v >> 1).keys[v&1] }

// slotOf finds an open hold by ID.
func (st *shardTxns) slotOf(id string) (uint32, bool) {
	p, ok := packTxnID(id)
	if !ok {
		slot, found := st.oddIDs[id]
		return slot, found
	}
	_, slot, found := st.byID.find(idHash(p), func(slot uint32) bool { return st.at(slot).id == p })
	return slot, found
}

func (st *shardTxns) idOf(slot uint32) string {
	h := st.at(slot)
	if h.id != ([2]uint64{}) {
		return unpackID("txn", h.id[0], h.id[1])
	}
	for id, s := range st.oddIDs {
		if s == slot {
			return id
		}
	}
	return ""
}

func (st *shardTxns) handle(slot uint32) *txnRef {
	return &txnRef{id: st.idOf(slot), open: true, holdExpires: st.at(slot).expires}
}

// add remembers an open authorization with the first two of its keys.
func (st *shardTxns) add(r *txnRef) {
	if !r.open {
		return
	}
	var slot uint32
	if n := len(st.free); n > 0 {
		slot = st.free[n-1]
		st.free = st.free[:n-1]
	} else {
		if st.slots%holdChunkLen == 0 {
			st.chunks = append(st.chunks, new(holdChunk))
		}
		slot = st.slots
		st.slots++
	}
	h := st.at(slot)
	*h = openHold{expires: r.holdExpires, live: true}
	if p, ok := packTxnID(r.id); ok {
		h.id = p
		st.byID.insert(idHash(p), slot, st.idHashOf)
	} else {
		st.oddIDs[r.id] = slot
	}
	for i := range len(r.keys) + r.nKeyHashes {
		if i == len(h.keys) {
			break
		}
		var kh uint64
		if i < len(r.keys) {
			kh = refKeyHash(r.keys[i])
		} else {
			kh = r.keyHashes[i-len(r.keys)]
		}
		h.keys[i] = kh
		st.claimKey(slot, i, kh)
	}
	st.pushOpen(h, slot)
}

// claimKey makes the hold in slot the one its i-th original key finds (a
// later purchase takes a key over from an earlier one).
func (st *shardTxns) claimKey(slot uint32, i int, kh uint64) {
	v := slot<<1 | uint32(i)
	if idx, _, found := st.byKey.find(kh, func(x uint32) bool { return st.keyHashOf(x) == kh }); found {
		st.byKey.set(idx, v)
	} else {
		st.byKey.insert(kh, v, st.keyHashOf)
	}
}

// pushOpen puts the hold h in slot into the expiry heap and counts it open.
func (st *shardTxns) pushOpen(h *openHold, slot uint32) {
	h.heapIdx = uint32(len(st.heap))
	st.heap = append(st.heap, slot)
	st.up(int(h.heapIdx))
	st.open++
}

// get returns the open authorization with this ID, or nil.
func (st *shardTxns) get(id string) *txnRef {
	if slot, ok := st.slotOf(id); ok {
		return st.handle(slot)
	}
	return nil
}

// byRefKey returns the open authorization an original key names, or nil.
func (st *shardTxns) byRefKey(k string) *txnRef { return st.byRefHash(refKeyHash(k)) }

// byRefHash is byRefKey for a key already hashed.
func (st *shardTxns) byRefHash(kh uint64) *txnRef {
	if _, v, ok := st.byKey.find(kh, func(v uint32) bool { return st.keyHashOf(v) == kh }); ok {
		return st.handle(v >> 1)
	}
	return nil
}

// nextExpiring returns the open authorization whose hold expires first.
func (st *shardTxns) nextExpiring() (*txnRef, bool) {
	if len(st.heap) == 0 {
		return nil, false
	}
	return st.handle(st.heap[0]), true
}

// close forgets an authorization that no longer holds funds; from now on
// it is found through the store's index.
func (st *shardTxns) close(r *txnRef) {
	if !r.open {
		return
	}
	r.open = false
	slot, ok := st.slotOf(r.id)
	if !ok {
		return
	}
	h := st.at(slot)
	if h.id != ([2]uint64{}) {
		if idx, _, found := st.byID.find(idHash(h.id), func(s uint32) bool { return s == slot }); found {
			st.byID.remove(idx, st.idHashOf)
		}
	} else {
		delete(st.oddIDs, r.id)
	}
	for i, kh := range h.keys {
		v := slot<<1 | uint32(i)
		if kh == 0 {
			continue
		}
		if idx, _, found := st.byKey.find(kh, func(x uint32) bool { return x == v }); found {
			st.byKey.remove(idx, st.keyHashOf)
		}
	}
	st.removeHeap(int(h.heapIdx))
	*h = openHold{}
	st.free = append(st.free, slot)
	st.open--
}

// bytes is the memory the open holds take, and of it the room in the
// last chunk not yet used (for the memory test).
func (st *shardTxns) bytes() (total, unfilled int) {
	total = len(st.chunks)*holdChunkLen*48 + cap(st.free)*4 + st.byID.bytes() + st.byKey.bytes() + cap(st.heap)*4
	return total, (len(st.chunks)*holdChunkLen - int(st.slots)) * 48
}

// The heap of slots, ordered by expiry.
func (st *shardTxns) less(i, j int) bool {
	return st.at(st.heap[i]).expires < st.at(st.heap[j]).expires
}

func (st *shardTxns) swap(i, j int) {
	st.heap[i], st.heap[j] = st.heap[j], st.heap[i]
	st.at(st.heap[i]).heapIdx = uint32(i)
	st.at(st.heap[j]).heapIdx = uint32(j)
}

func (st *shardTxns) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !st.less(j, i) {
			break
		}
		st.swap(i, j)
		j = i
	}
}

func (st *shardTxns) down(i int) {
	n := len(st.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && st.less(r, l) {
			j = r
		}
		if !st.less(j, i) {
			return
		}
		st.swap(i, j)
		i = j
	}
}

func (st *shardTxns) removeHeap(i int) {
	last := len(st.heap) - 1
	if i != last {
		st.swap(i, last)
	}
	st.heap = st.heap[:last]
	if i != last {
		st.down(i)
		st.up(i)
	}
}

// authCode derives a 6-character approval code from the transaction ID:
// the last six digits of the base-36 FNV-1a hash of the ID (zero-padded),
// in upper case.
func authCode(txnID string) string {
	b := authCodeOf(txnID)
	return string(b[:])
}

// authCodeOf is authCode as its six bytes, of an ID held in a string or
// in bytes.
func authCodeOf[T string | []byte](txnID T) [6]byte {
	h := uint64(14695981039346656037)
	for i := 0; i < len(txnID); i++ {
		h ^= uint64(txnID[i])
		h *= 1099511628211
	}
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [6]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[h%36]
		h /= 36
	}
	return b
}
