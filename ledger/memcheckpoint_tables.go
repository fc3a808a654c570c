package ledger

import (
	"maps"
	"slices"

	"github.com/ledgersim/ledgersim/model"
)

// Each memory table's part of a memory checkpoint (memcheckpoint.go): a
// copy taken under the table's own lock, written from the copy off the
// decision path, and read back into an empty table at Open. The copies
// hold the packed forms as they are.

// holdCopy is one open hold as a checkpoint keeps it. owned says which of
// keys the shard's key table points to this hold (a later purchase may
// have taken a key over).
type holdCopy struct {
	id      [2]uint64
	odd     string // the ID, when it does not pack
	expires int64
	keys    [2]uint64
	owned   uint8
}

// copyHolds copies a shard's open holds. The caller holds the shard lock.
func (st *shardTxns) copyHolds() []holdCopy {
	out := make([]holdCopy, 0, st.open)
	for slot := uint32(0); slot < st.slots; slot++ {
		h := st.at(slot)
		if !h.live {
			continue
		}
		c := holdCopy{id: h.id, expires: h.expires, keys: h.keys}
		if h.id == ([2]uint64{}) {
			c.odd = st.idOf(slot)
		}
		for i, kh := range h.keys {
			v := slot<<1 | uint32(i)
			if _, _, found := st.byKey.find(kh, func(x uint32) bool { return x == v }); kh != 0 && found {
				c.owned |= 1 << i
			}
		}
		out = append(out, c)
	}
	return out
}

func (c *holdCopy) encode(e *encoder) {
	e.u64(c.id[0])
	e.u64(c.id[1])
	e.varint(c.expires)
	e.u64(c.keys[0])
	e.u64(c.keys[1])
	e.write([]byte{c.owned})
	if c.id == ([2]uint64{}) {
		e.str(c.odd)
	}
}

func (c *holdCopy) decode(d *decoder) {
	c.id = [2]uint64{d.u64(), d.u64()}
	c.expires = d.varint()
	c.keys = [2]uint64{d.u64(), d.u64()}
	c.owned = d.byteVal()
	if c.id == ([2]uint64{}) {
		if c.odd = d.str(); c.odd == "" {
			d.fail("an open hold without an ID")
		}
	}
	if c.owned > 3 {
		d.fail("an open hold's key mask is %d", c.owned)
	}
}

// restoreHold adds a hold from a checkpoint, with the keys it owned.
func (st *shardTxns) restoreHold(c *holdCopy) {
	var slot uint32
	if st.slots%holdChunkLen == 0 {
		st.chunks = append(st.chunks, new(holdChunk))
	}
	slot = st.slots
	st.slots++
	h := st.at(slot)
	*h = openHold{id: c.id, expires: c.expires, keys: c.keys, live: true}
	if c.id != ([2]uint64{}) {
		st.byID.insert(idHash(c.id), slot, st.idHashOf)
	} else {
		st.oddIDs[c.odd] = slot
	}
	for i, kh := range c.keys {
		if c.owned&(1<<i) == 0 || kh == 0 {
			// A key a later purchase took over is inert in the hold (its
			// close finds no slot of its own); restored as a full rebuild
			// restores it, without it.
			h.keys[i] = 0
			continue
		}
		st.claimKey(slot, i, kh)
	}
	st.pushOpen(h, slot)
}

// reserve sizes the ID and key tables for n more holds, so that
// restoring them does not grow the tables step by step.
func (st *shardTxns) reserve(n int) {
	size := func(t *slotTable, k int, hashOf func(uint32) uint64) {
		want := 16
		for want*3 < (t.used+k)*4 {
			want *= 2
		}
		if want > len(t.t) {
			t.resize(want, hashOf)
		}
	}
	size(&st.byID, n, st.idHashOf)
	size(&st.byKey, 2*n, st.keyHashOf)
	st.heap = slices.Grow(st.heap, n)
}

// setExpiry moves an open hold's expiry (a replayed record rewrote it).
func (st *shardTxns) setExpiry(slot uint32, expires int64) {
	h := st.at(slot)
	if h.expires == expires {
		return
	}
	h.expires = expires
	st.down(int(h.heapIdx))
	st.up(int(h.heapIdx))
}

