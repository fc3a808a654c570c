package moovhost

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/bench/seed"
	"github.com/ledgersim/ledgersim/iso"
)

// Test cards. The PANs are Luhn-valid test numbers of no real issuer.
const (
	panRich    = "4000001234567899"
	panPoor    = "4000009876543217"
	panFrozen  = "4000005555555553"
	panUnknown = "4000000000000002"
)

func testSeed() *seed.Seed {
	return &seed.Seed{
		Accounts: []seed.Account{{ID: "rich", BalanceCents: 1_000_000}, {ID: "poor", BalanceCents: 500}},
		Cards: []seed.Card{
			{PAN: panRich, CVV: "123", Expiry: "3112", MaxAmountCents: 50_000, AccountID: "rich", Status: seed.StatusActive},
			{PAN: panPoor, CVV: "456", Expiry: "3112", MaxAmountCents: 50_000, AccountID: "poor", Status: seed.StatusActive},
			{PAN: panFrozen, CVV: "789", Expiry: "3112", MaxAmountCents: 50_000, AccountID: "rich", Status: seed.StatusFrozen},
		},
	}
}

// startHost serves a Memory ledger over TCP and returns a moov-io
// iso8583-connection client connected to it.
func startHost(t *testing.T) (*Memory, *connection.Connection) {
	t.Helper()
	mem, err := NewMemory(testSeed(), func() time.Time { return time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC) })
	require.NoError(t, err)
	srv, err := Listen("127.0.0.1:0", iso.Binary2, mem)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	read, write, err := lengthFuncs(iso.Binary2)
	require.NoError(t, err)
	c, err := connection.New(srv.Addr(), iso.Spec(), read, write, connection.SendTimeout(5*time.Second))
	require.NoError(t, err)
	require.NoError(t, c.Connect())
	t.Cleanup(func() { _ = c.Close() })
	return mem, c
}

var stanSeq atomic.Int64

// msg is a request as a test writes it.
type msg struct {
	mti, pan, proc, expiry, cvv, authCode, rrn string
	amount                                     int64
	replacement                                int64 // DE 95 when > -1
	stan                                       string
}

func authMsg(pan string, amount int64) msg {
	n := stanSeq.Add(1)
	cvv := "123"
	for _, c := range testSeed().Cards {
		if c.PAN == pan {
			cvv = c.CVV
		}
	}
	return msg{mti: "0100", pan: pan, proc: "000000", expiry: "3112", cvv: cvv, amount: amount,
		stan: fmt.Sprintf("%06d", n), rrn: fmt.Sprintf("TEST%08d", n), replacement: -1}
}

func (m msg) build(t *testing.T) *iso8583.Message {
	t.Helper()
	out := iso8583.NewMessage(iso.Spec())
	out.MTI(m.mti)
	set := func(id int, v string) {
		if v != "" {
			require.NoError(t, out.Field(id, v))
		}
	}
	set(2, m.pan)
	set(3, m.proc)
	set(4, fmt.Sprintf("%012d", m.amount))
	set(7, "0615120000")
	set(11, m.stan)
	set(14, m.expiry)
	set(18, "5411")
	set(37, m.rrn)
	set(38, m.authCode)
	set(41, "TERM0001")
	set(42, fmt.Sprintf("%-15s", "MERCHANT1"))
	set(43, fmt.Sprintf("%-25s%-13s%-2s", "TEST SHOP", "SPRINGFIELD", "US"))
	if m.cvv != "" {
		set(48, "R92"+fmt.Sprintf("%02d", len(m.cvv))+m.cvv)
	}
	set(49, "840")
	if m.replacement >= 0 {
		set(95, fmt.Sprintf("%012d", m.replacement)+fmt.Sprintf("%030d", 0))
	}
	return out
}

type reply struct{ mti, code, authCode, stan, rrn, pan string }

func send(t *testing.T, c *connection.Connection, m msg) reply {
	t.Helper()
	resp, err := c.Send(m.build(t))
	require.NoError(t, err)
	var r reply
	r.mti, _ = resp.GetMTI()
	r.code, _ = resp.GetString(39)
	r.authCode, _ = resp.GetString(38)
	r.stan, _ = resp.GetString(11)
	r.rrn, _ = resp.GetString(37)
	r.pan, _ = resp.GetString(2)
	return r
}

