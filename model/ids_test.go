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
