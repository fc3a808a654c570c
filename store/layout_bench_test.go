package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// decisionKeys appends the keys and value sizes an approved authorization
// writes today (see ledger: the transaction, its three list indexes, the
// open hold, the two original indexes, the balance, usage and spend
// deltas, the event and its type index), for decision n of a workload
// over 1,000 cards, 200 users and 200 agents.
func decisionKeys(dst []kv, n int) []kv {
	card, user := n%1000, (n%1000)/5
	txn := fmt.Sprintf("txn_%016x", n) // time-ordered, as the ledger's IDs are
	ev := fmt.Sprintf("evt_%016x", n)
	return append(dst,
		kv{"t/" + txn, 356},
		kv{fmt.Sprintf("xtc/card_%06d/%s", card, txn), 0},
		kv{fmt.Sprintf("xtu/user_%06d/%s", user, txn), 0},
		kv{fmt.Sprintf("xta/agent_%06d/%s", user, txn), 0},
		kv{"xo/" + txn, 0},
		kv{fmt.Sprintf("xos/%06d|%010d|card_%06d", n%1_000_000, n, card), 30},
		kv{fmt.Sprintf("xor/%012d|%06d|card_%06d", n, n%1_000_000, card), 30},
		kv{fmt.Sprintf("ub/user_%06d", user), 19},
		kv{fmt.Sprintf("cu/card_%06d", card), 90},
		kv{fmt.Sprintf("as/agent_%06d", user), 19},
		kv{"e/" + ev, 270},
		kv{"xet/transaction.authorized/" + ev, 0},
	)
}

type kv struct {
	key  string
	size int
}

// BenchmarkMemtableLayouts measures what inserting one decision's keys
// into Pebble's memtable costs, apart from any sync (the WAL is on an
// in-memory filesystem and not synced), with the memtable already holding
// 20,000 decisions (ns/op is per decision): the keys of each decision in a batch of their own, as
// the ledger writes them; the same batches sorted; the keys of 64
// decisions in one sorted batch, as a group committer would write them;
// and one key per decision, as a layout that keeps only the decision
// record and derives every index in memory would.
func BenchmarkMemtableLayouts(b *testing.B) {
	const prefill, group = 20_000, 64
	value := bytes.Repeat([]byte{0xa5}, 400)
	variants := []struct {
		name   string
		group  int
		sorted bool
		only   int // keys per decision kept; 0 = all
	}{
		{"own-batch", 1, false, 0},
		{"own-batch-sorted", 1, true, 0},
		{"group-64-sorted", group, true, 0},
		{"one-record", 1, false, 1},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			pdb, err := pebble.Open("bench", &pebble.Options{FS: vfs.NewMem(), MemTableSize: 64 << 20, Logger: quietLogger{}})
			if err != nil {
				b.Fatal(err)
			}
			defer pdb.Close()
			var keys []kv
			write := func(from, to int) {
				for d := from; d < to; d += v.group {
					keys = keys[:0]
					for n := d; n < min(d+v.group, to); n++ {
						start := len(keys)
						keys = decisionKeys(keys, n)
						if v.only > 0 {
							keys = keys[:start+v.only]
						}
					}
					if v.sorted {
						slices.SortFunc(keys, func(a, b kv) int { return strings.Compare(a.key, b.key) })
					}
					batch := pdb.NewBatch()
					for _, k := range keys {
						_ = batch.Set([]byte(k.key), value[:k.size], nil)
					}
					if err := pdb.Apply(batch, pebble.NoSync); err != nil {
						b.Fatal(err)
					}
					_ = batch.Close()
				}
			}
			write(0, prefill)
			b.ResetTimer()
			write(prefill, prefill+b.N)
		})
	}
}
