package ledger

import (
	"bytes"
	"slices"
	"sync"

	"github.com/ledgersim/ledgersim/store"
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
	mu    sync.RWMutex
	lists map[string]*idList // by "c"+card ID, "u"+user ID, "a"+agent ID
}

type idList struct {
	ids [][2]uint64
	// odd holds the IDs that do not pack (none is, outside tests), by
	// position; their slot in ids is zero.
	odd map[int]string
}

func newTxnLists() *txnLists { return &txnLists{lists: map[string]*idList{}} }

// listKind maps a list-index key family to its list's key prefix.
func listOf(key []byte) (list string, txnID string, ok bool) {
	for _, f := range []struct {
		prefix []byte
		kind   string
	}{{store.TxnByCardPrefix, "c"}, {store.TxnByUserPrefix, "u"}, {store.TxnByAgentPrefix, "a"}} {
		if rest, found := bytes.CutPrefix(key, f.prefix); found {
			parent, child, cut := bytes.Cut(rest, []byte{'/'})
			if !cut {
				return "", "", false
			}
			return f.kind + string(parent), string(child), true
		}
	}
	return "", "", false
}

func (tl *txnLists) add(list, txnID string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	l := tl.lists[list]
	if l == nil {
		l = &idList{}
		tl.lists[list] = l
	}
	p, ok := packTxnID(txnID)
	if n := len(l.ids); n > 0 && ok && l.ids[n-1] == p {
		return // the same transaction again (a replayed record)
	}
	if !ok {
		if l.odd == nil {
			l.odd = map[int]string{}
		}
		for _, id := range l.odd {
			if id == txnID {
				return
			}
		}
		l.odd[len(l.ids)] = txnID
		p = [2]uint64{}
	}
	l.ids = append(l.ids, p)
}

// page returns up to limit IDs of list, newest first, starting after
// cursor (an ID; "" for the newest), for the caller to load and filter.
func (tl *txnLists) page(list, cursor string, limit int) []string {
	tl.mu.RLock()
	defer tl.mu.RUnlock()
	l := tl.lists[list]
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
					return cmpU64(a[0], b[0])
				default:
					return cmpU64(a[1], b[1])
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

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
