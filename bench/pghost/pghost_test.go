//go:build compare_pg

package pghost

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/bench/moovhost"
	"github.com/ledgersim/ledgersim/bench/seed"
)

// The tests need a scratch database: LEDGERSIM_PG_TEST_DSN, e.g.
// postgres://bench@127.0.0.1:55432/ledgersim_bench. They drop and create
// the tables in it.
func openTest(t *testing.T) *Ledger {
	t.Helper()
	dsn := os.Getenv("LEDGERSIM_PG_TEST_DSN")
	if dsn == "" {
		t.Skip("LEDGERSIM_PG_TEST_DSN not set")
	}
	ctx := context.Background()
	l, err := Open(ctx, dsn, Options{PoolSize: 8, PANKey: []byte("0123456789abcdef0123456789abcdef"),
		Now: func() time.Time { return time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	require.NoError(t, l.CheckDurable(ctx))
	require.NoError(t, l.InitSchema(ctx))
	require.NoError(t, l.Load(ctx, &seed.Seed{
		Accounts: []seed.Account{{ID: "rich", BalanceCents: 1_000_000}, {ID: "poor", BalanceCents: 500}},
		Cards: []seed.Card{
			{PAN: panRich, CVV: "123", Expiry: "3112", MaxAmountCents: 50_000, AccountID: "rich", Status: seed.StatusActive},
			{PAN: panPoor, CVV: "456", Expiry: "3112", MaxAmountCents: 50_000, AccountID: "poor", Status: seed.StatusActive},
		},
	}))
	return l
}

const (
	panRich    = "4000001234567899"
	panPoor    = "4000009876543217"
	panUnknown = "4000000000000002"
)

var seq atomic.Int64

func req(pan string, amount int64) *moovhost.Request {
	n := seq.Add(1)
	cvv := "123"
	if pan == panPoor {
		cvv = "456"
	}
	return &moovhost.Request{MTI: "0100", PAN: pan, ProcessingCode: "000000", AmountCents: amount,
		STAN: fmt.Sprintf("%06d", n), RRN: fmt.Sprintf("PG%010d", n), Expiry: "3112", CVV: cvv, HasCVV: true, Currency: "840"}
}

func TestPostgresRules(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()

	ok := req(panRich, 2_500)
	a := l.Authorize(ctx, ok)
	require.Equal(t, moovhost.CodeApproved, a.Code)
	require.Len(t, a.AuthCode, 6)
	_, held, err := l.Balance(ctx, panRich)
	require.NoError(t, err)
	assert.Equal(t, int64(2_500), held)

	assert.Equal(t, moovhost.CodeInsufficientFunds, l.Authorize(ctx, req(panPoor, 501)).Code)
	bad := req(panRich, 100)
	bad.Expiry = "3012"
	assert.Equal(t, moovhost.CodeExpiredCard, l.Authorize(ctx, bad).Code)
	assert.Equal(t, moovhost.CodeInvalidCard, l.Authorize(ctx, req(panUnknown, 100)).Code)
	assert.Equal(t, moovhost.CodeAmountLimit, l.Authorize(ctx, req(panRich, 50_001)).Code)

	// A repeat gets the first answer; the same RRN with another STAN is a duplicate.
	rep := *ok
	rep.MTI = "0101"
	assert.Equal(t, a, l.Authorize(ctx, &rep))
	dup := *ok
	dup.STAN = "999999"
	assert.Equal(t, moovhost.CodeDuplicate, l.Authorize(ctx, &dup).Code)

	// Partial capture.
	clr := req(panRich, 2_000)
	clr.MTI, clr.RRN, clr.AuthCode = "0220", ok.RRN, a.AuthCode
	assert.Equal(t, moovhost.CodeApproved, l.Capture(ctx, clr).Code)
	assert.Equal(t, moovhost.CodeNoOriginal, l.Capture(ctx, clr).Code, "cleared already")
	bal, held, err := l.Balance(ctx, panRich)
	require.NoError(t, err)
	assert.Equal(t, int64(1_000_000-2_000), bal)
	assert.Zero(t, held)

	// Partial, then full reversal.
	o2 := req(panRich, 1_000)
	a2 := l.Authorize(ctx, o2)
	require.Equal(t, moovhost.CodeApproved, a2.Code)
	rev := req(panRich, 1_000)
	rev.MTI, rev.RRN, rev.AuthCode, rev.ReplacementCents, rev.HasReplacement = "0400", o2.RRN, a2.AuthCode, 300, true
	assert.Equal(t, moovhost.CodeApproved, l.Reverse(ctx, rev).Code)
	_, held, _ = l.Balance(ctx, panRich)
	assert.Equal(t, int64(300), held)
	rev.HasReplacement = false
	assert.Equal(t, moovhost.CodeApproved, l.Reverse(ctx, rev).Code)
	_, held, _ = l.Balance(ctx, panRich)
	assert.Zero(t, held)
	assert.Zero(t, l.Errors())
}

func TestPostgresConcurrentHolds(t *testing.T) {
	l := openTest(t)
	var wg sync.WaitGroup
	var approved atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Authorize(context.Background(), req(panPoor, 50)).Code == moovhost.CodeApproved {
				approved.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(10), approved.Load())
	_, held, err := l.Balance(context.Background(), panPoor)
	require.NoError(t, err)
	assert.Equal(t, int64(500), held)
	assert.Zero(t, l.Errors())
}
