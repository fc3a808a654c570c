package ledger

import "slices"

// slotTable is an open-addressing (linear probing) hash table of uint32
// values that name something elsewhere; the caller says how to hash and
// compare what they name. Values are stored +1, so that 0 is empty.
type slotTable struct {
	t    []uint32
	used int
}

// find returns the index and value of the first entry with hash h that
// match accepts.
func (s *slotTable) find(h uint64, match func(v uint32) bool) (idx int, v uint32, ok bool) {
	if len(s.t) == 0 {
		return 0, 0, false
	}
	mask := len(s.t) - 1
	for i := int(h) & mask; s.t[i] != 0; i = (i + 1) & mask {
		if x := s.t[i] - 1; match(x) {
			return i, x, true
		}
	}
	return 0, 0, false
}

func (s *slotTable) set(idx int, v uint32) { s.t[idx] = v + 1 }

// insert adds v, whose hash is h; hashOf hashes stored values when the
// table grows.
func (s *slotTable) insert(h uint64, v uint32, hashOf func(uint32) uint64) {
	if (s.used+1)*4 > len(s.t)*3 {
		s.resize(max(len(s.t)*2, 16), hashOf)
	}
	mask := len(s.t) - 1
	i := int(h) & mask
	for s.t[i] != 0 {
		i = (i + 1) & mask
	}
	s.t[i] = v + 1
	s.used++
}

// remove empties idx and moves later entries of its cluster back.
func (s *slotTable) remove(idx int, hashOf func(uint32) uint64) {
	mask := len(s.t) - 1
	s.t[idx] = 0
	s.used--
	for j := (idx + 1) & mask; s.t[j] != 0; j = (j + 1) & mask {
		k := int(hashOf(s.t[j]-1)) & mask
		if (j > idx && (k <= idx || k > j)) || (j < idx && k <= idx && k > j) {
			s.t[idx], s.t[j] = s.t[j], 0
			idx = j
		}
	}
	if len(s.t) > 16 && s.used*8 < len(s.t) {
		s.resize(len(s.t)/2, hashOf)
	}
}

func (s *slotTable) resize(n int, hashOf func(uint32) uint64) {
	old := s.t
	s.t = make([]uint32, n)
	mask := n - 1
	for _, x := range old {
		if x == 0 {
			continue
		}
		i := int(hashOf(x-1)) & mask
		for s.t[i] != 0 {
			i = (i + 1) & mask
		}
		s.t[i] = x
	}
}

func (s *slotTable) bytes() int { return len(s.t) * 4 }

// clone copies the table.
func (s *slotTable) clone() slotTable { return slotTable{t: slices.Clone(s.t), used: s.used} }
