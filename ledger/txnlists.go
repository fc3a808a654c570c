package ledger

import (
	"bytes"
	"cmp"
	"slices"
	"sync"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
)

// txnLists is the projection that serves transaction lists by card, user
// and agent: each list holds its transactions' IDs, oldest first, packed
// into two integers each (16 bytes, nothing for the collector to scan).
// It is built from the decision records as the store takes them (the
// records' list-index operations land here rather than in the store), and
// at Open from the store's transactions. A list only ever grows at its
// end: a transaction is added by the record that creates it, under its
// user's shard lock, in creation (ID) order, so every list is sorted.
type txnLists struct {
	mu sync.RWMutex
	// by card, user and agent ID (kinds 'c', 'u', 'a')
	byCard, byUser, byAgent map[string]*idList
}

type idList struct {
	ids [][2]uint64
	// last is ids[lastLen-1] (zero with lastLen 0): an append compares the
	// new ID with the list's last one without touching the array, a cache
	// miss in a table of millions of lists. A list made elsewhere (a
	// checkpoint's) has lastLen 0 until its first append reads it once.
	last    [2]uint64
	lastLen int
	// odd holds the IDs that do not pack (none is, outside tests), by
	// position; their slot in ids is zero.
	odd map[int]string
}

func newTxnLists() *txnLists {
	return &txnLists{byCard: map[string]*idList{}, byUser: map[string]*idList{}, byAgent: map[string]*idList{}}
}

func (tl *txnLists) mapOf(kind byte) map[string]*idList {
	switch kind {
	case 'c':
		return tl.byCard
	case 'u':
		return tl.byUser
	}
	return tl.byAgent
}

// listOf parses a list-index key: the list's kind ('c', 'u' or 'a'), the
// parent's ID and the transaction's, as slices of key (no allocation: a
// projection parses three per transaction).
func listOf(key []byte) (kind byte, parent, txnID []byte, ok bool) {
	for _, f := range []struct {
		prefix []byte
		kind   byte
	}{{keyspace.TxnByCardPrefix, 'c'}, {keyspace.TxnByUserPrefix, 'u'}, {keyspace.TxnByAgentPrefix, 'a'}} {
		if rest, found := bytes.CutPrefix(key, f.prefix); found {
			parent, child, cut := bytes.Cut(rest, []byte{'/'})
			return f.kind, parent, child, cut
		}
	}
	return 0, nil, nil, false
}

// add appends a transaction to the list of kind for parent.
func (tl *txnLists) add(kind byte, parent, txnID []byte) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.addLocked(tl.mapOf(kind), parent, txnID)
}

// addLocked is add to the lists of m; the caller holds mu.
func (tl *txnLists) addLocked(m map[string]*idList, parent, txnID []byte) {
	l := m[string(parent)] // no allocation for the lookup
	if l == nil {
		l = &idList{}
		m[string(parent)] = l
	}
	n := len(l.ids)
	if n > 0 && l.lastLen != n {
		l.last, l.lastLen = l.ids[n-1], n
	}
	p, ok := packTxnIDBytes(txnID)
	if n > 0 && ok && cmpPacked(l.last, p) >= 0 {
		// The same transaction again, or an earlier one rewritten (a
		// clearing, a reversal): a list's transactions are created in ID
		// order, so only a newer one is new.
		return
	}
	if !ok {
		if l.odd == nil {
			l.odd = map[int]string{}
		}
		for _, id := range l.odd {
			if id == string(txnID) {
				return
			}
		}
		l.odd[n] = string(txnID)
		p = [2]uint64{}
	}
	l.ids = append(l.ids, p)
	l.last, l.lastLen = p, n+1
}

// packTxnIDBytes is packTxnID for an ID held in a key.
func packTxnIDBytes(id []byte) ([2]uint64, bool) {
	prefix, a, b, ok := packID(id)
	if !ok || string(prefix) != "txn" {
		return [2]uint64{}, false
	}
	return [2]uint64{a, b}, true
}

// page returns up to limit IDs of list, newest first, starting after
// cursor (an ID; "" for the newest), for the caller to load and filter.
func (tl *txnLists) page(kind byte, parent, cursor string, limit int) []string {
	tl.mu.RLock()
	defer tl.mu.RUnlock()
	l := tl.mapOf(kind)[parent]
	if l == nil {
		return nil
	}
	end := len(l.ids)
	if cursor != "" {
		if p, ok := packTxnID(cursor); ok && len(l.odd) == 0 {
			// Lists are sorted: the first entry not below the cursor.
			end, _ = slices.BinarySearchFunc(l.ids, p, func(a, b [2]uint64) int {
				switch {
				case a[0] != b[0]:
					return cmp.Compare(a[0], b[0])
				default:
					return cmp.Compare(a[1], b[1])
				}
			})
		} else {
			for end > 0 && l.idAt(end-1) >= cursor {
				end--
			}
		}
	}
	out := make([]string, 0, min(limit, end))
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, l.idAt(i))
	}
	return out
}

func (l *idList) idAt(i int) string {
	if id, ok := l.odd[i]; ok {
		return id
	}
	return unpackID("txn", l.ids[i][0], l.ids[i][1])
}

// addTxn adds a transaction, from its stored form, to the lists of its
// card, user and agent, unless it is already there (a rewrite of an
// existing transaction changes no list).
func (tl *txnLists) addTxn(txnID, raw []byte) error {
	card, agent, user, err := txnOwners(raw)
	if err != nil {
		return err
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.addLocked(tl.byCard, card, txnID)
	tl.addLocked(tl.byUser, user, txnID)
	tl.addLocked(tl.byAgent, agent, txnID)
	return nil
}
