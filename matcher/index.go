package matcher

import "strings"

// Pending is what the matcher keeps of one pending intent.
type Pending struct {
	ID             string // the intent's ID (int_...)
	CardID         string
	HasAmount      bool   // false: any amount matches
	ExpectedCents  int64  // meaningful only when HasAmount
	ToleranceCents int64  // allowed |actual - expected|; a negative value is kept as 0
	Merchant       string // expected merchant as given; "" = any merchant (a blank one is kept as "")
	CreatedMs      int64  // epoch milliseconds; orders a card's intents, oldest first
	ExpiresMs      int64  // epoch milliseconds; the intent is expired from this instant on
}

// Result is the outcome of matching one authorization.
type Result struct {
	// Found is false when the card had no intent pending (unexpired) at
	// nowMs. Nothing was removed and the other fields are zero.
	Found bool
	// Matched is AmountMatch && MerchantMatch: the intent becomes matched.
	// When Found is true and Matched is false it becomes mismatched.
	Matched  bool
	IntentID string
	// AmountMatch: |amount - expected| <= tolerance, or no expected amount.
	AmountMatch bool
	// MerchantMatch: MerchantMatches(expected, actual), or no expected
	// merchant.
	MerchantMatch bool
}

// Index keeps the pending intents of many cards and matches authorizations
// against them. The zero value is an empty index ready to use.
//
// An Index is not safe for concurrent use. It is meant to sit inside the
// authorization decision, under the lock of the shard that owns its cards:
// the caller holds that lock for every call, including Pending and Expire
// and the callbacks they make.
//
// Layout. A card's intents sit in one slice, oldest first, inside the slot
// of an open-addressing card table (cards.go): Match costs two dependent
// memory loads before it can decide. Each intent also has a fixed-size
// record (its handle's slot in recs), an entry in a min-heap of expiries
// and a slot in an ID table; those serve Remove, SetExpiry and Expire.
// Expected merchants are interned: each distinct name is normalized once
// and stored once, however many intents name it.
//
// Deferred clean-up. When Match or Remove takes an intent out, only its
// card's slice changes and its handle goes on a free stack. Its record,
// heap entry and ID-table slot are left as they were, and are cleared when
// Add next reuses the handle (or, for the heap entry, when Expire reaches
// it). A record is free exactly when no card holds its handle, so nothing
// needs marking. That keeps Match off the records, the heap and the ID
// table, each of which would cost it a cache miss at a million intents,
// and costs nothing in memory: a handle has one record, at most one heap
// entry and at most one ID slot, and the number of handles follows the peak
// number of intents.
type Index struct {
	cards cardTable
	spare [][]entry // empty slices of deleted cards, for new cards

	recs []record
	free []uint32 // free handles, most recently freed last
	ids  idTable
	heap []expiry
	seq  uint64 // counts Adds; orders the heap among equal expiries
	n    int

	merchants      []merchant // [0] stands for "any merchant"
	merchantByName map[string]uint32
	freeMerchants  []uint32

	// scratch receives the authorization's normalized descriptor in Match,
	// so that matching does not allocate.
	scratch []byte
}

// entry is one pending intent, as Match reads it.
type entry struct {
	id             string
	expectedCents  int64
	toleranceCents int64
	createdMs      int64
	expiresMs      int64
	handle         uint32 // the intent's record
	meta           uint32 // merchant index | hasAmountBit
}

const hasAmountBit = 1 << 31

func (e *entry) merchant() uint32 { return e.meta &^ hasAmountBit }
func (e *entry) hasAmount() bool  { return e.meta&hasAmountBit != 0 }

// record is what stays put while an intent's entry moves inside its card's
// slice and its card moves inside the card table: a handle indexes ix.recs
// for the intent's whole life. A free handle's record still describes the
// intent it last held, so that Add can clear what that intent left behind.
type record struct {
	cardTag uint32 // the card's tag (cardTable.holding)
	idTag   uint32 // the ID's tag in the ID table
	heapPos uint32 // position of the record's heap entry, or noHeap
	flags   uint32
}

// recInIDs: the record has a slot in the ID table, its intent's or one its
// last intent left behind.
const recInIDs = 1

const noHeap = ^uint32(0)

// merchant is one interned expected merchant.
type merchant struct {
	name string // as given
	key  string // normalized, with word breaks kept (see keysMatch)
	refs uint32
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	ix := &Index{scratch: make([]byte, 0, 128)}
	ix.init()
	return ix
}

