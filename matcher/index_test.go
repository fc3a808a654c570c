package matcher

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const t0 = int64(1_703_520_000_000)

// intent builds a pending intent on card_1, created at t0+created seconds,
// expiring 30 minutes later, expecting amount ± tolerance at merchant.
func intent(id string, created int64, amount, tolerance int64, merchant string) Pending {
	return Pending{
		ID: id, CardID: "card_1",
		HasAmount: true, ExpectedCents: amount, ToleranceCents: tolerance,
		Merchant:  merchant,
		CreatedMs: t0 + created*1000, ExpiresMs: t0 + created*1000 + 30*60*1000,
	}
}

func anyAmount(p Pending) Pending { p.HasAmount = false; return p }

func withExpiry(p Pending, ms int64) Pending { p.ExpiresMs = ms; return p }

func ids(ix *Index, cardID string) []string {
	var out []string
	ix.Pending(cardID, func(p Pending) bool { out = append(out, p.ID); return true })
	return out
}

func TestMatch(t *testing.T) {
	now := t0 + 60_000
	tests := []struct {
		name     string
		intents  []Pending
		card     string
		amount   int64
		merchant string
		nowMs    int64
		want     Result
		left     []string // card_1's intents afterwards
	}{
		{
			name:    "exact match",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  2500, merchant: "DOORDASH",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "within tolerance",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  2450, merchant: "DOORDASH*BURGERPLACE",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "at the edge of tolerance",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  3000, merchant: "DOORDASH",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "outside tolerance is mismatched",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  5000, merchant: "DOORDASH",
			want: Result{Found: true, IntentID: "int_a", MerchantMatch: true},
		},
		{
			name:    "one cent past tolerance",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  1999, merchant: "DOORDASH",
			want: Result{Found: true, IntentID: "int_a", MerchantMatch: true},
		},
		{
			name:    "no tolerance means exact",
			intents: []Pending{intent("int_a", 0, 2500, 0, "")},
			amount:  2501,
			want:    Result{Found: true, IntentID: "int_a", MerchantMatch: true},
		},
		{
			name:    "negative tolerance is taken as zero",
			intents: []Pending{intent("int_a", 0, 2500, -100, "")},
			amount:  2500,
			want:    Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "wrong merchant is mismatched",
			intents: []Pending{intent("int_a", 0, 2500, 500, "DoorDash")},
			amount:  2500, merchant: "UBER *EATS",
			want: Result{Found: true, IntentID: "int_a", AmountMatch: true},
		},
		{
			name:    "no expected amount matches any amount",
			intents: []Pending{anyAmount(intent("int_a", 0, 0, 0, "Amazon"))},
			amount:  987_654, merchant: "AMZN Mktp US*2K4LM0",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "empty merchant matches any merchant",
			intents: []Pending{intent("int_a", 0, 2500, 0, "")},
			amount:  2500, merchant: "ANYTHING AT ALL",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name:    "blank merchant matches any merchant",
			intents: []Pending{intent("int_a", 0, 2500, 0, "   ")},
			amount:  2500, merchant: "",
			want: Result{Found: true, Matched: true, IntentID: "int_a", AmountMatch: true, MerchantMatch: true},
		},
		{
			name: "prefer the oldest full match",
			intents: []Pending{
				intent("int_new", 20, 2500, 500, "DoorDash"),
				intent("int_old", 10, 2400, 500, "DoorDash"),
				intent("int_older_miss", 5, 9000, 0, "DoorDash"),
			},
			amount: 2500, merchant: "DOORDASH",
			want: Result{Found: true, Matched: true, IntentID: "int_old", AmountMatch: true, MerchantMatch: true},
			left: []string{"int_older_miss", "int_new"},
		},
		{
			name: "same creation time: the first added is older",
			intents: []Pending{
				intent("int_first", 10, 2500, 0, ""),
				intent("int_second", 10, 2500, 0, ""),
			},
			amount: 2500,
			want:   Result{Found: true, Matched: true, IntentID: "int_first", AmountMatch: true, MerchantMatch: true},
			left:   []string{"int_second"},
		},
		{
			name: "a full match beats an older partial one",
			intents: []Pending{
				intent("int_partial", 0, 2500, 0, "Walmart"),
				intent("int_full", 10, 2500, 0, "Amazon"),
			},
			amount: 2500, merchant: "AMAZON.COM",
			want: Result{Found: true, Matched: true, IntentID: "int_full", AmountMatch: true, MerchantMatch: true},
		},
		{
			name: "best candidate: most criteria first",
			intents: []Pending{
				intent("int_none", 0, 2490, 0, "Walmart"),     // no criterion, 10 away
				intent("int_merchant", 10, 9000, 0, "Amazon"), // merchant only, 6500 away
				withExpiry(intent("int_both", 20, 2500, 0, "Amazon"), t0),
			},
			amount: 2500, merchant: "AMZN Mktp US",
			want: Result{Found: true, IntentID: "int_merchant", MerchantMatch: true},
			left: []string{"int_none", "int_both"},
		},
		{
			name: "best candidate: nearest amount among equals",
			intents: []Pending{
				intent("int_far", 10, 9000, 0, "Amazon"),
				intent("int_near_new", 30, 2400, 0, "Amazon"),
				intent("int_near_old", 20, 2600, 0, "Amazon"),
			},
			amount: 2500, merchant: "AMZN Mktp US",
			want: Result{Found: true, IntentID: "int_near_old", MerchantMatch: true},
			left: []string{"int_far", "int_near_new"},
		},
		{
			name: "best candidate: no expected amount is nearest",
			intents: []Pending{
				intent("int_near", 10, 2600, 0, ""),               // merchant only, 100 away
				anyAmount(intent("int_any", 20, 0, 0, "Walmart")), // amount only, 0 away
			},
			amount: 2500, merchant: "Target",
			want: Result{Found: true, IntentID: "int_any", AmountMatch: true},
		},
		{
			name: "expired intents are not matched",
			intents: []Pending{
				withExpiry(intent("int_expired", 0, 2500, 0, "Amazon"), t0), // expired at t0 exactly
				intent("int_live", 10, 9999, 0, "Walmart"),
			},
			amount: 2500, merchant: "AMAZON", nowMs: t0,
			want: Result{Found: true, IntentID: "int_live"},
			left: []string{"int_expired"},
		},
		{
			name:    "only expired intents: not found",
			intents: []Pending{withExpiry(intent("int_expired", 0, 2500, 0, "Amazon"), t0)},
			amount:  2500, merchant: "AMAZON", nowMs: t0,
			want: Result{},
			left: []string{"int_expired"},
		},
		{
			name:    "no pending intent: not found",
			intents: []Pending{intent("int_a", 0, 2500, 0, "Amazon")},
			card:    "card_2", amount: 2500, merchant: "AMAZON",
			want: Result{},
			left: []string{"int_a"},
		},
		{
			name:   "empty index",
			amount: 2500, merchant: "AMAZON",
			want: Result{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex()
			for _, p := range tc.intents {
				ix.Add(p)
			}
			card := tc.card
			if card == "" {
				card = "card_1"
			}
			nowMs := tc.nowMs
			if nowMs == 0 {
				nowMs = now
			}
			got := ix.Match(card, tc.amount, tc.merchant, nowMs)
			require.Equal(t, tc.want, got)
			if tc.left != nil {
				require.Equal(t, tc.left, ids(ix, "card_1"))
			}
			removed := 0
			if got.Found {
				removed = 1
			}
			require.Equal(t, len(tc.intents)-removed, ix.Len())
		})
	}
}

