package ledger

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// TestEventsByTypePageLikeASortedIndex: a type's events page newest first
// from any cursor, as a reverse scan of the store's sorted index did,
// however out of order the records that add them arrive (two shards'
// records become durable out of ID order), however often one is added
// again, and whether their IDs pack or not.
func TestEventsByTypePageLikeASortedIndex(t *testing.T) {
	var gen model.IDGen
	now := int64(1_796_000_000_000)
	var ids []string
	for i := range 60 {
		ids = append(ids, gen.New(model.PrefixEvent, time.UnixMilli(now+int64(i/4))))
	}
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Neighbours swapped: what two shards' records look like, mostly.
	swapped := slices.Clone(ids)
	for i := 0; i+1 < len(swapped); i += 3 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	odd := append(slices.Clone(ids[:55]), "evt_zz-odd", "evt_0-odd", "evt_short", "ev_"+ids[3][4:], "evt-1")
	tests := []struct {
		name  string
		added []string
	}{
		{"in order", ids},
		{"neighbours swapped", swapped},
		{"shuffled", shuffled},
		{"with IDs that do not pack", odd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEventsByType()
			for _, id := range tt.added {
				ev.add([]byte(model.EvtTxnAuthorized), []byte(id))
			}
			for _, id := range tt.added[:10] {
				ev.add([]byte(model.EvtTxnAuthorized), []byte(id)) // a replayed record adds nothing
			}
			want := slices.Clone(tt.added)
			slices.Sort(want)
			slices.Reverse(want)
			for _, limit := range []int{1, 3, 7, 60, 100} {
				var got []string
				cursor := ""
				for {
					page := ev.page(model.EvtTxnAuthorized, cursor, limit)
					got = append(got, page...)
					if len(page) < limit {
						break
					}
					cursor = page[len(page)-1]
				}
				require.Equal(t, want, got, fmt.Sprintf("limit %d", limit))
			}
			require.Empty(t, ev.page(model.EvtTxnDeclined, "", 10), "types are apart")
			require.Empty(t, ev.page(model.EvtTxnAuthorized, "", 0))
		})
	}
}

// TestEventsByTypeCursorNotInTheType: a cursor that names no event of the
// type (another type's event, an ID between two, past either end, another
// kind of ID) starts the page where a reverse scan of the store's index
// from it did: at the newest event below it.
func TestEventsByTypeCursorNotInTheType(t *testing.T) {
	var gen model.IDGen
	now := time.UnixMilli(1_796_000_000_000)
	var ids []string // every other one is a card.created event
	ev := newEventsByType()
	for i := range 20 {
		id := gen.New(model.PrefixEvent, now.Add(time.Duration(i)*time.Millisecond))
		ids = append(ids, id)
		typ := model.EvtTxnAuthorized
		if i%2 == 1 {
			typ = model.EvtCardCreated
		}
		ev.add([]byte(typ), []byte(id))
	}
	authorized := func(below string) []string { // newest first, as the store's scan gave them
		out := []string{}
		for i := len(ids) - 1; i >= 0; i-- {
			if i%2 == 0 && ids[i] < below {
				out = append(out, ids[i])
			}
		}
		return out
	}
	tests := []struct {
		name, cursor string
	}{
		{"another type's event", ids[7]},
		{"between two of the type", model.IDFloor(model.PrefixEvent, now.Add(10*time.Millisecond)) + "000000000000"},
		{"a prefix of one of the type", ids[10][:len(ids[10])-1]},
		{"newer than every event", gen.New(model.PrefixEvent, now.Add(time.Hour))},
		{"older than every event", model.IDFloor(model.PrefixEvent, now.Add(-time.Hour)) + "000000000000"},
		{"an ID of another kind, after evt_", "txn_" + ids[5][4:]},
		{"an ID of another kind, before evt_", "agt_" + ids[5][4:]},
		{"not an ID", "evt_"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, authorized(tc.cursor), ev.page(model.EvtTxnAuthorized, tc.cursor, 100))
			want := authorized(tc.cursor)
			require.Equal(t, want[:min(2, len(want))], ev.page(model.EvtTxnAuthorized, tc.cursor, 2))
		})
	}
}

// TestEventTypeOfParsesTheIndexKey: the projection takes exactly the keys
// keyspace.EventByTypeKey makes.
func TestEventTypeOfParsesTheIndexKey(t *testing.T) {
	typ, id, ok := eventTypeOf(keyspace.EventByTypeKey(model.EvtCardFrozen, "evt_1"))
	require.True(t, ok)
	require.Equal(t, model.EvtCardFrozen, string(typ))
	require.Equal(t, "evt_1", string(id))
	for _, k := range [][]byte{keyspace.EventKey("evt_1"), keyspace.TxnByCardKey("card_1", "txn_1"), []byte("xet/no-slash")} {
		_, _, ok := eventTypeOf(k)
		require.False(t, ok, string(k))
	}
}
