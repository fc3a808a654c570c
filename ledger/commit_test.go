package ledger

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/decisionlog"
)

// TestPendingReadsMatchAModel: what a read finds among the queued records
// (through the key index, or the scan it falls back to) is what applying
// them in order to a map would give, as records are queued and dropped at
// random, with sets, deletes and range deletes.
func TestPendingReadsMatchAModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var p pipeline
			p.init()
			type state map[string]*string // nil value: deleted
			var queued []state            // each queued record's effect
			// A third of the keys are of a family the index leaves out
			// (read by scanning the queue).
			keyName := func(n int) string {
				if n%3 != 0 {
					return fmt.Sprintf("k%02d", n)
				}
				return fmt.Sprintf("ub/k%02d", n)
			}
			key := func() string { return keyName(rng.IntN(40)) }
			var lsn decisionlog.LSN
			for step := range 2000 {
				switch r := rng.IntN(10); {
				case r < 6: // queue a record
					rec := appendRecordHeader(nil, RecOther, time.UnixMilli(1))
					eff := state{}
					for range 1 + rng.IntN(4) {
						k := key()
						switch rng.IntN(8) {
						case 0:
							rec = appendOp(rec, opDelete, []byte(k), nil)
							eff[k] = nil
						case 1:
							if seed%2 == 0 { // half the seeds never range-delete: the index alone answers
								lo, hi := key(), key()
								if lo > hi {
									lo, hi = hi, lo
								}
								rec = appendOp(rec, opDeleteRange, []byte(lo), []byte(hi))
								for i := range 40 {
									if kk := keyName(i); kk >= lo && kk < hi {
										eff[kk] = nil
									}
								}
							}
						default:
							v := fmt.Sprintf("v%d", step)
							rec = appendOp(rec, opSet, []byte(k), []byte(v))
							eff[k] = &v
						}
					}
					lsn++
					keys, hasRange := p.recordKeys(rec)
					p.push(lsn, rec, keys, hasRange)
					queued = append(queued, eff)
				case r < 8 && len(queued) > 0: // project some
					n := 1 + rng.IntN(len(queued))
					p.drop(n)
					queued = queued[n:]
				default: // read every key
					for i := range 40 {
						k := keyName(i)
						var want *string
						found := false
						for j := len(queued) - 1; j >= 0 && !found; j-- {
							want, found = queued[j][k]
						}
						v, gotFound, del := p.pendingValue([]byte(k))
						require.Equal(t, found, gotFound, "step %d key %s", step, k)
						if found {
							require.Equal(t, want == nil, del, "step %d key %s", step, k)
							if want != nil {
								require.Equal(t, *want, string(v), "step %d key %s", step, k)
							}
						}
					}
				}
			}
			p.drop(len(p.queue))
			require.Empty(t, p.byKey, "a dropped record leaves nothing in the index")
			require.Zero(t, p.ranges)
		})
	}
}
