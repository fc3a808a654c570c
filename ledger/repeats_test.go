package ledger

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

func TestRepeatIndex(t *testing.T) {
	const window = 1000
	type step struct {
		name     string
		at       int64
		stan     string
		fp       uint64
		settle   bool // settle the claim with code 00 and txn "t<at>"
		wantSeen bool
		wantCode string
		wantTxn  string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a repeat within the window gets the first reply", []step{
			{name: "first", at: 0, stan: "1", fp: 7, settle: true},
			{name: "repeat", at: 999, stan: "1", fp: 7, wantSeen: true, wantCode: "00", wantTxn: "t0"},
		}},
		{"other content within the window is 94", []step{
			{name: "first", at: 0, stan: "1", fp: 7, settle: true},
			{name: "other content", at: 10, stan: "1", fp: 8, wantSeen: true, wantCode: authz.CodeDuplicate},
		}},
		{"the window ends at first + window, however late the first was resolved", []step{
			{name: "first", at: 0, stan: "1", fp: 7, settle: true},
			{name: "repeat at the end", at: window, stan: "1", fp: 7, settle: true},
			{name: "repeat of the new one", at: window + 1, stan: "1", fp: 7, wantSeen: true, wantTxn: "t1000", wantCode: "00"},
		}},
		{"an abandoned claim leaves nothing", []step{
			{name: "first, abandoned", at: 0, stan: "1", fp: 7},
			{name: "again", at: 1, stan: "1", fp: 7, settle: true},
			{name: "repeat", at: 2, stan: "1", fp: 7, wantSeen: true, wantCode: "00", wantTxn: "t1"},
		}},
		{"other keys are independent", []step{
			{name: "first", at: 0, stan: "1", fp: 7, settle: true},
			{name: "another STAN", at: 1, stan: "2", fp: 8, settle: true},
			{name: "repeat of the first", at: 2, stan: "1", fp: 7, wantSeen: true, wantCode: "00", wantTxn: "t0"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ri := newRepeatIndex(window)
			for _, s := range tt.steps {
				out, seen, c := ri.claim(ClassAuth, s.stan, "600000000001", s.fp, s.at)
				require.Equal(t, s.wantSeen, seen, s.name)
				if seen {
					assert.Equal(t, s.wantCode, out.Code, s.name)
					assert.Equal(t, s.wantTxn, out.TxnID, s.name)
					assert.Equal(t, s.wantCode != authz.CodeDuplicate, out.Replayed, s.name)
					continue
				}
				if s.settle {
					c.settle("00", "", "ABC123", "t"+strconv.FormatInt(s.at, 10))
				}
				c.abandon()
			}
		})
	}
}

func TestRepeatIndexPendingAndExpiry(t *testing.T) {
	ri := newRepeatIndex(1000)
	_, seen, first := ri.claim(ClassAuth, "1", "6", 7, 0)
	require.False(t, seen)
	// Other content while the first is being decided: 94 already.
	out, seen, _ := ri.claim(ClassAuth, "1", "6", 8, 1)
	require.True(t, seen)
	assert.Equal(t, authz.CodeDuplicate, out.Code)
	// The same content while pending (the first was given up): decided
	// afresh, and the first's late abandon does not remove the new claim.
	_, seen, second := ri.claim(ClassAuth, "1", "6", 7, 2)
	require.False(t, seen)
	first.abandon()
	second.settle("00", "", "ABC123", "t2")
	out, seen, _ = ri.claim(ClassAuth, "1", "6", 7, 3)
	require.True(t, seen)
	assert.Equal(t, "t2", out.TxnID)
	// Messages without DE 11 or DE 37 claim nothing.
	_, seen, c := ri.claim(ClassAuth, "", "6", 7, 3)
	assert.False(t, seen)
	assert.Equal(t, repeatClaim{}, c)
	// Expiry forgets what is due and keeps the rest.
	_, _, late := ri.claim(ClassClearing, "9", "6", 7, 500)
	late.settle("00", "", "", "t500")
	ri.expireAll(1002)
	assert.Equal(t, 1, ri.len())
	ri.expireAll(1500)
	assert.Equal(t, 0, ri.len())
}

func TestRepeatIndexRestore(t *testing.T) {
	ri := newRepeatIndex(1000)
	// Restored out of order, as a rebuild finds them; the one whose window
	// has ended is skipped.
	ri.restore(&repeatEntry{key: repeatKey(ClassAuth, "2", "6"), fp: 1, expires: 1900, code: "00", txnID: "b"}, 1000)
	ri.restore(&repeatEntry{key: repeatKey(ClassAuth, "1", "6"), fp: 1, expires: 1100, code: "51", txnID: "a"}, 1000)
	ri.restore(&repeatEntry{key: repeatKey(ClassAuth, "3", "6"), fp: 1, expires: 1000, code: "00", txnID: "c"}, 1000)
	ri.sortQueues()
	assert.Equal(t, 2, ri.len())
	out, seen, _ := ri.claim(ClassAuth, "1", "6", 1, 1050)
	require.True(t, seen)
	assert.Equal(t, "51", out.Code)
	ri.expireAll(1100)
	assert.Equal(t, 1, ri.len(), "the entry due at 1100 is forgotten, the one due at 1900 kept")
}

