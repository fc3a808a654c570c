package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583/encoding"

	"github.com/ledgersim/ledgersim/iso"
)

// The generator builds every message by copying a template packed once with
// iso.PackRequest and overwriting the bytes of the fields that change. This
// works because every field it changes has a fixed width once the PAN and
// CVV2 lengths are known: patching ~20 short byte ranges costs a few hundred
// nanoseconds and no allocation, where packing a message field by field
// through moov-io costs tens of microseconds and dozens of allocations, and
// would make the generator, not the server, the thing being measured.
// TestBuildMatchesPackRequest checks the result byte for byte against
// iso.PackRequest.
//
// Replies are read the same way: scanFields walks the bitmap with the field
// widths of iso.Spec() and picks out DE 11, 37, 38 and 39 without unpacking
// anything else. A reply it cannot walk falls back to iso.UnpackResponse.

// fieldWidth is how one data element is laid out on the wire.
type fieldWidth struct {
	fixed  int // bytes of a fixed-length field; 0 for a variable one
	prefix int // digits of a variable field's length prefix (2 or 3); 0 for fixed
}

// fieldWidths reads the wire layout of every field from the project's spec.
// A field whose encoding scanFields does not handle is left zero, which
// makes scanFields give up on any message that carries it.
var fieldWidths = sync.OnceValue(func() [129]fieldWidth {
	var w [129]fieldWidth
	spec := iso.Spec()
	for id := 2; id <= 128; id++ {
		f, ok := spec.Fields[id]
		if !ok {
			continue
		}
		sp := f.Spec()
		mult := 0
		switch sp.Enc {
		case encoding.ASCII:
			mult = 1
		case encoding.BytesToASCIIHex:
			mult = 2
		default:
			continue
		}
		switch sp.Pref.Inspect() {
		case "ASCII.Fixed", "Hex.Fixed":
			w[id] = fieldWidth{fixed: sp.Length * mult}
		case "ASCII.LL":
			if mult == 1 {
				w[id] = fieldWidth{prefix: 2}
			}
		case "ASCII.LLL":
			if mult == 1 {
				w[id] = fieldWidth{prefix: 3}
			}
		}
	}
	return w
})

// span is where a field's value (without its length prefix) sits in a
// message.
type span struct{ off, n int }

var errScan = errors.New("loadtest: message cannot be scanned")

// hexVal returns the value of a hex digit, or -1.
func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

func parseBitmap(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		h := hexVal(c)
		if h < 0 {
			return 0, false
		}
		v = v<<4 | uint64(h)
	}
	return v, true
}

// scanFields walks msg (MTI, hex bitmaps, fields) and records the span of
// every field up to and including upTo in pos, with present[id] set for
// fields found. It stops after upTo, so a reply is read only as far as its
// response code.
func scanFields(msg []byte, upTo int, pos *[129]span, present *[129]bool) error {
	if len(msg) < 4+16 {
		return errScan
	}
	primary, ok := parseBitmap(msg[4:20])
	if !ok {
		return errScan
	}
	off := 20
	var secondary uint64
	if primary&(1<<63) != 0 {
		if len(msg) < off+16 {
			return errScan
		}
		if secondary, ok = parseBitmap(msg[off : off+16]); !ok {
			return errScan
		}
		off += 16
	}
	widths := fieldWidths()
	for id := 2; id <= upTo && id <= 128; id++ {
		var set bool
		if id <= 64 {
			set = primary&(1<<uint(64-id)) != 0
		} else {
			set = secondary&(1<<uint(128-id)) != 0
		}
		if !set {
			continue
		}
		w := widths[id]
		n := w.fixed
		switch {
		case w.fixed > 0:
		case w.prefix > 0:
			if len(msg) < off+w.prefix {
				return errScan
			}
			n = 0
			for _, c := range msg[off : off+w.prefix] {
				if c < '0' || c > '9' {
					return errScan
				}
				n = n*10 + int(c-'0')
			}
			off += w.prefix
		default:
			return errScan
		}
		if len(msg) < off+n {
			return errScan
		}
		pos[id] = span{off, n}
		present[id] = true
		off += n
	}
	return nil
}

// replyView is what the generator needs from a reply.
type replyView struct {
	mti     [4]byte
	stan    uint32
	rrn     [12]byte
	code    [2]byte
	auth    [6]byte
	hasAuth bool
	keyOK   bool // DE 11 was 6 digits and DE 37 12 characters
	codeOK  bool
}

