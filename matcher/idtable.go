package matcher

import "hash/maphash"

// idTable finds an intent's record from its ID (Index.lookup walks it). It
// is an open-addressing hash table with linear probing, holding 8 bytes per
// slot and kept at most three quarters full, so it costs 11 to 21 bytes per
// intent where a Go map[string]uint32 costs 30 to 60. The ID strings live
// in the card entries; the table holds only handles.
//
// A slot is 0 when empty, otherwise the upper 32 bits of the ID's hash (the
// tag) above handle+1. The home slot is the tag's top bits, so the table
// can grow and delete without hashing an ID again or reading a record, and
// a probe looks further only when the tags agree.
type idTable struct {
	slots []uint64
	n     int
	shift uint8 // 32 - log2(len(slots))
	seed  maphash.Seed
}

const idTableMinSlots = 16

func (t *idTable) tag(id string) uint32 {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
		t.slots = make([]uint64, idTableMinSlots)
		t.shift = 32 - 4
	}
	return uint32(maphash.String(t.seed, id) >> 32)
}

func (t *idTable) home(tag uint32) int { return int(tag >> t.shift) }

// insert adds handle h under tag. The caller has made sure the ID is not
// in the table.
func (t *idTable) insert(tag uint32, h uint32) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.place(uint64(tag)<<32 | uint64(h+1))
	t.n++
}

func (t *idTable) place(s uint64) {
	mask := len(t.slots) - 1
	i := t.home(uint32(s >> 32))
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *idTable) grow() {
	old := t.slots
	t.slots = make([]uint64, 2*len(old))
	t.shift--
	for _, s := range old {
		if s != 0 {
			t.place(s)
		}
	}
}

// remove deletes handle h, filed under tag. It shifts the entries after it
// back (no tombstones), so lookups never slow down with churn.
func (t *idTable) remove(tag uint32, h uint32) {
	mask := len(t.slots) - 1
	want := uint64(tag)<<32 | uint64(h+1)
	i := t.home(tag)
	for t.slots[i] != want {
		if t.slots[i] == 0 {
			panic("matcher: idTable.remove of a handle it does not hold")
		}
		i = (i + 1) & mask
	}
	t.n--
	// Backward-shift deletion: pull back every later entry of the run
	// whose home does not lie cyclically in (i, j].
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s == 0 {
			break
		}
		k := t.home(uint32(s >> 32))
		if inCyclic(i, k, j) {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = 0
}

// inCyclic reports whether k lies in the cyclic interval (i, j].
func inCyclic(i, k, j int) bool {
	if i <= j {
		return i < k && k <= j
	}
	return k > i || k <= j
}