func (ix *Index) init() {
	if ix.merchantByName == nil {
		ix.merchantByName = make(map[string]uint32)
		ix.merchants = []merchant{{}}
	}
}

// Len returns the number of intents in the index, including expired ones
// that Expire has not yet removed.
func (ix *Index) Len() int { return ix.n }

// Add adds a pending intent, replacing any intent with the same ID (on
// whichever card). A negative ToleranceCents is kept as 0, so that a
// tolerance never widens by mistake, and a Merchant of only spaces as "".
func (ix *Index) Add(p Pending) {
	ix.init()
	if ci, k, ok := ix.lookup(p.ID); ok {
		ix.removeAt(ci, k)
	}
	idTag := ix.ids.tag(p.ID)
	cardTag := ix.cards.tag(p.CardID)
	meta := ix.internMerchant(p.Merchant)
	if p.HasAmount {
		meta |= hasAmountBit
	}
	h := ix.newRecord()
	ix.recs[h] = record{cardTag: cardTag, idTag: idTag, heapPos: noHeap, flags: recInIDs}
	ix.ids.insert(idTag, h)
	ix.seq++
	ix.heapPush(expiry{expiresMs: p.ExpiresMs, seq: ix.seq, handle: h})
	ix.n++

	ci := ix.cards.find(cardTag, p.CardID)
	if ci < 0 {
		var entries []entry
		if n := len(ix.spare); n > 0 {
			entries, ix.spare = ix.spare[n-1], ix.spare[:n-1]
		}
		ci = ix.cards.insert(cardTag, p.CardID, entries)
	}
	c := &ix.cards.slots[ci]
	if len(c.entries) == cap(c.entries) {
		// Grow by half rather than double: a card's slice is most of an
		// intent's memory, and ten intents fit in 11 slots instead of 16.
		c.entries = append(make([]entry, 0, cap(c.entries)*3/2+1), c.entries...)
	}
	// Intents usually arrive in creation order, so the new one goes last;
	// otherwise it goes after every intent created at or before it.
	k := len(c.entries)
	for k > 0 && c.entries[k-1].createdMs > p.CreatedMs {
		k--
	}
	c.entries = c.entries[:len(c.entries)+1]
	copy(c.entries[k+1:], c.entries[k:])
	c.entries[k] = entry{
		id:             p.ID,
		expectedCents:  p.ExpectedCents,
		toleranceCents: max(p.ToleranceCents, 0),
		createdMs:      p.CreatedMs,
		expiresMs:      p.ExpiresMs,
		handle:         h,
		meta:           meta,
	}
}

// Remove removes the intent with this ID (canceled, or resolved by the
// caller) and reports whether it was there.
func (ix *Index) Remove(id string) bool {
	ci, k, ok := ix.lookup(id)
	if ok {
		ix.removeAt(ci, k)
	}
	return ok
}

// SetExpiry changes when the intent with this ID expires and reports
// whether it was there. The caller uses it to extend an intent's life to
// 24 hours once card details are read under it; shortening works too.
func (ix *Index) SetExpiry(id string, expiresMs int64) bool {
	ci, k, ok := ix.lookup(id)
	if !ok {
		return false
	}
	e := &ix.cards.slots[ci].entries[k]
	e.expiresMs = expiresMs
	pos := int(ix.recs[e.handle].heapPos)
	ix.heap[pos].expiresMs = expiresMs
	ix.heapFix(pos)
	return true
}

// Pending calls fn for each intent of the card, oldest first, until fn
// returns false. It includes intents past their ExpiresMs that Expire has
// not removed yet. fn must not modify the Index.
func (ix *Index) Pending(cardID string, fn func(p Pending) bool) {
	ci := ix.cards.find(ix.cards.tag(cardID), cardID)
	if ci < 0 {
		return
	}
	c := &ix.cards.slots[ci]
	for k := range c.entries {
		if !fn(ix.pendingOf(c, &c.entries[k])) {
			return
		}
	}
}

