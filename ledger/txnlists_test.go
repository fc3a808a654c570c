package ledger

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestTxnListsPageLikeASortedIndex: a list pages newest first from any
// cursor, as the store's sorted index did, whether its IDs pack or not.
func TestTxnListsPageLikeASortedIndex(t *testing.T) {
	var gen model.IDGen
	var ids []string
	now := int64(1_796_000_000_000)
	for i := range 50 {
		ids = append(ids, gen.New(model.PrefixTransaction, time.UnixMilli(now+int64(i/3))))
	}
	tests := []struct {
		name string
		ids  []string
	}{
		{"packed", ids},
		{"with an odd ID", append(slices.Clone(ids[:49]), "txn_zz-odd")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTxnLists()
			for _, id := range tt.ids {
				tl.add('c', []byte("X"), []byte(id))
				tl.add('c', []byte("X"), []byte(id)) // a replayed record adds nothing
			}
			want := slices.Clone(tt.ids)
			slices.Reverse(want)
			for _, limit := range []int{1, 3, 7, 50, 100} {
				var got []string
				cursor := ""
				for {
					page := tl.page('c', "X", cursor, limit)
					got = append(got, page...)
					if len(page) < limit {
						break
					}
					cursor = page[len(page)-1]
				}
				require.Equal(t, want, got, fmt.Sprintf("limit %d", limit))
			}
			require.Empty(t, tl.page('c', "Y", "", 10))
			for _, id := range tt.ids {
				p, ok := packTxnIDBytes([]byte(id))
				q, ok2 := packTxnID(id)
				require.Equal(t, ok2, ok, id)
				require.Equal(t, q, p, id)
			}
			require.Empty(t, tl.page('u', "X", "", 10), "lists of another kind are apart")
		})
	}
}

// TestTxnListsRewriteAddsNothing: a transaction rewritten (a clearing, a
// reversal) or an older one projected again adds nothing to a list,
// whether the list was built here or decoded from a memory checkpoint
// (whose lists know their last ID only from their array).
func TestTxnListsRewriteAddsNothing(t *testing.T) {
	var gen model.IDGen
	now := time.UnixMilli(1_796_000_000_000)
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = gen.New(model.PrefixTransaction, now)
	}
	tests := []struct {
		name  string
		lists func() *txnLists
	}{
		{"built", func() *txnLists {
			tl := newTxnLists()
			for _, id := range ids[:4] {
				tl.add('u', []byte("U"), []byte(id))
			}
			return tl
		}},
		{"decoded from a checkpoint", func() *txnLists {
			tl := newTxnLists()
			l := &idList{}
			for _, id := range ids[:4] {
				p, ok := packTxnID(id)
				require.True(t, ok)
				l.ids = append(l.ids, p)
			}
			tl.byUser["U"] = l
			return tl
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := tt.lists()
			for _, id := range []string{ids[3], ids[1], ids[3]} {
				tl.add('u', []byte("U"), []byte(id))
			}
			require.Equal(t, []string{ids[3], ids[2], ids[1], ids[0]}, tl.page('u', "U", "", 10))
			tl.add('u', []byte("U"), []byte(ids[4]))
			tl.add('u', []byte("U"), []byte(ids[4]))
			tl.add('u', []byte("U"), []byte(ids[5]))
			require.Equal(t, []string{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}, tl.page('u', "U", "", 10))
		})
	}
}