// originsCopy is the originals' index as a checkpoint keeps it. entries
// only grow at their end and an entry never changes, so the copy shares
// the table's array up to its length.
type originsCopy struct {
	key     uint64
	entries []originEntry
	heads   [2]slotTable
	odd     map[uint32]string
}

func (o *origins) copyTable() originsCopy {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return originsCopy{key: o.key, entries: o.entries[:len(o.entries):len(o.entries)],
		heads: [2]slotTable{o.heads[0].clone(), o.heads[1].clone()}, odd: maps.Clone(o.odd)}
}

func (c *originsCopy) encode(e *encoder) {
	e.u64(c.key)
	e.uvarint(uint64(len(c.entries)))
	for i := range c.entries {
		en := &c.entries[i]
		e.u64(en.id[0])
		e.u64(en.id[1])
		e.u64(en.card)
		e.u64(en.ref[0])
		e.u64(en.ref[1])
		e.u32(en.prevSTAN)
		e.u32(en.prevRRN)
	}
	for i := range c.heads {
		t := &c.heads[i]
		e.uvarint(uint64(t.used))
		e.uvarint(uint64(len(t.t)))
		for _, v := range t.t {
			e.u32(v)
		}
	}
	e.uvarint(uint64(len(c.odd)))
	for pos, id := range c.odd {
		e.u32(pos)
		e.str(id)
	}
}

// decodeOrigins reads the originals' index into a new one, checking that
// every chain link and chain head names an entry.
func decodeOrigins(d *decoder) *origins {
	o := &origins{key: d.u64()}
	n := d.count(48)
	o.entries = make([]originEntry, n)
	for i := range o.entries {
		en := &o.entries[i]
		en.id = [2]uint64{d.u64(), d.u64()}
		en.card = d.u64()
		en.ref = [2]uint64{d.u64(), d.u64()}
		en.prevSTAN, en.prevRRN = d.u32(), d.u32()
		if en.prevSTAN > uint32(i) || en.prevRRN > uint32(i) {
			d.fail("an original links to a later one")
			return o
		}
	}
	for i := range o.heads {
		used := d.uvarint()
		size := d.count(4)
		if d.err != nil {
			return o
		}
		if size&(size-1) != 0 || used > uint64(size) {
			d.fail("an originals' table of %d slots holding %d", size, used)
			return o
		}
		t := make([]uint32, size)
		for j := range t {
			if t[j] = d.u32(); t[j] > uint32(n) {
				d.fail("an original's chain starts outside the table")
				return o
			}
		}
		o.heads[i] = slotTable{t: t, used: int(used)}
	}
	if k := d.count(5); k > 0 {
		o.odd = make(map[uint32]string, k)
		for range k {
			pos := d.u32()
			if pos == 0 || pos > uint32(n) {
				d.fail("an odd original outside the table")
			}
			o.odd[pos] = d.str()
		}
	}
	return o
}

// addOnce is add for a pass that may see a purchase again (the replay of
// the log after a checkpoint): a purchase already at the head of its
// chain is not added twice. (One seen again behind a newer purchase with
// the same reference is added again; that costs an entry, not a wrong
// answer: candidates are loaded and compared.)
func (o *origins) addOnce(t *model.Transaction) {
	if !isOriginal(t) {
		return
	}
	var pos uint32
	o.mu.RLock()
	switch {
	case t.STAN != "" && t.TxnTime != "":
		pos = o.head(refSTAN, o.refHash(t.STAN, t.TxnTime))
	case t.RRN != "":
		pos = o.head(refRRN, o.refHash(t.RRN, t.AuthorizationCode))
	}
	seen := false
	if pos != 0 {
		if id, ok := o.odd[pos]; ok {
			seen = id == t.ID
		} else {
			p, _ := packTxnID(t.ID)
			seen = o.entries[pos-1].id == p
		}
	}
	o.mu.RUnlock()
	if !seen {
		o.add(t)
	}
}

// listCopy is one transaction list. A list only grows at its end and its
// entries never change, so the copy shares the list's array up to its
// length.
type listCopy struct {
	owner string
	ids   [][2]uint64
	odd   map[int]string
}

func (tl *txnLists) copyTable() [3][]listCopy {
	tl.mu.RLock()
	defer tl.mu.RUnlock()
	var out [3][]listCopy
	for k, kind := range []byte{'c', 'u', 'a'} {
		m := tl.mapOf(kind)
		out[k] = make([]listCopy, 0, len(m))
		for owner, l := range m {
			out[k] = append(out[k], listCopy{owner: owner, ids: l.ids[:len(l.ids):len(l.ids)], odd: maps.Clone(l.odd)})
		}
	}
	return out
}