// TestRepeatReplyPacking: a reply comes back exactly as it was settled,
// whether it packs (an ID from model.IDGen with its derived approval code,
// a decline without one) or goes to the overflow map.
func TestRepeatReplyPacking(t *testing.T) {
	var ids model.IDGen
	id := ids.New(model.PrefixTransaction, time.UnixMilli(1_700_000_000_000))
	tests := []struct {
		name                          string
		code, reason, approval, txnID string
	}{
		{"approval with its derived code", "00", "", authCode(id), id},
		{"decline without a code", "51", "insufficient_funds", "", id},
		{"no transaction", "94", authz.ReasonDuplicate, "", ""},
		{"a code that is not the derived one", "00", "", "ABC123", id},
		{"an ID of another form", "00", "", "", "t42"},
		{"another prefix", "00", "", "", ids.New("evt", time.UnixMilli(1_700_000_000_001))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ri := newRepeatIndex(1000)
			stan := strconv.Itoa(i + 1)
			_, seen, c := ri.claim(ClassAuth, stan, "600000000001", 9, 0)
			require.False(t, seen)
			c.settle(tt.code, tt.reason, tt.approval, tt.txnID)
			out, seen, _ := ri.claim(ClassAuth, stan, "600000000001", 9, 1)
			require.True(t, seen)
			assert.Equal(t, Outcome{Code: tt.code, Reason: tt.reason, AuthCode: tt.approval, TxnID: tt.txnID, Replayed: true}, out)
		})
	}
}

// TestRepeatIndexAgainstModel drives the packed index and a plain map with
// the same random claims, settles, abandons and expiries, over few keys
// so that keys collide, entries are taken over and table clusters form and
// are cut, and checks every answer.
func TestRepeatIndexAgainstModel(t *testing.T) {
	type modelEntry struct {
		fp      uint64
		expires int64
		pending bool
		txn     string
	}
	const window = 50
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		ri := newRepeatIndex(window)
		ref := map[string]*modelEntry{}
		var now int64
		type open struct {
			key string
			c   repeatClaim
			e   *modelEntry
		}
		var claims []open
		for step := range 3000 {
			now += int64(rng.IntN(3))
			switch op := rng.IntN(10); {
			case op < 6 || len(claims) == 0:
				key := strconv.Itoa(rng.IntN(40))
				fp := uint64(rng.IntN(2))
				out, seen, c := ri.claim(ClassAuth, key, "6", fp, now)
				m := ref[key]
				live := m != nil && m.expires > now
				switch {
				case live && m.fp != fp:
					require.True(t, seen, "seed %d step %d", seed, step)
					require.Equal(t, authz.CodeDuplicate, out.Code)
				case live && !m.pending:
					require.True(t, seen, "seed %d step %d", seed, step)
					require.Equal(t, m.txn, out.TxnID, "seed %d step %d", seed, step)
				default:
					require.False(t, seen, "seed %d step %d", seed, step)
					m = &modelEntry{fp: fp, expires: now + window, pending: true}
					ref[key] = m
					claims = append(claims, open{key, c, m})
				}
			default:
				i := rng.IntN(len(claims))
				o := claims[i]
				claims = append(claims[:i], claims[i+1:]...)
				if rng.IntN(2) == 0 {
					txn := "t" + strconv.Itoa(step)
					o.c.settle("00", "", "", txn)
					if o.e.pending && o.e.expires > now {
						o.e.pending, o.e.txn = false, txn
					}
				} else {
					o.c.abandon()
					if ref[o.key] == o.e && o.e.pending {
						delete(ref, o.key)
					}
				}
			}
			if rng.IntN(100) == 0 {
				ri.expireAll(now)
			}
		}
		live := 0
		for _, m := range ref {
			if m.expires > now {
				live++
			}
		}
		ri.expireAll(now)
		require.Equal(t, live, ri.len(), "seed %d", seed)
	}
}

// TestRepeatIndexMemory holds a remembered message to maxRepeatEntryBytes,
// by the index's own count and by the heap, so that a 15-minute window at
// 100,000 messages a second (90 million entries) fits in 4 GiB.
func TestRepeatIndexMemory(t *testing.T) {
	const n = 1 << 19
	var ids model.IDGen
	stans := make([]string, n)
	txns := make([]string, n)
	for i := range n {
		stans[i] = strconv.Itoa(i)
		txns[i] = ids.New(model.PrefixTransaction, time.UnixMilli(1_700_000_000_000+int64(i)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ri := newRepeatIndex(int64(time.Hour / time.Millisecond))
	for i := range n {
		_, seen, c := ri.claim(ClassAuth, stans[i], "600000000001", uint64(i), int64(i))
		require.False(t, seen)
		c.settle("00", "", authCode(txns[i]), txns[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n, ri.len())
	// The ring's room not yet filled (at most a chunk per shard, 9 MiB)
	// is nothing at 90 million entries but a lot at half a million: it is
	// left out.
	total, unfilled := ri.bytes()
	perEntry := float64(total-unfilled) / n
	heapPerEntry := float64(int(after.HeapAlloc-before.HeapAlloc)-unfilled) / n
	t.Logf("repeat window: %.1f bytes per entry counted, %.1f on the heap, beyond %d bytes of ring not yet filled", perEntry, heapPerEntry, unfilled)
	assert.LessOrEqual(t, perEntry, float64(maxRepeatEntryBytes))
	assert.LessOrEqual(t, heapPerEntry, float64(maxRepeatEntryBytes))
	out, seen, _ := ri.claim(ClassAuth, stans[n/2], "600000000001", uint64(n/2), n)
	require.True(t, seen)
	assert.Equal(t, txns[n/2], out.TxnID)
	runtime.KeepAlive(ri)
}