func TestMatchRemovesTheIntent(t *testing.T) {
	ix := NewIndex()
	ix.Add(intent("int_a", 0, 2500, 0, "DoorDash"))
	require.True(t, ix.Match("card_1", 2500, "DOORDASH", t0).Matched)
	require.Equal(t, Result{}, ix.Match("card_1", 2500, "DOORDASH", t0))
	require.False(t, ix.Remove("int_a"))
	require.False(t, ix.SetExpiry("int_a", t0))
	require.Zero(t, ix.Len())
	count := 0
	ix.Expire(t0+48*3600*1000, func(Pending) { count++ })
	require.Zero(t, count, "a matched intent does not expire later")
}

func TestAddReplaces(t *testing.T) {
	ix := NewIndex()
	ix.Add(intent("int_a", 0, 2500, 0, "DoorDash"))
	p := intent("int_a", 5, 7000, 100, "Amazon")
	p.CardID = "card_2"
	ix.Add(p)
	require.Equal(t, 1, ix.Len())
	require.Empty(t, ids(ix, "card_1"))
	var got []Pending
	ix.Pending("card_2", func(p Pending) bool { got = append(got, p); return true })
	require.Equal(t, []Pending{p}, got)
	require.Equal(t, Result{}, ix.Match("card_1", 2500, "DOORDASH", t0))
	require.True(t, ix.Match("card_2", 7050, "AMZN", t0).Matched)
}