// parseReply fills rv from a reply without allocating. It returns false
// when the reply cannot be walked, and the caller falls back to
// iso.UnpackResponse.
func parseReply(msg []byte, rv *replyView) bool {
	var pos [129]span
	var present [129]bool
	if scanFields(msg, 39, &pos, &present) != nil {
		return false
	}
	*rv = replyView{}
	copy(rv.mti[:], msg[:4])
	if present[11] && present[37] && pos[11].n == 6 && pos[37].n == 12 {
		if v, ok := atou(msg[pos[11].off : pos[11].off+6]); ok {
			rv.stan = v
			copy(rv.rrn[:], msg[pos[37].off:pos[37].off+12])
			rv.keyOK = true
		}
	} else if present[11] && !present[37] && pos[11].n == 6 && rv.mti == mti0810 {
		// An 0810 echoes DE 11 but not DE 37: echo tests are keyed by
		// STAN alone (an all-zero RRN).
		if v, ok := atou(msg[pos[11].off : pos[11].off+6]); ok {
			rv.stan, rv.keyOK = v, true
		}
	}
	if present[38] && pos[38].n == 6 {
		copy(rv.auth[:], msg[pos[38].off:pos[38].off+6])
		rv.hasAuth = true
	}
	if present[39] && pos[39].n == 2 {
		copy(rv.code[:], msg[pos[39].off:pos[39].off+2])
		rv.codeOK = true
	}
	return true
}

// replyFromUnpacked converts the slow path's result.
func replyFromUnpacked(r *iso.Reply, rv *replyView) {
	*rv = replyView{}
	copy(rv.mti[:], r.MTI)
	if len(r.STAN) == 6 && (len(r.RRN) == 12 || (r.RRN == "" && rv.mti == mti0810)) {
		if v, ok := atou([]byte(r.STAN)); ok {
			rv.stan = v
			copy(rv.rrn[:], r.RRN)
			rv.keyOK = true
		}
	}
	if len(r.AuthCode) == 6 {
		copy(rv.auth[:], r.AuthCode)
		rv.hasAuth = true
	}
	if len(r.Code) == 2 {
		copy(rv.code[:], r.Code)
		rv.codeOK = true
	}
}

func atou(b []byte) (uint32, bool) {
	var v uint32
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	return v, true
}

// putDigits writes v as len(dst) zero-padded decimal digits (the lowest
// ones, if v is wider).
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// variant is a message layout: which fields a template carries.
type variant uint8

const (
	vAuth        variant = iota // 0100/0101/0120/0200: DE 2 3 4 7 11 12 13 14 18 22 37 41 42 43 48 49
	vCapture                    // 0220/0400/0420: DE 2 3 4 7 11 12 13 18 22 37 38 41 42 43 49
	vPartial                    // 0400 partial reversal: vCapture + DE 95
	vPartialAuth                // 0100 taking a partial approval: vAuth, DE 48 also carrying sub-element 61
	vIncrement                  // 0100 incremental authorization: vAuth + DE 90
	vReverse90                  // 0400 of a request that timed out: vCapture without DE 38, with DE 90
	vEcho                       // 0800 echo test: DE 7 11 70
	numVariants
)

// Message type indicators the generator tests for.
var (
	mti0100 = [4]byte{'0', '1', '0', '0'}
	mti0120 = [4]byte{'0', '1', '2', '0'}
	mti0200 = [4]byte{'0', '2', '0', '0'}
	mti0220 = [4]byte{'0', '2', '2', '0'}
	mti0400 = [4]byte{'0', '4', '0', '0'}
	mti0420 = [4]byte{'0', '4', '2', '0'}
	mti0800 = [4]byte{'0', '8', '0', '0'}
	mti0810 = [4]byte{'0', '8', '1', '0'}
)

// partialIndicator is the DE 48 sub-element by which a terminal says it
// takes a partial approval: tag 61, length 01, value 1.
const partialIndicator = "61011"

// Patchable positions in a template.
const (
	pMTI = iota
	pPAN
	pProc
	pAmount
	pDE7
	pSTAN
	pTime
	pDate
	pExpiry
	pMCC
	pRRN
	pAuth
	pMerchantID
	pMerchantNL // DE 43
	pCVV
	pReplacement
	pOrig // DE 90
	numPatches
)

// patchField maps a data element to its patch slot.
var patchField = map[int]int{2: pPAN, 3: pProc, 4: pAmount, 7: pDE7, 11: pSTAN, 12: pTime, 13: pDate,
	14: pExpiry, 18: pMCC, 37: pRRN, 38: pAuth, 42: pMerchantID, 43: pMerchantNL, 48: pCVV, 90: pOrig, 95: pReplacement}