// Match matches an authorization of amountCents at merchantName on cardID
// against the card's intents that have not expired at nowMs, removes the
// intent it chose and reports it.
//
// The chosen intent is the oldest that matches on both amount and merchant
// (it becomes matched). If none does, it is the best candidate (it becomes
// mismatched): the one matching the most criteria, then the one whose
// expected amount is nearest, then the oldest. An intent without an
// expected amount is at distance 0. Found is false, and nothing changes,
// when the card has no unexpired intent.
//
// Match does not allocate once the Index's scratch buffer has grown to the
// longest descriptor seen, and normalizes merchantName only if some intent
// of the card names a merchant. Its cost is linear in the card's intent
// count, which the caller bounds.
func (ix *Index) Match(cardID string, amountCents int64, merchantName string, nowMs int64) Result {
	ci, k, amountOK, merchantOK := ix.choose(cardID, amountCents, merchantName, nowMs)
	if k < 0 {
		return Result{}
	}
	res := Result{
		Found:         true,
		Matched:       amountOK && merchantOK,
		IntentID:      ix.cards.slots[ci].entries[k].id,
		AmountMatch:   amountOK,
		MerchantMatch: merchantOK,
	}
	ix.removeAt(ci, k)
	return res
}

// choose is Match's decision without the removal: the card's slot and the
// position of the chosen intent in it (k < 0: none), and how it matched.
func (ix *Index) choose(cardID string, amountCents int64, merchantName string, nowMs int64) (ci, k int, amountOK, merchantOK bool) {
	ci = ix.cards.find(ix.cards.tag(cardID), cardID)
	if ci < 0 {
		return ci, -1, false, false
	}
	entries := ix.cards.slots[ci].entries

	best := -1
	var bestScore int
	var bestDiff uint64
	var bestAmount, bestMerchant bool

	normalized := false
	lastMerchant, lastOK := uint32(0), true // merchant 0 (any) always matches

	for k := range entries {
		e := &entries[k]
		if e.expiresMs <= nowMs {
			continue
		}
		amountOK, diff := true, uint64(0)
		if e.hasAmount() {
			diff = absDiff(amountCents, e.expectedCents)
			amountOK = diff <= uint64(e.toleranceCents)
		}
		// Intents of one card often name the same merchant: compare each
		// distinct one once per call, and normalize the descriptor only
		// when some intent names a merchant.
		if m := e.merchant(); m != lastMerchant {
			lastMerchant, lastOK = m, true
			if m != 0 {
				if !normalized {
					ix.scratch = appendKey(ix.scratch[:0], merchantName, true)
					normalized = true
				}
				lastOK = keysMatch(ix.merchants[m].key, ix.scratch)
			}
		}
		merchantOK := lastOK
		if amountOK && merchantOK {
			return ci, k, true, true // the oldest full match: entries run oldest first
		}
		score := 0
		if amountOK {
			score++
		}
		if merchantOK {
			score++
		}
		// Strict comparisons keep the older candidate on a tie.
		if best < 0 || score > bestScore || (score == bestScore && diff < bestDiff) {
			best, bestScore, bestDiff = k, score, diff
			bestAmount, bestMerchant = amountOK, merchantOK
		}
	}
	return ci, best, bestAmount, bestMerchant
}

// Expire removes every intent whose ExpiresMs <= nowMs and calls fn (if
// not nil) for each after it has left the index, in order of ExpiresMs and,
// among equal ones, in the order they were added. It pops them from a
// min-heap, so its cost is O(log n) per expiring intent (and per heap entry
// left behind by an intent matched or removed earlier whose expiry has
// passed) and it never looks at intents that stay. fn must not modify the
// Index.
func (ix *Index) Expire(nowMs int64, fn func(p Pending)) {
	for len(ix.heap) > 0 && ix.heap[0].expiresMs <= nowMs {
		h := ix.heap[0].handle
		ix.heapRemove(0)
		r := &ix.recs[h]
		r.heapPos = noHeap
		ci, k, ok := ix.cards.holding(r.cardTag, h)
		if !ok {
			continue // left behind by Match or Remove
		}
		c := &ix.cards.slots[ci]
		p := ix.pendingOf(c, &c.entries[k])
		ix.removeAt(ci, k)
		if fn != nil {
			fn(p)
		}
	}
}

func (ix *Index) pendingOf(c *card, e *entry) Pending {
	return Pending{
		ID:             e.id,
		CardID:         c.id,
		HasAmount:      e.hasAmount(),
		ExpectedCents:  e.expectedCents,
		ToleranceCents: e.toleranceCents,
		Merchant:       ix.merchants[e.merchant()].name,
		CreatedMs:      e.createdMs,
		ExpiresMs:      e.expiresMs,
	}
}

