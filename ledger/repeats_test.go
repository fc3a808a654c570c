package ledger

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
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
	assert.Nil(t, c.e)
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
