package ledger

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

func TestUsageRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		u    model.CardUsage
	}{
		{"zero", model.CardUsage{}},
		{"counters", model.CardUsage{AuthCount: 3, DayStart: 1795219200000, DayCents: 1234, MonthStart: 1793491200000, MonthCents: 99999}},
		{"everything", model.CardUsage{AuthCount: 1, DayStart: 1795219200000, DayCents: -5, MonthStart: 1793491200000, MonthCents: 1234,
			LockedMerchant: "MERCHANT000001|ACMEGROCERY", Used: true, LastAccessAt: 1795265456123,
			LastAccessEventID: "evt_01m7z2hszv0001xtsfjmc7", RecentAccesses: []int64{1795265400000, 1795265456123},
			LastAuthAt: 1795265456999, TotalCents: 123456,
			WeekStart: 1794873600000, WeekCents: 4321, YearStart: 1767225600000, YearCents: 98765}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeUsage(&tt.u, 0)
			js, err := json.Marshal(&tt.u)
			require.NoError(t, err)
			assert.Less(t, len(b), len(js), "the binary form is the smaller")
			// Decoding over a value with other contents leaves nothing of it.
			got := model.CardUsage{Used: true, LockedMerchant: "stale", RecentAccesses: []int64{1}}
			updated, err := decodeUsage(b, &got)
			require.NoError(t, err)
			assert.Equal(t, tt.u, got)
			assert.Zero(t, updated)
			// Stores written before the binary form hold JSON.
			var old model.CardUsage
			_, err = decodeUsage(js, &old)
			require.NoError(t, err)
			assert.Equal(t, tt.u, old)
		})
	}
}

// TestUsageVersion3 reads the usage written before the week and year
// windows: they read as empty, the rest as written.
func TestUsageVersion3(t *testing.T) {
	u := model.CardUsage{AuthCount: 2, DayStart: 1795219200000, DayCents: 10, LastAuthAt: 1795265456999, TotalCents: 77}
	b := encodeUsage(&u, 5)
	// Version 4 appends the four window varints, one byte each when zero.
	v3 := append([]byte{deltaVersion3}, b[1:len(b)-4]...)
	got := model.CardUsage{WeekStart: 1, WeekCents: 2, YearStart: 3, YearCents: 4}
	updated, err := decodeUsage(v3, &got)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	assert.Equal(t, int64(5), updated)
}

func TestUsageMalformed(t *testing.T) {
	good := encodeUsage(&model.CardUsage{AuthCount: 1, LockedMerchant: "M|X", RecentAccesses: []int64{5, 6}}, 7)
	cases := map[string][]byte{
		"empty":          nil,
		"other version":  append([]byte{deltaVersion4 + 1}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		"huge string":    {deltaVersion, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for i := 1; i < len(good)-1; i++ {
		cases["cut at "+string(rune('0'+i%10))+string(rune('a'+i/10))] = good[:i]
	}
	for name, b := range cases {
		var u model.CardUsage
		_, err := decodeUsage(b, &u)
		assert.Error(t, err, name)
	}
}

func TestBalanceAndSpendMalformed(t *testing.T) {
	bal := encodeBalance(&model.User{DepositedCents: 1, SettledCents: 2, PendingCents: 3})
	a := &model.Agent{}
	a.Spend.WindowStart, a.Spend.Cents = 1795219200000, 700
	// The totals alone are a whole record (a window without hours).
	totals := len(encodeSpend(a))
	a.Spend.HourIndex[3], a.Spend.Hours[3] = 498672, 700
	spend := encodeSpend(a)

	var gotU model.User
	require.NoError(t, decodeBalance(bal, &gotU))
	assert.Equal(t, [3]int64{1, 2, 3}, [3]int64{gotU.DepositedCents, gotU.SettledCents, gotU.PendingCents})
	var gotA model.Agent
	require.NoError(t, decodeSpend(spend, &gotA))
	assert.Equal(t, a.Spend, gotA.Spend)

	for i := 0; i < len(bal); i++ {
		untouched := model.User{PendingCents: 9}
		assert.Error(t, decodeBalance(bal[:i], &untouched), "balance cut at %d", i)
		assert.Equal(t, int64(9), untouched.PendingCents, "a malformed balance changes nothing")
	}
	for i := 0; i < len(spend); i++ {
		if i != totals {
			assert.Error(t, decodeSpend(spend[:i], &model.Agent{}), "spend cut at %d", i)
		}
	}
	bad := append([]byte(nil), spend...)
	bad[totals] = 200 // no such hour slot
	assert.Error(t, decodeSpend(bad, &model.Agent{}))
}
