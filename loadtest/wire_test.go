package loadtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// testCards are synthetic cards plus the layouts they do not cover: a
// 19-digit PAN, a 4-digit CVV2, a short merchant.
func testCards() []Card {
	cards := SyntheticCards(4, 9)
	cards[1].PAN = "4000001234567890123"
	cards[2].CVV = "1234"
	cards[3].Merchant = Merchant{ID: "M1", Name: "X", City: "", Country: "GB", MCC: "5812"}
	return cards
}

// requestFor is the iso.Request that p describes, for iso.PackRequest.
func requestFor(c *Card, p *msgParams) *iso.Request {
	tm := time.Unix(p.unixSec, 0).UTC()
	r := &iso.Request{
		MTI: string(p.mti[:]), PAN: c.PAN, ProcessingCode: procPurchase, AmountCents: p.amountCents, HasAmount: true,
		TransmissionDateTime: tm.Format("0102150405"), STAN: fmt.Sprintf("%06d", p.stan),
		LocalTime: tm.Format("150405"), LocalDate: tm.Format("0102"), MCC: c.Merchant.MCC, POSEntryMode: posEntryMode,
		RRN: string(p.rrn[:]), TerminalID: terminalID, MerchantID: c.Merchant.ID, MerchantName: c.Merchant.Name,
		MerchantCity: c.Merchant.City, MerchantCountry: c.Merchant.Country, CurrencyCode: currencyUSD,
	}
	if p.refund {
		r.ProcessingCode = procRefund
	}
	de90 := string(p.origMTI[:]) + fmt.Sprintf("%06d", p.origSTAN) + time.Unix(p.origSec, 0).UTC().Format("0102150405") +
		strings.Repeat("0", 22)
	switch p.variant() {
	case vAuth, vPartialAuth, vIncrement:
		r.Expiry = c.ExpYear[2:] + c.ExpMonth
		if p.badExpiry {
			r.Expiry = fmt.Sprintf("%02d%s", (int(c.ExpYear[2]-'0')*10+int(c.ExpYear[3]-'0')+1)%100, c.ExpMonth)
		}
		r.CVV2, r.HasCVV2 = c.CVV, true
		if p.orig90 {
			r.OriginalData = de90
		}
	case vReverse90:
		r.OriginalData = de90
	case vEcho:
		return &iso.Request{MTI: "0800", TransmissionDateTime: tm.Format("0102150405"), STAN: fmt.Sprintf("%06d", p.stan), NetworkCode: "301"}
	default:
		r.AuthCode = string(p.auth[:])
		if p.partial {
			r.ReplacementAmountCents, r.HasReplacement = p.replaceCents, true
		}
	}
	return r
}

func randomParams(rng *rand.Rand, ncards int) msgParams {
	p := msgParams{
		card: int32(rng.IntN(ncards)), amountCents: rng.Int64N(1_000_000_000), stan: uint32(1 + rng.IntN(999_999)),
		unixSec: 1_700_000_000 + rng.Int64N(100_000_000),
	}
	copy(p.rrn[:], "RUNID1")
	putBase36(p.rrn[6:], rng.Uint64())
	copy(p.auth[:], fmt.Sprintf("A%05d", rng.IntN(100000)))
	p.origMTI, p.origSTAN, p.origSec = mti0100, uint32(1+rng.IntN(999_999)), 1_700_000_000+rng.Int64N(100_000_000)
	switch rng.IntN(13) {
	case 0:
		p.mti = [4]byte{'0', '1', '0', '0'}
	case 1:
		p.mti = [4]byte{'0', '1', '0', '0'}
		p.refund = true
	case 2:
		p.mti = [4]byte{'0', '1', '0', '1'}
		p.badExpiry = true
	case 3:
		p.mti = [4]byte{'0', '2', '2', '0'}
	case 4:
		p.mti = [4]byte{'0', '4', '0', '0'}
	case 5:
		p.mti = [4]byte{'0', '4', '0', '0'}
		p.partial = true
		p.replaceCents = p.amountCents / 2
	case 6:
		p.mti = mti0120
	case 7:
		p.mti = mti0200
	case 8:
		p.mti = mti0420
	case 9:
		p.mti, p.partialOK = mti0100, true
	case 10:
		p.mti, p.orig90 = mti0100, true
	case 11:
		p.mti, p.orig90, p.refund = mti0400, true, rng.IntN(2) == 0
		p.origMTI = mti0200
	case 12:
		p.mti = mti0800
	}
	return p
}

