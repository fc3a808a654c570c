package matcher

import "hash/maphash"

// cardTable finds a card's intents from its ID. It is an open-addressing
// hash table with linear probing whose slots are the cards themselves, so
// that Match reaches a card's intents in two dependent memory loads (the
// slot, then the intents) where a map[string]*card takes four or five:
// at a million intents each of those loads is a cache miss, and they are
// most of what Match costs.
//
// Cards move between slots when the table grows or a card is deleted, so
// nothing outside holds a slot index across calls. A record names its card
// by the card's tag instead (see holding).
type cardTable struct {
	slots []card
	n     int
	shift uint8 // 32 - log2(len(slots))
	seed  maphash.Seed
}

// card holds one card's pending intents, oldest first (by CreatedMs, then
// in the order they were added), in one contiguous slice.
type card struct {
	tag     uint32 // 0: the slot is empty
	id      string
	entries []entry
}

const cardTableMinSlots = 16

// tag hashes a card ID. A tag is never 0, which marks an empty slot.
func (t *cardTable) tag(id string) uint32 {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
		t.slots = make([]card, cardTableMinSlots)
		t.shift = 32 - 4
	}
	return max(uint32(maphash.String(t.seed, id)>>32), 1)
}

func (t *cardTable) home(tag uint32) int { return int(tag >> t.shift) }

// find returns the slot of the card with this ID, or -1.
func (t *cardTable) find(tag uint32, id string) int {
	if t.n == 0 {
		return -1
	}
	mask := len(t.slots) - 1
	for i := t.home(tag); ; i = (i + 1) & mask {
		c := &t.slots[i]
		if c.tag == 0 {
			return -1
		}
		if c.tag == tag && c.id == id {
			return i
		}
	}
}

// holding returns the slot of the card with this tag that holds handle h,
// and h's position in it; ok is false when no card holds h, which is how a
// record is known to be free (see Index.removeAt). Two cards may share a
// tag; only one holds h.
func (t *cardTable) holding(tag uint32, h uint32) (ci, k int, ok bool) {
	if t.n == 0 {
		return 0, 0, false
	}
	mask := len(t.slots) - 1
	for i := t.home(tag); t.slots[i].tag != 0; i = (i + 1) & mask {
		if t.slots[i].tag != tag {
			continue
		}
		for k := range t.slots[i].entries {
			if t.slots[i].entries[k].handle == h {
				return i, k, true
			}
		}
	}
	return 0, 0, false
}

// insert adds an empty card and returns its slot. The caller has made sure
// the ID is not in the table.
func (t *cardTable) insert(tag uint32, id string, entries []entry) int {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.n++
	return t.place(card{tag: tag, id: id, entries: entries})
}

func (t *cardTable) place(c card) int {
	mask := len(t.slots) - 1
	i := t.home(c.tag)
	for t.slots[i].tag != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = c
	return i
}

func (t *cardTable) grow() {
	old := t.slots
	t.slots = make([]card, 2*len(old))
	t.shift--
	for i := range old {
		if old[i].tag != 0 {
			t.place(old[i])
		}
	}
}

// delete empties slot i, shifting later cards of its run back (see
// idTable.remove).
func (t *cardTable) delete(i int) {
	mask := len(t.slots) - 1
	t.n--
	for j := (i + 1) & mask; t.slots[j].tag != 0; j = (j + 1) & mask {
		if inCyclic(i, t.home(t.slots[j].tag), j) {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i] = card{}
}
