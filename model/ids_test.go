package model

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIDsSortInCreationOrder(t *testing.T) {
	var g IDGen
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, 0, time.Millisecond, -time.Second, time.Hour, time.Hour}
	var ids []string
	now := base
	for _, s := range steps {
		now = now.Add(s)
		ids = append(ids, g.New(PrefixUser, now))
	}
	require.True(t, sort.StringsAreSorted(ids), "ids %v", ids)
	seen := map[string]bool{}
	for _, id := range ids {
		require.True(t, strings.HasPrefix(id, "user_"))
		require.Len(t, id, len("user_")+22)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestObserveKeepsOrderAcrossGenerators(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var first IDGen
	var last string
	for i := 0; i < 5; i++ {
		last = first.New(PrefixEvent, at)
	}
	// A new process at the same instant (a restored virtual clock).
	var second IDGen
	second.Observe(last)
	next := second.New(PrefixEvent, at)
	require.Greater(t, next, last)
	require.Greater(t, second.New(PrefixEvent, at.Add(-time.Hour)), next, "a clock stepping back does not reorder")
	second.Observe("garbage")
	second.Observe(IDFloor(PrefixEvent, at.Add(-time.Hour)) + "000000000000")
	require.Greater(t, second.New(PrefixEvent, at), next, "observing an older ID changes nothing")
}

func TestWellFormedID(t *testing.T) {
	var g IDGen
	for _, p := range []string{PrefixUser, PrefixTransaction, PrefixEvent, PrefixDelivery, PrefixToken} {
		require.True(t, WellFormedID(g.New(p, time.Now())), p)
	}
	for _, bad := range []string{"", "garbage", "txn_", "_0123456789abcdefghjkmn", "TXN_0123456789abcdefghjkmn",
		"txn_0123456789abcdefghjkmi", "txn-0123456789abcdefghjkmn", "txn_0123456789abcdefghjkm"} {
		require.False(t, WellFormedID(bad), bad)
	}
}

// TestAppendNewIsNew: AppendNew appends what New returns, from the same
// sequence, after whatever dst holds.
func TestAppendNewIsNew(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var g IDGen
	a := g.New(PrefixTransaction, at)
	b := g.AppendNew([]byte("x"), PrefixTransaction, at)
	c := g.New(PrefixTransaction, at)
	require.Equal(t, byte('x'), b[0])
	id := string(b[1:])
	require.True(t, WellFormedID(id), id)
	require.Equal(t, a[:len("txn_")+10], id[:len("txn_")+10], "the same millisecond")
	require.Less(t, a, id)
	require.Less(t, id, c)
}
