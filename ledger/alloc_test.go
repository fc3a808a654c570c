package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
)

// maxAuthorizeAllocs is the most heap allocations one approved
// authorization may make, everything it sets off included: the decision,
// its record, the log's sync and the record's projection into the store
// (a sync per authorization here, where one authorization runs at a
// time). It is what the decision path makes today; an allocation count is
// deterministic, so a change that adds one fails here rather than in a
// benchmark nobody reruns. The five: the authorization's authWork (its
// change, record buffer, transaction and request), its transaction's ID
// with its approval code, its event's ID, and the log's two a sync. The
// race detector adds some of its own, and
// makes sync.Pool drop what it is given at random, so that its count
// moves by one or two from run to run: its bound leaves room for that.
const (
	maxAuthorizeAllocs     = 5
	maxAuthorizeAllocsRace = 11
)

// TestAuthorizeAllocations holds an approval's allocations to
// maxAuthorizeAllocs, on a store in memory and a card already warmed up
// (its shard, the repeat window and the queues grown to what they need).
func TestAuthorizeAllocations(t *testing.T) {
	f := newFixtureStore(t, 1, store.Options{FS: vfs.NewMem()}, nil)
	const runs = 200
	stans, rrns := make([]string, runs+50), make([]string, runs+50)
	for i := range stans {
		stans[i], rrns[i] = fmt.Sprintf("%06d", i), fmt.Sprintf("%012d", i)
	}
	ctx := context.Background()
	r := ledger.AuthRequest{
		Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 100,
		Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812", TxnTime: "1121101500",
	}
	n := 0
	authorize := func() {
		r.STAN, r.RRN = stans[n], rrns[n]
		n++
		out, err := f.l.Authorize(ctx, &r)
		if err != nil || out.Code != authz.CodeApproved {
			t.Fatal(err, out.Code)
		}
	}
	for range 40 {
		authorize()
	}
	allocs := testing.AllocsPerRun(runs, authorize)
	t.Logf("allocations per authorization: %v", allocs)
	limit := maxAuthorizeAllocs
	if raceEnabled {
		limit = maxAuthorizeAllocsRace
	}
	if allocs > float64(limit) {
		t.Errorf("an authorization made %v allocations; at most %d", allocs, limit)
	}
}

// maxFollowUpAllocs bounds an authorization and then its clearing or its
// reversal, as maxAuthorizeAllocs bounds an authorization alone.
var maxFollowUpAllocs = map[byte][2]int{ // class: without, with the race detector
	ledger.ClassClearing: {16, 28},
	ledger.ClassReversal: {16, 28},
}

func TestFollowUpAllocations(t *testing.T) {
	f := newFixtureStore(t, 1, store.Options{FS: vfs.NewMem()}, nil)
	const runs = 100
	n := 0
	stans, rrns, own := make([]string, 2*(runs+30)), make([]string, 2*(runs+30)), make([]string, 2*(runs+30))
	for i := range stans {
		stans[i], rrns[i], own[i] = fmt.Sprintf("%06d", i), fmt.Sprintf("%012d", i), fmt.Sprintf("%06d", 500000+i)
	}
	ctx := context.Background()
	for _, class := range []byte{ledger.ClassClearing, ledger.ClassReversal} {
		fus := make([]*ledger.FollowUp, len(stans))
		for i := range fus {
			fus[i] = followUp(class, f.pans[0], stans[i], rrns[i], own[i])
		}
		r := ledger.AuthRequest{
			Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 100,
			Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812", TxnTime: "1121101500",
		}
		pair := func() {
			r.STAN, r.RRN = stans[n], rrns[n]
			out, err := f.l.Authorize(ctx, &r)
			if err != nil || out.Code != authz.CodeApproved {
				t.Fatal(err, out.Code)
			}
			if class == ledger.ClassClearing {
				out, err = f.l.Clear(ctx, fus[n])
			} else {
				out, err = f.l.Reverse(ctx, fus[n])
			}
			if err != nil || out.Code != authz.CodeApproved {
				t.Fatal(err, out.Code, out.Reason)
			}
			n++
		}
		for range 20 {
			pair()
		}
		allocs := testing.AllocsPerRun(runs, pair)
		t.Logf("class %c: allocations per authorization and follow-up: %v", class, allocs)
		limit := maxFollowUpAllocs[class][0]
		if raceEnabled {
			limit = maxFollowUpAllocs[class][1]
		}
		if allocs > float64(limit) {
			t.Errorf("class %c: an authorization and its follow-up made %v allocations; at most %d", class, allocs, limit)
		}
	}
}