func encodeLists(e *encoder, lists [3][]listCopy) {
	for _, ls := range lists {
		e.uvarint(uint64(len(ls)))
		for _, l := range ls {
			e.str(l.owner)
			encodeIDs(e, l.ids)
			e.uvarint(uint64(len(l.odd)))
			for i, id := range l.odd {
				e.uvarint(uint64(i))
				e.str(id)
			}
		}
	}
}

func encodeIDs(e *encoder, ids [][2]uint64) {
	e.uvarint(uint64(len(ids)))
	for _, p := range ids {
		e.u64(p[0])
		e.u64(p[1])
	}
}

func decodeIDs(d *decoder) [][2]uint64 {
	ids := make([][2]uint64, d.count(16))
	for i := range ids {
		ids[i] = [2]uint64{d.u64(), d.u64()}
	}
	return ids
}

func decodeLists(d *decoder) *txnLists {
	tl := newTxnLists()
	for _, kind := range []byte{'c', 'u', 'a'} {
		m := tl.mapOf(kind)
		n := d.count(3)
		for range n {
			owner := d.str()
			l := &idList{ids: decodeIDs(d)}
			if k := d.count(2); k > 0 {
				l.odd = make(map[int]string, k)
				for range k {
					i := d.uvarint()
					if i >= uint64(len(l.ids)) {
						d.fail("an odd list entry outside its list")
						return tl
					}
					l.odd[int(i)] = d.str()
				}
			}
			if d.err != nil {
				return tl
			}
			m[owner] = l
		}
	}
	return tl
}

// eventsCopy is one type's events. Unlike a list, an event may be
// inserted before the newest, so the copy is a copy.
type eventsCopy struct {
	typ string
	ids [][2]uint64
	odd []string
}

func (ev *eventsByType) copyTable() []eventsCopy {
	ev.mu.RLock()
	defer ev.mu.RUnlock()
	out := make([]eventsCopy, 0, len(ev.byType))
	for typ, l := range ev.byType {
		out = append(out, eventsCopy{typ: typ, ids: slices.Clone(l.ids), odd: slices.Clone(l.odd)})
	}
	return out
}

func encodeEvents(e *encoder, evs []eventsCopy) {
	e.uvarint(uint64(len(evs)))
	for _, t := range evs {
		e.str(t.typ)
		encodeIDs(e, t.ids)
		e.uvarint(uint64(len(t.odd)))
		for _, id := range t.odd {
			e.str(id)
		}
	}
}

func decodeEvents(d *decoder) *eventsByType {
	ev := newEventsByType()
	n := d.count(3)
	for range n {
		typ := d.str()
		l := &eventIDs{ids: decodeIDs(d)}
		if k := d.count(1); k > 0 {
			l.odd = make([]string, k)
			for i := range l.odd {
				l.odd[i] = d.str()
			}
		}
		if !slices.IsSortedFunc(l.ids, cmpPacked) || !slices.IsSorted(l.odd) {
			d.fail("the events of type %q are out of order", typ)
		}
		if d.err != nil {
			return ev
		}
		ev.byType[typ] = l
	}
	return ev
}

// repeatCopy is one repeat shard's settled entries that answer for their
// key, in ring order, with their overflow replies.
type repeatCopy struct {
	entries  []packedRepeat
	overflow map[int]repeatEntry // by index in entries
}

// copyTable copies the names table and every shard's settled entries
// that the shard's table points to (a pending entry has no record yet, a
// dead one answers nothing, and one whose key a later message took over
// answers nothing either).
func (ri *repeatIndex) copyTable() (names []string, shards []repeatCopy) {
	names = slices.Clone(ri.names.cur.Load().list)
	shards = make([]repeatCopy, repeatShards)
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		c := repeatCopy{entries: make([]packedRepeat, 0, rs.table.used)}
		for pos := rs.head; pos < rs.tail; pos++ {
			e := rs.at(pos)
			if e.flags()&(flagPending|flagDead) != 0 {
				continue
			}
			if _, ok := rs.slotOf(e.keyHash(), pos); !ok {
				continue
			}
			if e.flags()&flagOverflow != 0 {
				if c.overflow == nil {
					c.overflow = map[int]repeatEntry{}
				}
				c.overflow[len(c.entries)] = rs.overflow[pos]
			}
			c.entries = append(c.entries, *e)
		}
		rs.mu.Unlock()
		shards[i] = c
	}
	return names, shards
}