// msgTemplate is one packed and framed message with the offsets (within
// frame) of every field the generator overwrites; -1 marks a field the
// variant does not carry.
type msgTemplate struct {
	frame []byte
	off   [numPatches]int
}

// layoutKey identifies the templates that fit a card.
type layoutKey struct{ panLen, cvvLen int }

// templateSet holds one template per variant for one PAN and CVV2 length.
type templateSet [numVariants]*msgTemplate

// Fixed values every generated message carries.
const (
	terminalID   = "LTTERM01" // DE 41, 8 characters
	posEntryMode = "010"      // DE 22: manually keyed, as an agent types a card into a checkout
	currencyUSD  = "840"
	procPurchase = "000000"
	procRefund   = "200000"
)

// Byte forms of the processing codes, so that patching them does not
// convert a string on every message.
var (
	procPurchaseBytes = []byte(procPurchase)
	procRefundBytes   = []byte(procRefund)
)

// buildTemplates packs every variant for a PAN and CVV2 length with
// placeholder values, through iso.PackRequest and iso.WriteFrame, and finds
// each patchable field by scanning the result.
func buildTemplates(k layoutKey, framing iso.Framing) (templateSet, error) {
	var set templateSet
	zeros90 := strings.Repeat("0", 42)
	for v := variant(0); v < numVariants; v++ {
		r := &iso.Request{
			MTI: "0100", PAN: strings.Repeat("0", k.panLen), ProcessingCode: procPurchase,
			AmountCents: 0, HasAmount: true, TransmissionDateTime: "0000000000", STAN: "000000",
			LocalTime: "000000", LocalDate: "0000", MCC: "0000", POSEntryMode: posEntryMode,
			RRN: "000000000000", TerminalID: terminalID, MerchantID: strings.Repeat("X", 15),
			MerchantName: strings.Repeat("X", 25), MerchantCity: strings.Repeat("X", 13), MerchantCountry: "XX",
			CurrencyCode: currencyUSD,
		}
		switch v {
		case vAuth:
			r.Expiry = "0000"
			r.CVV2, r.HasCVV2 = strings.Repeat("0", k.cvvLen), true
		case vCapture:
			r.MTI, r.AuthCode = "0220", "000000"
		case vPartial:
			r.MTI, r.AuthCode = "0400", "000000"
			r.HasReplacement = true
		case vPartialAuth:
			r.Expiry = "0000"
			r.CVV2, r.HasCVV2 = strings.Repeat("0", k.cvvLen), true
		case vIncrement:
			r.Expiry = "0000"
			r.CVV2, r.HasCVV2 = strings.Repeat("0", k.cvvLen), true
			r.OriginalData = zeros90
		case vReverse90:
			r.MTI, r.OriginalData = "0400", zeros90
		case vEcho:
			r = &iso.Request{MTI: "0800", TransmissionDateTime: "0000000000", STAN: "000000", NetworkCode: "301"}
		}
		msg, err := iso.PackRequest(r)
		if err != nil {
			return set, fmt.Errorf("loadtest: pack template: %w", err)
		}
		if v == vPartialAuth {
			if msg, err = appendDE48(msg, partialIndicator); err != nil {
				return set, err
			}
		}
		var buf bytes.Buffer
		if err := iso.WriteFrame(&buf, framing, msg); err != nil {
			return set, fmt.Errorf("loadtest: frame template: %w", err)
		}
		t := &msgTemplate{frame: buf.Bytes()}
		hdr := len(t.frame) - len(msg)
		for i := range t.off {
			t.off[i] = -1
		}
		t.off[pMTI] = hdr
		var pos [129]span
		var present [129]bool
		if err := scanFields(msg, 128, &pos, &present); err != nil {
			return set, fmt.Errorf("loadtest: scan template: %w", err)
		}
		for id, p := range patchField {
			if !present[id] {
				continue
			}
			off := hdr + pos[id].off
			if id == 48 {
				// "R" + tag "92" + 2-digit length, then the CVV2.
				off += 5
			}
			t.off[p] = off
		}
		set[v] = t
	}
	return set, nil
}