func TestRemove(t *testing.T) {
	ix := NewIndex()
	require.False(t, ix.Remove("int_none"))
	for i, id := range []string{"int_a", "int_b", "int_c"} {
		ix.Add(intent(id, int64(i), 2500, 0, ""))
	}
	require.True(t, ix.Remove("int_b"))
	require.False(t, ix.Remove("int_b"))
	require.Equal(t, []string{"int_a", "int_c"}, ids(ix, "card_1"))
	require.Equal(t, 2, ix.Len())
	require.Equal(t, "int_a", ix.Match("card_1", 2500, "", t0).IntentID)
	require.True(t, ix.Remove("int_c"))
	require.Zero(t, ix.Len())
	require.Empty(t, ids(ix, "card_1"))

	// The records are reused; the old IDs stay gone.
	ix.Add(intent("int_d", 0, 100, 0, ""))
	require.False(t, ix.Remove("int_a"))
	require.False(t, ix.Remove("int_b"))
	require.True(t, ix.Remove("int_d"))
}

func TestSetExpiry(t *testing.T) {
	ix := NewIndex()
	require.False(t, ix.SetExpiry("int_none", t0))
	a := intent("int_a", 0, 2500, 0, "")  // expires t0+30m
	b := intent("int_b", 10, 2500, 0, "") // expires t0+30m+10s
	ix.Add(a)
	ix.Add(b)

	// Extended to 24 hours after its card details were read.
	day := a.CreatedMs + 24*3600*1000
	require.True(t, ix.SetExpiry("int_a", day))
	var expired []string
	ix.Expire(b.ExpiresMs, func(p Pending) { expired = append(expired, p.ID) })
	require.Equal(t, []string{"int_b"}, expired)
	require.Equal(t, []string{"int_a"}, ids(ix, "card_1"))

	// Still matchable after its first expiry, and reports its new one.
	ix.Pending("card_1", func(p Pending) bool { require.Equal(t, day, p.ExpiresMs); return true })
	require.Equal(t, "int_a", ix.Match("card_1", 2500, "", day-1).IntentID)

	// Shortening works too.
	ix.Add(a)
	require.True(t, ix.SetExpiry("int_a", t0))
	require.Equal(t, Result{}, ix.Match("card_1", 2500, "", t0))
}

