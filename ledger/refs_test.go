package ledger

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestOpenHoldsAgainstModel drives the packed open holds and plain maps
// with the same random opens and closes, over few keys so that keys are
// taken over and table clusters form and are cut, and checks every lookup
// and the expiry order.
func TestOpenHoldsAgainstModel(t *testing.T) {
	type hold struct {
		id      string
		expires int64
		keys    []string
	}
	var ids model.IDGen
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 11))
		st := newShardTxns()
		byID := map[string]*hold{}
		byKey := map[string]*hold{}
		var open []*hold
		for step := range 4000 {
			if rng.IntN(5) < 3 || len(open) == 0 {
				id := ids.New(model.PrefixTransaction, time.UnixMilli(1_700_000_000_000+int64(step)))
				if rng.IntN(50) == 0 {
					id = "odd-" + strconv.Itoa(step) // an ID of another form
				}
				h := &hold{id: id, expires: int64(rng.IntN(1000))}
				for range rng.IntN(3) {
					h.keys = append(h.keys, "k"+strconv.Itoa(rng.IntN(60)))
				}
				st.add(&txnRef{id: h.id, open: true, holdExpires: h.expires, keys: h.keys})
				byID[id] = h
				for _, k := range h.keys {
					byKey[k] = h
				}
				open = append(open, h)
			} else {
				i := rng.IntN(len(open))
				h := open[i]
				open = append(open[:i], open[i+1:]...)
				st.close(&txnRef{id: h.id, open: true})
				delete(byID, h.id)
				for _, k := range h.keys {
					if byKey[k] == h {
						delete(byKey, k)
					}
				}
			}
			for range 3 {
				k := "k" + strconv.Itoa(rng.IntN(60))
				got, want := st.byRefKey(k), byKey[k]
				if want == nil {
					require.Nil(t, got, "seed %d step %d key %s", seed, step, k)
				} else {
					require.NotNil(t, got, "seed %d step %d key %s", seed, step, k)
					require.Equal(t, want.id, got.id, "seed %d step %d key %s", seed, step, k)
				}
			}
			if len(open) > 0 {
				h := open[rng.IntN(len(open))]
				got := st.get(h.id)
				require.NotNil(t, got)
				assert.Equal(t, h.expires, got.holdExpires)
			}
		}
		require.Equal(t, len(open), st.open)
		// The holds come out in expiry order.
		var want []int64
		for _, h := range open {
			want = append(want, h.expires)
		}
		slices.Sort(want)
		var got []int64
		for {
			r, ok := st.nextExpiring()
			if !ok {
				break
			}
			got = append(got, r.holdExpires)
			st.close(r)
		}
		require.Equal(t, want, got, "seed %d", seed)
	}
}

// TestOpenHoldMemory holds an open authorization, with its two original
// keys, to maxOpenHoldBytes, by the holds' own count and by the heap, at
// sizes that leave the tables just grown and nearly full.
func TestOpenHoldMemory(t *testing.T) {
	var ids model.IDGen
	for _, n := range []int{100_000, 190_000} {
		refs := make([]*txnRef, n)
		for i := range n {
			refs[i] = &txnRef{id: ids.New(model.PrefixTransaction, time.UnixMilli(1_700_000_000_000+int64(i))), open: true,
				holdExpires: int64(i), keys: []string{origKeySTAN("card_x", strconv.Itoa(i), "1207101500"), origKeyRRN("card_x", strconv.Itoa(i), "A1B2C3")}}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		st := newShardTxns()
		for _, r := range refs {
			st.add(r)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		// The last chunk's room not yet used is left out.
		total, unfilled := st.bytes()
		perHold := float64(total-unfilled) / float64(n)
		heapPerHold := float64(int(after.HeapAlloc-before.HeapAlloc)-unfilled) / float64(n)
		t.Logf("%d open holds: %.1f bytes each counted, %.1f on the heap", n, perHold, heapPerHold)
		assert.LessOrEqual(t, perHold, float64(maxOpenHoldBytes))
		assert.LessOrEqual(t, heapPerHold, float64(maxOpenHoldBytes))
		require.Equal(t, refs[n/2].id, st.byRefKey(refs[n/2].keys[1]).id)
		runtime.KeepAlive(st)
	}
}