// appendDE48 adds a sub-element at the end of a packed message's DE 48
// (iso.PackRequest writes only the CVV2's), fixing its length prefix.
func appendDE48(msg []byte, sub string) ([]byte, error) {
	var pos [129]span
	var present [129]bool
	if err := scanFields(msg, 48, &pos, &present); err != nil || !present[48] {
		return nil, fmt.Errorf("loadtest: template without DE 48")
	}
	pw := fieldWidths()[48].prefix
	end := pos[48].off + pos[48].n
	out := make([]byte, 0, len(msg)+len(sub))
	out = append(out, msg[:end]...)
	out = append(out, sub...)
	out = append(out, msg[end:]...)
	putDigits(out[pos[48].off-pw:pos[48].off], uint64(pos[48].n+len(sub)))
	return out, nil
}

// cardWire is a card's fixed message content, prepared once per run.
type cardWire struct {
	layout     layoutKey
	pan        []byte
	cvv        []byte
	expiry     [4]byte // DE 14, YYMM
	badExpiry  [4]byte // a YYMM that is not the card's: one year later
	mcc        [4]byte
	merchantID [15]byte
	merchantNL [40]byte // DE 43: name 25, city 13, country 2
}

func newCardWire(c *Card) (cardWire, error) {
	var w cardWire
	if err := c.validate(); err != nil {
		return w, err
	}
	w.layout = layoutKey{len(c.PAN), len(c.CVV)}
	w.pan, w.cvv = []byte(c.PAN), []byte(c.CVV)
	yy := c.ExpYear[2:4]
	copy(w.expiry[:], yy+c.ExpMonth)
	y := int(yy[0]-'0')*10 + int(yy[1]-'0')
	putDigits(w.badExpiry[:2], uint64((y+1)%100))
	copy(w.badExpiry[2:], c.ExpMonth)
	copy(w.mcc[:], c.Merchant.MCC)
	copy(w.merchantID[:], fmt.Sprintf("%-15s", c.Merchant.ID))
	copy(w.merchantNL[:], fmt.Sprintf("%-25s%-13s%-2s", c.Merchant.Name, c.Merchant.City, c.Merchant.Country))
	return w, nil
}

// msgParams is everything that varies between messages. A message is a
// pure function of its params, so a repeat is rebuilt from the params of
// its original rather than kept as bytes.
type msgParams struct {
	mti          [4]byte
	card         int32
	refund       bool
	badExpiry    bool
	partial      bool // vPartial: DE 95 carries replacementCents
	partialOK    bool // vPartialAuth: DE 48 says a partial approval is taken
	orig90       bool // DE 90 names the original: origMTI, origSTAN, origSec
	amountCents  int64
	replaceCents int64
	stan         uint32
	rrn          [12]byte
	unixSec      int64 // DE 7, 12 and 13
	auth         [6]byte
	origMTI      [4]byte
	origSTAN     uint32
	origSec      int64 // the original's DE 7
}

func (p *msgParams) variant() variant {
	switch {
	case p.partial:
		return vPartial
	case p.mti == mti0800:
		return vEcho
	case p.orig90 && p.mti == mti0400:
		return vReverse90
	case p.orig90:
		return vIncrement
	case p.partialOK:
		return vPartialAuth
	case p.mti == mti0220 || p.mti == mti0400 || p.mti == mti0420:
		return vCapture
	}
	return vAuth
}

// timeFields caches DE 7, 12 and 13 for one second, so that formatting
// the date is done once a second rather than once a message.
type timeFields struct {
	sec  int64
	de7  [10]byte // MMDDhhmmss
	de12 [6]byte  // hhmmss
	de13 [4]byte  // MMDD
}

func (tf *timeFields) set(sec int64) {
	if tf.sec == sec && tf.de7[0] != 0 {
		return
	}
	putDE7(tf.de7[:], sec)
	copy(tf.de12[:], tf.de7[4:10])
	copy(tf.de13[:], tf.de7[0:4])
	tf.sec = sec
}

// putDE7 writes the UTC second sec as DE 7, MMDDhhmmss, into dst[:10].
func putDE7(dst []byte, sec int64) {
	t := time.Unix(sec, 0).UTC()
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	putDigits(dst[0:2], uint64(mo))
	putDigits(dst[2:4], uint64(d))
	putDigits(dst[4:6], uint64(h))
	putDigits(dst[6:8], uint64(mi))
	putDigits(dst[8:10], uint64(s))
}