// TestBuildMatchesPackRequest checks the patched templates byte for byte
// against the codec: every message the generator sends is exactly what
// iso.PackRequest and iso.WriteFrame make of the same content.
func TestBuildMatchesPackRequest(t *testing.T) {
	cards := testCards()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, framing := range []iso.Framing{iso.Binary2, iso.ASCII4, iso.Binary4, iso.Binary2TPDU} {
		wires := make([]cardWire, len(cards))
		sets := make([]templateSet, len(cards))
		for i := range cards {
			w, err := newCardWire(&cards[i])
			require.NoError(t, err)
			wires[i] = w
			sets[i], err = buildTemplates(w.layout, framing)
			require.NoError(t, err)
		}
		var tf timeFields
		var buf []byte
		for n := 0; n < 600; n++ {
			p := randomParams(rng, len(cards))
			buf = build(buf[:0], &sets[p.card], &wires[p.card], &p, &tf)
			msg, err := iso.PackRequest(requestFor(&cards[p.card], &p))
			require.NoError(t, err)
			if p.variant() == vPartialAuth {
				// iso.PackRequest writes only sub-element 92 into DE 48:
				// check the generator's DE 48 through moov-io, then
				// compare the rest with it put back.
				hdr := framing.LengthBytes() + framing.TPDUBytes()
				m := iso8583.NewMessage(iso.Spec())
				require.NoError(t, m.Unpack(buf[hdr:]))
				de48, err := m.GetString(48)
				require.NoError(t, err)
				cvv := cards[p.card].CVV
				require.Equal(t, fmt.Sprintf("R92%02d%s61011", len(cvv), cvv), de48)
				require.NoError(t, m.Field(48, fmt.Sprintf("R92%02d%s", len(cvv), cvv)))
				back, err := m.Pack()
				require.NoError(t, err)
				require.Equal(t, string(msg), string(back))
				continue
			}
			var want bytes.Buffer
			require.NoError(t, iso.WriteFrame(&want, framing, msg))
			require.Equal(t, want.String(), string(buf), "framing %s, params %+v", framing, p)
		}
	}
}

func TestBuildDoesNotAllocate(t *testing.T) {
	cards := SyntheticCards(1, 1)
	w, err := newCardWire(&cards[0])
	require.NoError(t, err)
	set, err := buildTemplates(w.layout, iso.Binary2)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	p := randomParams(rng, 1)
	var tf timeFields
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(1000, func() {
		p.stan++
		p.unixSec++
		buf = build(buf[:0], &set, &w, &p, &tf)
	})
	assert.Zero(t, allocs)
}

func TestParseReplyAgreesWithUnpackResponse(t *testing.T) {
	cards := SyntheticCards(3, 2)
	rng := rand.New(rand.NewPCG(5, 5))
	for n := 0; n < 200; n++ {
		p := randomParams(rng, len(cards))
		req, err := iso.PackRequest(requestFor(&cards[p.card], &p))
		require.NoError(t, err)
		reply := echoReply(nil, req)
		var fast, slow replyView
		require.True(t, parseReply(reply, &fast))
		unpacked, err := iso.UnpackResponse(reply)
		require.NoError(t, err)
		replyFromUnpacked(unpacked, &slow)
		require.Equal(t, slow, fast)
		assert.True(t, fast.keyOK)
		assert.Equal(t, p.stan, fast.stan)
		if p.mti == mti0800 {
			assert.Zero(t, fast.rrn, "an echo test is keyed by its STAN alone")
		} else {
			assert.Equal(t, p.rrn, fast.rrn)
		}
		assert.Equal(t, [2]byte{'0', '0'}, fast.code)
		wantMTI := map[string]string{"0100": "0110", "0101": "0110", "0120": "0130", "0200": "0210", "0220": "0230",
			"0400": "0410", "0420": "0430", "0800": "0810"}[string(p.mti[:])]
		assert.Equal(t, wantMTI, string(fast.mti[:]))
		m := string(p.mti[:])
		assert.Equal(t, m == "0100" || m == "0101" || m == "0200", fast.hasAuth, "approval code on 0110 and 0210 only")
	}
	// A reply the fast path cannot walk is left to the slow path.
	var rv replyView
	assert.False(t, parseReply([]byte("0110ZZZZ"), &rv))
	assert.False(t, parseReply([]byte("0110"), &rv))
}

func TestEchoReplyToMalformedRequest(t *testing.T) {
	reply := echoReply(nil, []byte("0100"+strings.Repeat("F", 16)))
	rep, err := iso.UnpackResponse(reply)
	require.NoError(t, err)
	assert.Equal(t, "0110", rep.MTI)
	assert.Equal(t, "30", rep.Code)
}

func BenchmarkBuild(b *testing.B) {
	cards := SyntheticCards(1, 1)
	w, _ := newCardWire(&cards[0])
	set, _ := buildTemplates(w.layout, iso.Binary2)
	p := randomParams(rand.New(rand.NewPCG(1, 1)), 1)
	var tf timeFields
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		p.stan++
		buf = build(buf[:0], &set, &w, &p, &tf)
	}
}

func BenchmarkPackRequest(b *testing.B) {
	cards := SyntheticCards(1, 1)
	p := randomParams(rand.New(rand.NewPCG(1, 1)), 1)
	r := requestFor(&cards[0], &p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iso.PackRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReply(b *testing.B) {
	cards := SyntheticCards(1, 1)
	p := randomParams(rand.New(rand.NewPCG(1, 1)), 1)
	req, _ := iso.PackRequest(requestFor(&cards[0], &p))
	reply := echoReply(nil, req)
	var rv replyView
	b.ReportAllocs()
	for b.Loop() {
		parseReply(reply, &rv)
	}
}