// lookup finds the intent with this ID: its card's slot and its position
// there.
func (ix *Index) lookup(id string) (ci, k int, ok bool) {
	if ix.n == 0 {
		return 0, 0, false
	}
	t := &ix.ids
	tag := t.tag(id)
	mask := len(t.slots) - 1
	for i := t.home(tag); t.slots[i] != 0; i = (i + 1) & mask {
		s := t.slots[i]
		if uint32(s>>32) != tag {
			continue
		}
		h := uint32(s) - 1
		ci, k, ok := ix.cards.holding(ix.recs[h].cardTag, h)
		if ok && ix.cards.slots[ci].entries[k].id == id {
			return ci, k, true
		} // !ok: a slot left behind by Match or Remove
	}
	return 0, 0, false
}

// removeAt takes the k-th intent of the card in slot ci out of the index.
// It touches only the card and the free stack (see Index, "Deferred
// clean-up").
func (ix *Index) removeAt(ci, k int) {
	c := &ix.cards.slots[ci]
	e := c.entries[k]
	n := len(c.entries) - 1
	copy(c.entries[k:], c.entries[k+1:])
	c.entries[n] = entry{} // drop the ID string
	c.entries = c.entries[:n]

	ix.releaseMerchant(e.merchant())
	ix.free = append(ix.free, e.handle)
	ix.n--

	switch {
	case n == 0:
		// Keep the slice for the next new card, so that cards coming and
		// going do not allocate; a bounded number of small ones only.
		if cap(c.entries) <= 16 && len(ix.spare) < 1024 {
			ix.spare = append(ix.spare, c.entries)
		}
		ix.cards.delete(ci)
	case cap(c.entries) > 32 && n < cap(c.entries)/4:
		// A card that once had many intents gives the memory back.
		c.entries = append(make([]entry, 0, 2*n), c.entries...)
	}
}

// newRecord returns a free handle, first clearing the heap entry and ID
// slot its last intent left behind. The most recently freed handle is
// reused first, so those are cleared soon after they are left.
func (ix *Index) newRecord() uint32 {
	n := len(ix.free)
	if n == 0 {
		if len(ix.recs) >= 1<<32-2 {
			panic("matcher: more than 2^32-2 pending intents")
		}
		ix.recs = append(ix.recs, record{heapPos: noHeap})
		return uint32(len(ix.recs) - 1)
	}
	h := ix.free[n-1]
	ix.free = ix.free[:n-1]
	r := &ix.recs[h]
	if r.heapPos != noHeap {
		ix.heapRemove(int(r.heapPos))
		r.heapPos = noHeap
	}
	if r.flags&recInIDs != 0 {
		ix.ids.remove(r.idTag, h)
		r.flags &^= recInIDs
	}
	return h
}

// internMerchant returns the merchant index for an expected merchant,
// normalizing it the first time it is seen. A blank name is 0, any
// merchant.
func (ix *Index) internMerchant(name string) uint32 {
	if strings.TrimSpace(name) == "" {
		return 0
	}
	if m, ok := ix.merchantByName[name]; ok {
		ix.merchants[m].refs++
		return m
	}
	ix.scratch = appendKey(ix.scratch[:0], name, true)
	mc := merchant{name: name, key: string(ix.scratch), refs: 1}
	var m uint32
	if n := len(ix.freeMerchants); n > 0 {
		m = ix.freeMerchants[n-1]
		ix.freeMerchants = ix.freeMerchants[:n-1]
		ix.merchants[m] = mc
	} else {
		if len(ix.merchants) >= hasAmountBit {
			panic("matcher: more than 2^31 distinct expected merchants")
		}
		m = uint32(len(ix.merchants))
		ix.merchants = append(ix.merchants, mc)
	}
	ix.merchantByName[name] = m
	return m
}

func (ix *Index) releaseMerchant(m uint32) {
	if m == 0 {
		return
	}
	mc := &ix.merchants[m]
	if mc.refs--; mc.refs == 0 {
		delete(ix.merchantByName, mc.name)
		*mc = merchant{}
		ix.freeMerchants = append(ix.freeMerchants, m)
	}
}

// absDiff returns |a - b| without overflow, for any two int64s.
func absDiff(a, b int64) uint64 {
	if a >= b {
		return uint64(a) - uint64(b)
	}
	return uint64(b) - uint64(a)
}