// build appends the framed message for p to dst and returns the extended
// slice, so that every request due at once is built into one buffer and
// goes out in one write. It does not allocate when dst has room.
func build(dst []byte, set *templateSet, c *cardWire, p *msgParams, tf *timeFields) []byte {
	t := set[p.variant()]
	base := len(dst)
	dst = append(dst, t.frame...)
	msg := dst[base:]
	tf.set(p.unixSec)
	put := func(slot int, b []byte) {
		if o := t.off[slot]; o >= 0 {
			copy(msg[o:], b)
		}
	}
	put(pMTI, p.mti[:])
	put(pPAN, c.pan)
	if p.refund {
		put(pProc, procRefundBytes)
	} else {
		put(pProc, procPurchaseBytes)
	}
	if o := t.off[pAmount]; o >= 0 {
		putDigits(msg[o:o+12], uint64(p.amountCents))
	}
	put(pDE7, tf.de7[:])
	if o := t.off[pSTAN]; o >= 0 {
		putDigits(msg[o:o+6], uint64(p.stan))
	}
	put(pTime, tf.de12[:])
	put(pDate, tf.de13[:])
	if p.badExpiry {
		put(pExpiry, c.badExpiry[:])
	} else {
		put(pExpiry, c.expiry[:])
	}
	put(pMCC, c.mcc[:])
	put(pRRN, p.rrn[:])
	put(pAuth, p.auth[:])
	put(pMerchantID, c.merchantID[:])
	put(pMerchantNL, c.merchantNL[:])
	put(pCVV, c.cvv)
	if o := t.off[pReplacement]; o >= 0 {
		putDigits(msg[o:o+12], uint64(p.replaceCents))
	}
	if o := t.off[pOrig]; o >= 0 {
		// MTI, STAN and DE 7 of the original; the acquirer and
		// forwarding institution IDs stay zero.
		copy(msg[o:], p.origMTI[:])
		putDigits(msg[o+4:o+10], uint64(p.origSTAN))
		putDE7(msg[o+10:o+20], p.origSec)
	}
	return dst
}

// echoReply appends to dst the reply a zero-work host gives to req: the
// response MTI, DE 11 and DE 37 copied, DE 38 on an 0100/0101/0200
// (derived from the STAN, so that clearings and reversals of it can be
// built), and DE 39 "00". A request that cannot be walked gets "30" with
// whatever could be copied.
func echoReply(dst []byte, req []byte) []byte {
	if len(req) < 4 {
		return dst
	}
	var pos [129]span
	var present [129]bool
	code := "00"
	if scanFields(req, 37, &pos, &present) != nil {
		code = "30"
	}
	mti := [4]byte{req[0], req[1], req[2], req[3]}
	approval := string(mti[:]) == "0100" || string(mti[:]) == "0101" || string(mti[:]) == "0200"
	if mti[2] >= '0' && mti[2] < '9' {
		mti[2]++
	}
	if (mti[3]-'0')%2 == 1 {
		mti[3]--
	}
	var bitmap uint64
	if present[11] {
		bitmap |= 1 << (64 - 11)
	}
	if present[37] {
		bitmap |= 1 << (64 - 37)
	}
	if approval && present[11] && code == "00" {
		bitmap |= 1 << (64 - 38)
	}
	bitmap |= 1 << (64 - 39)
	dst = append(dst, mti[:]...)
	const hexDigits = "0123456789ABCDEF"
	for i := 60; i >= 0; i -= 4 {
		dst = append(dst, hexDigits[(bitmap>>uint(i))&0xF])
	}
	if present[11] {
		dst = append(dst, req[pos[11].off:pos[11].off+pos[11].n]...)
	}
	if present[37] {
		dst = append(dst, req[pos[37].off:pos[37].off+pos[37].n]...)
	}
	if bitmap&(1<<(64-38)) != 0 {
		// "A" + the last five STAN characters, padded to six.
		stan := req[pos[11].off : pos[11].off+pos[11].n]
		dst = append(dst, 'A')
		for i := 5; i > 0; i-- {
			if len(stan) >= i {
				dst = append(dst, stan[len(stan)-i])
			} else {
				dst = append(dst, '0')
			}
		}
	}
	return append(dst, code...)
}

// appendFrame appends the frame of a reply: its length header, the
// request's TPDU swapped (iso.Binary2TPDU), and msg, which is never empty
// nor too long for the framing (an echo reply is shorter than the request
// it answers).
func appendFrame(dst []byte, f iso.Framing, request iso.TPDU, msg []byte) []byte {
	out, err := iso.AppendFrame(dst, f, request.Reply(), msg)
	if err != nil {
		panic("loadtest: " + err.Error())
	}
	return out
}