func TestDecisionsOverTCP(t *testing.T) {
	t.Parallel()
	mem, c := startHost(t)

	approve := authMsg(panRich, 2_500)
	r := send(t, c, approve)
	assert.Equal(t, "0110", r.mti)
	assert.Equal(t, CodeApproved, r.code)
	assert.Len(t, r.authCode, 6)
	assert.Equal(t, approve.stan, r.stan, "DE 11 echoed")
	assert.Equal(t, approve.rrn, r.rrn, "DE 37 echoed")
	assert.Equal(t, panRich, r.pan, "DE 2 echoed")
	bal, held, _ := mem.Balance(panRich)
	assert.Equal(t, int64(1_000_000), bal)
	assert.Equal(t, int64(2_500), held, "the amount is held")

	cases := []struct {
		name string
		m    msg
		code string
	}{
		{"insufficient funds", authMsg(panPoor, 501), CodeInsufficientFunds},
		{"wrong expiry", func() msg { m := authMsg(panRich, 100); m.expiry = "3012"; return m }(), CodeExpiredCard},
		{"unknown card", authMsg(panUnknown, 100), CodeInvalidCard},
		{"over the card limit", authMsg(panRich, 50_001), CodeAmountLimit},
		{"frozen card", authMsg(panFrozen, 100), CodeRestrictedCard},
		{"wrong CVV2", func() msg { m := authMsg(panRich, 100); m.cvv = "999"; return m }(), CodeCVVMismatch},
		{"within the poor balance", authMsg(panPoor, 500), CodeApproved},
	}
	for _, tc := range cases {
		r := send(t, c, tc.m)
		assert.Equal(t, tc.code, r.code, tc.name)
		assert.Equal(t, tc.code == CodeApproved, r.authCode != "", "%s: DE 38 only on approvals", tc.name)
	}
	_, held, _ = mem.Balance(panRich)
	assert.Equal(t, int64(2_500), held, "declines hold nothing")
}

func TestRepeatClearingReversal(t *testing.T) {
	t.Parallel()
	mem, c := startHost(t)

	orig := authMsg(panRich, 10_000)
	first := send(t, c, orig)
	require.Equal(t, CodeApproved, first.code)

	// A repeat gets the first answer and holds nothing more.
	rep := orig
	rep.mti = "0101"
	again := send(t, c, rep)
	assert.Equal(t, first.code, again.code)
	assert.Equal(t, first.authCode, again.authCode)
	_, held, _ := mem.Balance(panRich)
	assert.Equal(t, int64(10_000), held)

	// A clearing with the wrong approval code finds nothing.
	clr := authMsg(panRich, 9_000)
	clr.mti, clr.rrn, clr.authCode, clr.expiry, clr.cvv = "0220", orig.rrn, "XXXXXX", "", ""
	assert.Equal(t, CodeNoOriginal, send(t, c, clr).code)
	// A partial capture releases the rest of the hold.
	clr.authCode = first.authCode
	r := send(t, c, clr)
	assert.Equal(t, "0230", r.mti)
	assert.Equal(t, CodeApproved, r.code)
	bal, held, _ := mem.Balance(panRich)
	assert.Equal(t, int64(1_000_000-9_000), bal)
	assert.Zero(t, held)

	// A partial reversal to 4,000, then a full one.
	o2 := authMsg(panRich, 10_000)
	a2 := send(t, c, o2)
	require.Equal(t, CodeApproved, a2.code)
	rev := authMsg(panRich, 10_000)
	rev.mti, rev.rrn, rev.authCode, rev.expiry, rev.cvv, rev.replacement = "0400", o2.rrn, a2.authCode, "", "", 4_000
	r = send(t, c, rev)
	assert.Equal(t, "0410", r.mti)
	assert.Equal(t, CodeApproved, r.code)
	_, held, _ = mem.Balance(panRich)
	assert.Equal(t, int64(4_000), held)
	rev2 := authMsg(panRich, 10_000)
	rev2.mti, rev2.rrn, rev2.authCode, rev2.expiry, rev2.cvv = "0400", o2.rrn, a2.authCode, "", ""
	assert.Equal(t, CodeApproved, send(t, c, rev2).code)
	_, held, _ = mem.Balance(panRich)
	assert.Zero(t, held)

	// A refund credits the balance.
	ref := authMsg(panRich, 1_000)
	ref.proc = "200000"
	assert.Equal(t, CodeApproved, send(t, c, ref).code)
	bal, _, _ = mem.Balance(panRich)
	assert.Equal(t, int64(1_000_000-9_000+1_000), bal)
}

// TestConcurrentAuthorizationsHoldOnce sends many authorizations on one
// account at once: exactly as many are approved as the balance covers.
func TestConcurrentAuthorizationsHoldOnce(t *testing.T) {
	t.Parallel()
	mem, c := startHost(t)
	var wg sync.WaitGroup
	var approved atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if send(t, c, authMsg(panPoor, 50)).code == CodeApproved {
				approved.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(10), approved.Load(), "500 cents cover ten holds of 50")
	_, held, _ := mem.Balance(panPoor)
	assert.Equal(t, int64(500), held)
}

func TestFormatErrorAndUnsupported(t *testing.T) {
	t.Parallel()
	_, c := startHost(t)
	m := authMsg(panRich, 100)
	m.pan = ""
	assert.Equal(t, CodeFormatError, send(t, c, m).code, "no DE 2")
	m = authMsg(panRich, 100)
	m.proc = "310000"
	assert.Equal(t, CodeInvalidTxn, send(t, c, m).code, "balance inquiry is not supported")
}
