package matcher

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveIndex is the Index's specification written as plainly as possible:
// one slice, scanned and sorted on every call. The randomized test below
// runs the same operations on both and requires the same answers.
type naiveIndex struct {
	items []naiveItem
	seq   int
}

type naiveItem struct {
	p   Pending
	seq int // order of Add; breaks ties between equal times
}

func (n *naiveIndex) add(p Pending) {
	n.remove(p.ID)
	p.ToleranceCents = max(p.ToleranceCents, 0)
	if strings.TrimSpace(p.Merchant) == "" {
		p.Merchant = ""
	}
	n.seq++
	n.items = append(n.items, naiveItem{p, n.seq})
}

func (n *naiveIndex) remove(id string) bool {
	for i, it := range n.items {
		if it.p.ID == id {
			n.items = slices.Delete(n.items, i, i+1)
			return true
		}
	}
	return false
}

func (n *naiveIndex) setExpiry(id string, ms int64) bool {
	for i := range n.items {
		if n.items[i].p.ID == id {
			n.items[i].p.ExpiresMs = ms
			return true
		}
	}
	return false
}

// card returns the card's intents, oldest first.
func (n *naiveIndex) card(cardID string) []naiveItem {
	var out []naiveItem
	for _, it := range n.items {
		if it.p.CardID == cardID {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b naiveItem) int {
		return cmp.Or(cmp.Compare(a.p.CreatedMs, b.p.CreatedMs), cmp.Compare(a.seq, b.seq))
	})
	return out
}

func (n *naiveIndex) match(cardID string, amount int64, merchant string, now int64) Result {
	type cand struct {
		id                string
		amountOK, merchOK bool
		score             int
		diff              uint64
	}
	var cands []cand
	for _, it := range n.card(cardID) {
		p := it.p
		if p.ExpiresMs <= now {
			continue
		}
		c := cand{id: p.ID, amountOK: true, merchOK: true}
		if p.HasAmount {
			c.diff = absDiff(amount, p.ExpectedCents)
			c.amountOK = c.diff <= uint64(p.ToleranceCents)
		}
		if strings.TrimSpace(p.Merchant) != "" {
			c.merchOK = MerchantMatches(p.Merchant, merchant)
		}
		if c.amountOK {
			c.score++
		}
		if c.merchOK {
			c.score++
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return Result{}
	}
	// The oldest full match; otherwise the most criteria, then the
	// nearest amount, then the oldest (the sort is stable and cands run
	// oldest first).
	best := cands[0]
	if i := slices.IndexFunc(cands, func(c cand) bool { return c.score == 2 }); i >= 0 {
		best = cands[i]
	} else {
		slices.SortStableFunc(cands, func(a, b cand) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.diff, b.diff))
		})
		best = cands[0]
	}
	n.remove(best.id)
	return Result{Found: true, Matched: best.score == 2, IntentID: best.id, AmountMatch: best.amountOK, MerchantMatch: best.merchOK}
}

func (n *naiveIndex) expire(now int64) []Pending {
	var out []naiveItem
	var keep []naiveItem
	for _, it := range n.items {
		if it.p.ExpiresMs <= now {
			out = append(out, it)
		} else {
			keep = append(keep, it)
		}
	}
	n.items = keep
	slices.SortFunc(out, func(a, b naiveItem) int {
		return cmp.Or(cmp.Compare(a.p.ExpiresMs, b.p.ExpiresMs), cmp.Compare(a.seq, b.seq))
	})
	var ps []Pending
	for _, it := range out {
		ps = append(ps, it.p)
	}
	return ps
}

// naiveShape sizes a randomized run: how many operations, and how many
// distinct cards and intent IDs they draw from.
type naiveShape struct{ steps, cards, ids int }

// TestAgainstNaiveModel runs random operations on an Index and on
// naiveIndex and requires the same answers after every one, and the
// Index's internal invariants to hold. A failure names its seed.
func TestAgainstNaiveModel(t *testing.T) {
	narrow := naiveShape{steps: 400, cards: 4, ids: 40}    // collisions on every step
	wide := naiveShape{steps: 4000, cards: 300, ids: 3000} // table growth and shifting
	seeds, wideSeeds := 300, 10
	if testing.Short() {
		seeds, wideSeeds = 30, 2
	}
	for seed := range uint64(seeds) {
		runAgainstNaive(t, seed, narrow)
	}
	for seed := range uint64(wideSeeds) {
		runAgainstNaive(t, 1000+seed, wide)
	}
}

