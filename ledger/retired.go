package ledger

import (
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

// retiredPrefixes are the key families earlier versions kept in the store
// and memory now holds alone: the open-hold markers, the originals'
// indexes and the index of events by type. Open deletes what a store
// still has of them, once.
var retiredPrefixes = [][]byte{keyspace.OpenPrefix, keyspace.OrigSTANPrefix, keyspace.OrigRRNPrefix, keyspace.EventByTypePrefix}

// dropRetired deletes the retired families a store still holds.
func dropRetired(db *store.DB) error {
	b := db.NewBatch()
	for _, p := range retiredPrefixes {
		found := false
		if err := db.Scan(p, "", false, func(_, _ []byte) bool { found = true; return false }); err != nil {
			b.Discard()
			return err
		}
		if found {
			end := append([]byte(nil), p...)
			end[len(end)-1]++ // the prefix ends in '/'; '0' follows it
			b.DeleteRange(p, end)
		}
	}
	if b.Empty() {
		b.Discard()
		return nil
	}
	return db.Commit(b)
}