func encodeRepeats(e *encoder, names []string, shards []repeatCopy) {
	e.uvarint(uint64(len(names)))
	for _, n := range names {
		e.str(n)
	}
	for _, c := range shards {
		e.uvarint(uint64(len(c.entries)))
		for i := range c.entries {
			for _, w := range c.entries[i] {
				e.u32(w)
			}
			if c.entries[i].flags()&flagOverflow != 0 {
				o := c.overflow[i]
				e.str(o.code)
				e.str(o.reason)
				e.str(o.authCode)
				e.str(o.txnID)
			}
		}
	}
}

// decodeRepeats reads the repeat window into a new index, leaving out the
// entries whose window ended by nowMs; build fills the shards.
func decodeRepeats(d *decoder, window, nowMs int64, build func(func())) *repeatIndex {
	ri := newRepeatIndex(window)
	n := d.count(1)
	if n == 0 || n > 256 {
		d.fail("%d names", n)
		return ri
	}
	t := &nameTable{byName: make(map[string]uint8, n), list: make([]string, n)}
	for i := range t.list {
		t.list[i] = d.str()
		t.byName[t.list[i]] = uint8(i)
	}
	if t.list[0] != "" || len(t.byName) != n {
		d.fail("the names table is not one")
		return ri
	}
	ri.names.cur.Store(t)
	shards := make([]repeatCopy, len(ri.shards))
	for i := range ri.shards {
		c := &shards[i]
		c.entries = make([]packedRepeat, 0, d.count(36))
		for range cap(c.entries) {
			var e packedRepeat
			for w := range e {
				e[w] = d.u32()
			}
			var o repeatEntry
			if e.flags()&flagOverflow != 0 {
				o = repeatEntry{code: d.str(), reason: d.str(), authCode: d.str(), txnID: d.str()}
			}
			if d.err != nil {
				return ri
			}
			if ri.shardOf(e.keyHash()) != &ri.shards[i] || e.flags()&(flagPending|flagDead) != 0 {
				d.fail("a repeat entry out of place")
				return ri
			}
			if e.expires() <= nowMs {
				continue
			}
			if e.flags()&flagOverflow != 0 {
				if c.overflow == nil {
					c.overflow = map[int]repeatEntry{}
				}
				c.overflow[len(c.entries)] = o
			}
			c.entries = append(c.entries, e)
		}
	}
	build(func() {
		for i := range shards {
			ri.shards[i].restoreEntries(&shards[i])
		}
	})
	return ri
}

// restoreEntries appends a checkpoint's entries to an empty shard.
func (rs *repeatShard) restoreEntries(c *repeatCopy) {
	for i := range c.entries {
		e := &c.entries[i]
		pos := rs.push(e.keyHash(), e.check(), e.fp(), e.expires(), 0)
		*rs.at(pos) = *e
		if e.flags()&flagOverflow != 0 {
			rs.overflow[pos] = c.overflow[i]
		}
		if slot, _, found := rs.find(e.keyHash(), e.check()); found {
			rs.table.set(slot, uint32(pos))
		} else {
			rs.insert(e.keyHash(), pos)
		}
	}
}

// dropKnown forgets the restored entries (restore) whose key the index
// answers for already, and all but the last restored for one message:
// after a checkpoint, the log's replay and the store's follow-ups restore
// only what the checkpoint did not have.
func (ri *repeatIndex) dropKnown() {
	last := make(map[string]int, len(ri.pending))
	for i, e := range ri.pending {
		last[e.key+"\x00"+e.txnID] = i
	}
	kept := ri.pending[:0]
	for i, e := range ri.pending {
		if last[e.key+"\x00"+e.txnID] != i {
			continue
		}
		class, stan, rrn := splitRepeatKey(e.key)
		h, check := keyHashes(class, stan, rrn)
		rs := ri.shardOf(h)
		rs.mu.Lock()
		_, _, found := rs.find(h, check)
		rs.mu.Unlock()
		if !found {
			kept = append(kept, e)
		}
	}
	clear(ri.pending[len(kept):])
	ri.pending = kept
}