func TestExpire(t *testing.T) {
	ix := NewIndex()
	ix.Expire(t0, func(Pending) { t.Fatal("nothing to expire") })
	mk := func(id, card string, expires int64) Pending {
		return Pending{ID: id, CardID: card, CreatedMs: t0, ExpiresMs: t0 + expires}
	}
	for _, p := range []Pending{
		mk("int_e", "card_1", 50),
		mk("int_b", "card_2", 20),
		mk("int_a", "card_1", 10),
		mk("int_c1", "card_3", 30), // same expiry: reported in the order added
		mk("int_c2", "card_1", 30),
		mk("int_late", "card_2", 1000),
	} {
		ix.Add(p)
	}
	ix.Remove("int_b")
	var got []string
	ix.Expire(t0+29, func(p Pending) { got = append(got, p.ID) })
	require.Equal(t, []string{"int_a"}, got)
	got = nil
	ix.Expire(t0+50, func(p Pending) { got = append(got, p.ID) })
	require.Equal(t, []string{"int_c1", "int_c2", "int_e"}, got)
	require.Equal(t, 1, ix.Len())
	require.Empty(t, ids(ix, "card_1"))
	require.Empty(t, ids(ix, "card_3"))
	require.Equal(t, []string{"int_late"}, ids(ix, "card_2"))
	require.False(t, ix.Remove("int_e"))
	require.Equal(t, Result{}, ix.Match("card_1", 0, "", t0))

	// A nil callback just removes.
	ix.Expire(t0+1000, nil)
	require.Zero(t, ix.Len())
}

func TestPendingOrderAndStop(t *testing.T) {
	ix := NewIndex()
	ix.Add(intent("int_c", 30, 1, 0, "Blue Bottle"))
	ix.Add(intent("int_a", 10, 1, 0, ""))
	ix.Add(intent("int_b", 20, 1, 0, ""))
	ix.Add(intent("int_b2", 20, 1, 0, ""))
	require.Equal(t, []string{"int_a", "int_b", "int_b2", "int_c"}, ids(ix, "card_1"))
	n := 0
	ix.Pending("card_1", func(Pending) bool { n++; return n < 2 })
	require.Equal(t, 2, n)
	ix.Pending("card_unknown", func(Pending) bool { t.Fatal("no intents"); return false })
}

func TestZeroIndex(t *testing.T) {
	var ix Index
	require.Equal(t, Result{}, ix.Match("card_1", 1, "X", t0))
	require.False(t, ix.Remove("int_a"))
	require.False(t, ix.SetExpiry("int_a", t0))
	ix.Expire(t0, nil)
	ix.Pending("card_1", func(Pending) bool { return true })
	ix.Add(intent("int_a", 0, 2500, 0, "DoorDash"))
	require.True(t, ix.Match("card_1", 2500, "DOORDASH", t0).Matched)
}

func TestMatchDoesNotAllocate(t *testing.T) {
	ix := NewIndex()
	p := intent("int_a", 0, 2500, 0, "Blue Bottle Coffee")
	q := intent("int_b", 1, 2500, 0, "DoorDash")
	// Other cards keep both merchants interned, so re-adding p and q finds
	// them (interning a new merchant allocates its key).
	for i, m := range []string{p.Merchant, q.Merchant} {
		ix.Add(Pending{ID: "int_keep" + string(rune('0'+i)), CardID: "card_2", Merchant: m, ExpiresMs: t0 + 1000})
	}
	allocs := testing.AllocsPerRun(100, func() {
		ix.Match("card_1", 2500, "SQ *BLUE BOTTLE COFFEE #12", t0)
		ix.Match("card_1", 2500, "DD *DOORDASH", t0)
		// Steady state: the records, the card's slot and slice are reused.
		ix.Add(p)
		ix.Add(q)
	})
	require.Zero(t, allocs)
}

func TestAmountExtremes(t *testing.T) {
	ix := NewIndex()
	ix.Add(intent("int_a", 0, -1<<63, 1<<63-1, ""))
	r := ix.Match("card_1", 1<<63-1, "", t0)
	require.True(t, r.Found)
	require.False(t, r.AmountMatch, "the distance does not overflow")
}