func runAgainstNaive(t *testing.T, seed uint64, shape naiveShape) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	ix, ref := NewIndex(), &naiveIndex{}
	// msg is formatted by require only on failure: building it on every
	// step would be most of the test's time.
	const msg = "seed %d, step %d: %s (rerun with runAgainstNaive(t, %d, %+v))"

	// Small pools make collisions likely: the same card, ID, merchant,
	// amount and time come up again and again.
	var cards []string
	for i := range shape.cards {
		cards = append(cards, fmt.Sprintf("card_%d", i))
	}
	id := func() string { return fmt.Sprintf("int_%d", r.IntN(shape.ids)) }
	expected := []string{"", " ", "DoorDash", "Amazon", "Blue Bottle Coffee", "Blue Bottle", "Joe's Pizza", "Uber Eats", "Apple", "#12"}
	actual := []string{"", "DOORDASH*BURGERPLACE", "AMZN Mktp US*2K4LM0", "SQ *BLUE BOTTLE", "TST* Joe's Pizza #12", "UBER *EATS", "APPLEBEES #44", "APPLE.COM/BILL", "WALMART #1", "12"}
	amounts := []int64{0, 100, 2000, 2450, 2500, 3000, 5000}
	now := int64(1_000_000)

	for step := range shape.steps {
		now += int64(r.IntN(3)) * 10
		switch op := r.IntN(100); {
		case op < 40:
			p := Pending{
				ID:             id(),
				CardID:         cards[r.IntN(len(cards))],
				HasAmount:      r.IntN(4) > 0,
				ExpectedCents:  amounts[r.IntN(len(amounts))],
				ToleranceCents: int64(r.IntN(4)-1) * 250, // -250 .. 500
				Merchant:       expected[r.IntN(len(expected))],
				CreatedMs:      now - int64(r.IntN(5))*10,
				ExpiresMs:      now + int64(r.IntN(40))*10,
			}
			ix.Add(p)
			ref.add(p)
		case op < 50:
			id := id()
			require.Equal(t, ref.remove(id), ix.Remove(id), msg, seed, step, "Remove "+id, seed, shape)
		case op < 58:
			id := id()
			ms := now + int64(r.IntN(60)-10)*10
			require.Equal(t, ref.setExpiry(id, ms), ix.SetExpiry(id, ms), msg, seed, step, "SetExpiry "+id, seed, shape)
		case op < 88:
			c := cards[r.IntN(len(cards))]
			a := amounts[r.IntN(len(amounts))] + int64(r.IntN(3)-1)*10
			m := actual[r.IntN(len(actual))]
			want := ref.match(c, a, m, now)
			got := ix.Match(c, a, m, now)
			require.Equal(t, want, got, msg+" Match(%s, %d, %q)", seed, step, "", seed, shape, c, a, m)
		default:
			want := ref.expire(now)
			var got []Pending
			ix.Expire(now, func(p Pending) { got = append(got, p) })
			require.Equal(t, want, got, msg, seed, step, "Expire", seed, shape)
		}

		require.Equal(t, len(ref.items), ix.Len(), msg, seed, step, "Len", seed, shape)
		require.Equal(t, len(ix.recs), ix.Len()+len(ix.free), msg, seed, step, "handles", seed, shape)
		if shape.cards > 10 && step%100 != 99 {
			continue // checking everything at every step would be quadratic
		}
		checkInvariants(t, ix, fmt.Sprintf(msg, seed, step, "invariants", seed, shape))
		for _, c := range cards {
			var want, got []Pending
			for _, it := range ref.card(c) {
				want = append(want, it.p)
			}
			ix.Pending(c, func(p Pending) bool { got = append(got, p); return true })
			require.Equal(t, want, got, msg, seed, step, "Pending "+c, seed, shape)
		}
	}
}

// checkInvariants checks that the Index's structures agree with each other:
// every live record is in its card, the heap and the ID table; the heap is
// ordered; cards are sorted oldest first and findable; merchant reference
// counts are right.
func checkInvariants(t *testing.T, ix *Index, msg string) {
	t.Helper()
	check := func(ok bool, what string) {
		if !ok {
			t.Fatalf("%s: %s", msg, what)
		}
	}
	live := 0
	refs := map[uint32]uint32{}
	cards := 0
	for i := range ix.cards.slots {
		c := &ix.cards.slots[i]
		if c.tag == 0 {
			continue
		}
		cards++
		check(len(c.entries) > 0, "an empty card stays in the table")
		check(i == ix.cards.find(ix.cards.tag(c.id), c.id), "card not findable")
		for k := range c.entries {
			e := &c.entries[k]
			live++
			if m := e.merchant(); m != 0 {
				refs[m]++
			}
			if k > 0 {
				check(c.entries[k-1].createdMs <= e.createdMs, "card not oldest first")
			}
			r := ix.recs[e.handle]
			check(c.tag == r.cardTag, "card tag")
			check(e.handle == ix.heap[r.heapPos].handle, "heap position")
			check(e.expiresMs == ix.heap[r.heapPos].expiresMs, "heap expiry")
			ci, kk, ok := ix.lookup(e.id)
			check(ok && ci == i && kk == k, "ID lookup")
		}
	}
	check(ix.cards.n == cards, "card count")
	check(ix.n == live, "Len")
	for i := 1; i < len(ix.heap); i++ {
		check(!ix.heap[i].before(&ix.heap[(i-1)/2]), "heap order")
	}
	for i, it := range ix.heap {
		check(uint32(i) == ix.recs[it.handle].heapPos, "heap back-pointer")
	}
	slots := 0
	for _, s := range ix.ids.slots {
		if s != 0 {
			slots++
		}
	}
	check(ix.ids.n == slots, "ID table count")
	inIDs := 0
	for _, r := range ix.recs {
		if r.flags&recInIDs != 0 {
			inIDs++
		}
	}
	check(inIDs == ix.ids.n, "one ID slot per record that has one")
	for m := 1; m < len(ix.merchants); m++ {
		check(refs[uint32(m)] == ix.merchants[m].refs, "merchant refs")
	}
}
