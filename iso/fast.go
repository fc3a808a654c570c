package iso

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
	"unsafe"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// The fast codec.
//
// moov-io/iso8583 decodes a request in about 3 µs and 77 allocations and
// packs a reply in about 5.5 µs and 137 allocations: every field becomes a
// heap object, every value is copied a few times, and a reply is packed
// field by field twice (setField checks each one). At the profile's target
// of 150,000 authorizations a second on two cores that alone would eat
// more than the whole CPU budget. The profile's messages are simple, though:
// a 4-digit MTI, 16-hex-character bitmap blocks, and fields that are either
// fixed-length ASCII or ASCII with a 2- or 3-digit length prefix. So the
// package compiles, once, a table from the very *iso8583.MessageSpec that
// Spec() returns (each field's type, Length, Pref, Enc and Pad) and walks
// frames with it directly, and writes replies straight into a byte slice.
//
// The compiled codec must behave exactly like the moov-io one, including on
// malformed input: the same fields present, the same text for every field,
// the same first FieldError, the same reply bytes. Three things keep it so:
//
//   - the table is derived from the spec, not written by hand, so a change
//     to the spec changes both codecs;
//   - the checks on field values (digits, DE 43 layout, DE 48 sub-elements,
//     DE 95, ...) are one function, decoded.visitText, called by both;
//   - the oracle tests (fast_test.go) and the fuzz targets
//     FuzzFastDecodeMatchesMoov and FuzzFastReplyMatchesMoov compare the two
//     on every MTI and field combination of the profile and on arbitrary
//     bytes.
//
// Anything the table does not cover falls back to moov-io: a field of a
// type or encoding not compiled makes decode hand the whole message to
// decodeRequest, and a reply the encoder is not certain to write exactly as
// moov-io would (a value that is not already in its packed form, for
// example a DE 3 that is not six digits) is built by buildReply.

// fieldKind is how the compiled codec reads and writes one data element.
type fieldKind uint8

const (
	// kindUndefined: the spec does not define the field; a message that
	// carries it cannot be read past it.
	kindUndefined fieldKind = iota
	// kindText: field.String, ASCII, fixed length. Its text is its bytes.
	kindText
	// kindNumber: field.Numeric, ASCII, fixed length, optionally left
	// padded. moov-io also parses it as an int64 when unpacking, so a
	// value that does not parse makes the message unreadable from there.
	kindNumber
	// kindVar: field.String, ASCII, with an ASCII decimal length prefix
	// (LL, LLL, ...) and no padding. Its text is the value after the prefix.
	kindVar
	// kindHex: field.String of binary data sent as hex in ASCII (DE 52,
	// DE 64), fixed length. Only skipped over: no interpreted field is hex.
	kindHex
	// kindOther: defined, but not compiled; moov-io decodes any message
	// that carries it.
	kindOther
)

// fastField is one compiled data element.
type fastField struct {
	kind fieldKind
	// digits is the number of ASCII digits of a kindVar length prefix.
	digits uint8
	// pad is a kindNumber field's left padding character, which moov-io
	// strips before parsing the number; 0 for none.
	pad byte
	// encodes reports that the reply encoder can write this field: a value
	// already of the packed width (what every echoed field is) packs to
	// itself. See compileField.
	encodes bool
	// length is the fixed length, or a kindVar field's maximum length, in
	// characters (in bytes of binary data for kindHex, so twice that many
	// hex characters on the wire).
	length int
}

// fastCodec is the compiled form of a message spec.
type fastCodec struct {
	spec   *iso8583.MessageSpec
	fields []fastField // indexed by field number; 0 and 1 are unused
	// decodes is false when the spec's bitmap is not the 8-byte,
	// hex-in-ASCII, auto-expanding kind the compiled walk assumes; every
	// message then goes to moov-io.
	decodes bool
	// encodes is false when the MTI or bitmap cannot be written directly;
	// every reply then goes to moov-io.
	encodes bool
}

// defaultFastCodec is the codec compiled from Spec(), built once.
var defaultFastCodec = sync.OnceValue(func() *fastCodec { return compileFast(Spec()) })

// compileFast builds the table for spec. It never fails: what it cannot
// compile is marked kindOther (or disables a direction altogether) and is
// left to moov-io.
func compileFast(spec *iso8583.MessageSpec) *fastCodec {
	c := &fastCodec{spec: spec}
	maxID := 1
	for id := range spec.Fields {
		maxID = max(maxID, id)
	}
	c.fields = make([]fastField, maxID+1)
	for id, f := range spec.Fields {
		if id >= 2 {
			c.fields[id] = compileField(id, f)
		}
	}
	c.decodes = compilesBitmap(spec.Fields[1])
	c.encodes = c.decodes && compilesMTI(spec.Fields[0])
	return c
}

// asciiVarDigits maps moov-io's ASCII length prefixers to their digit
// counts. Prefixers are compared by identity, not by their Inspect names,
// so a custom prefixer that calls itself "ASCII.LL" is not mistaken for one.
var asciiVarDigits = map[prefix.Prefixer]uint8{
	prefix.ASCII.L:      1,
	prefix.ASCII.LL:     2,
	prefix.ASCII.LLL:    3,
	prefix.ASCII.LLLL:   4,
	prefix.ASCII.LLLLL:  5,
	prefix.ASCII.LLLLLL: 6,
}

// compileField compiles one data element, or returns kindOther.
func compileField(id int, f field.Field) fastField {
	other := fastField{kind: kindOther}
	sp := f.Spec()
	// A custom packer or unpacker could do anything; a zero length makes
	// moov-io's walk fail in ways not worth copying.
	if sp == nil || sp.Packer != nil || sp.Unpacker != nil || sp.Length <= 0 {
		return other
	}
	var ff fastField
	switch f.(type) {
	case *field.String:
		switch {
		case sp.Enc == encoding.ASCII && sp.Pref == prefix.ASCII.Fixed:
			// The text of a fixed field is its raw bytes (fieldText), so
			// padding does not matter when decoding; when encoding, a
			// full-width value must pack to itself.
			ff = fastField{kind: kindText, length: sp.Length, encodes: padKeepsFull(sp.Pad, sp.Length)}
		case sp.Enc == encoding.ASCII && sp.Pad == nil && asciiVarDigits[sp.Pref] != 0:
			ff = fastField{kind: kindVar, digits: asciiVarDigits[sp.Pref], length: sp.Length, encodes: true}
		case sp.Enc == encoding.BytesToASCIIHex && sp.Pref == prefix.Hex.Fixed && sp.Pad == nil:
			ff = fastField{kind: kindHex, length: sp.Length}
		default:
			return other
		}
	case *field.Numeric:
		if sp.Enc != encoding.ASCII || sp.Pref != prefix.ASCII.Fixed {
			return other
		}
		pad, ok := leftPadChar(sp.Pad)
		if !ok {
			return other
		}
		// moov-io packs a Numeric as FormatInt(ParseInt(value)) left
		// padded to the length. For a value of exactly length digits that
		// is the value itself only when the padding is '0' (and the
		// number fits an int64).
		ff = fastField{kind: kindNumber, length: sp.Length, pad: pad, encodes: pad == '0' && sp.Length <= 18}
	default:
		return other
	}
	if interpreted.has(id) && ff.kind == kindHex {
		// The text moov-io gives a hex field is the decoded binary; the
		// compiled walk only skips such fields.
		return other
	}
	return ff
}

// leftPadChar returns the padding character of a left padder that strips
// a single ASCII byte, or 0 for no padding. It probes the padder's behaviour
// rather than its (unexported) type.
func leftPadChar(p padding.Padder) (byte, bool) {
	if p == nil {
		return 0, true
	}
	in := p.Inspect()
	if len(in) != 1 || in[0] == 0 || in[0] >= 0x80 {
		return 0, false
	}
	c := in[0]
	other := byte('1')
	if c == other {
		other = '2'
	}
	unpadded := p.Unpad([]byte{c, c, other, c})
	padded := p.Pad([]byte{other}, 3)
	if !bytes.Equal(unpadded, []byte{other, c}) || !bytes.Equal(padded, []byte{c, c, other}) {
		return 0, false
	}
	return c, true
}

// padKeepsFull reports whether p leaves a value of the full length alone,
// as moov-io's left and right padders do.
func padKeepsFull(p padding.Padder, length int) bool {
	if p == nil {
		return true
	}
	v := bytes.Repeat([]byte{'7'}, length)
	return bytes.Equal(p.Pad(bytes.Clone(v), length), v)
}

// compilesBitmap reports whether the spec's bitmap is the one the compiled
// walk reads: 8-byte blocks sent as 16 hex characters, a set first bit
// announcing the next block.
func compilesBitmap(f field.Field) bool {
	bm, ok := f.(*field.Bitmap)
	if !ok {
		return false
	}
	sp := bm.Spec()
	return sp != nil && sp.Length == bitmapBytes && !sp.DisableAutoExpand &&
		sp.Enc == encoding.BytesToASCIIHex && sp.Pref == prefix.Hex.Fixed
}

// compilesMTI reports whether the MTI field is 4 ASCII characters, fixed.
func compilesMTI(f field.Field) bool {
	s, ok := f.(*field.String)
	if !ok {
		return false
	}
	sp := s.Spec()
	return sp != nil && sp.Length == 4 && sp.Enc == encoding.ASCII && sp.Pref == prefix.ASCII.Fixed &&
		sp.Packer == nil && padKeepsFull(sp.Pad, 4)
}

// hexVal maps a byte to its hex value, or 0xFF. encoding/hex accepts both
// cases, and so does moov-io's bitmap.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
		t[c-'a'+'A'] = c - 'a' + 10
	}
	return t
}()

// hexWord reads one 16-character bitmap block at b[off:].
func hexWord(b []byte, off int) (uint64, bool) {
	if off < 0 || len(b)-off < 16 {
		return 0, false
	}
	var w uint64
	var bad byte
	for _, c := range b[off : off+16] {
		v := hexVal[c]
		bad |= v
		w = w<<4 | uint64(v&0x0F)
	}
	return w, bad&0xF0 == 0
}

func isHex(b []byte) bool {
	for _, c := range b {
		if hexVal[c] == 0xFF {
			return false
		}
	}
	return true
}

// isASCII reports whether every byte of b is 7-bit, eight bytes at a time.
func isASCII(b []byte) bool {
	var hi uint64
	for len(b) >= 8 {
		hi |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		hi |= uint64(c)
	}
	return hi&0x8080808080808080 == 0
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// bytesText returns b as a string without copying. The string aliases the
// frame, so it is only valid as long as the frame is; see Request.detach.
func bytesText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// numberUnpacks reports whether moov-io's Numeric would unpack b: strip the
// left padding, then strconv.ParseInt (which allows a sign). Using strconv
// itself keeps the rules (signs, overflow) identical; it does not allocate
// unless the value is malformed.
func numberUnpacks(b []byte, pad byte) bool {
	if pad != 0 {
		for len(b) > 0 && b[0] == pad {
			b = b[1:]
		}
	}
	if len(b) == 0 {
		return true // moov-io reads an all-padding value as 0
	}
	_, err := strconv.ParseInt(bytesText(b), 10, 64)
	return err == nil
}

// prefixLength reads an ASCII length prefix as moov-io's prefixer does,
// with strconv.Atoi, so that "+9" and "-0" are read the same way; plain
// digits, the usual case, are read directly.
func prefixLength(b []byte) (int, error) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return strconv.Atoi(bytesText(b))
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// decode decodes frame into d with exactly the result decodeRequest(c.spec,
// frame, d) gives. The strings in d alias frame.
func (c *fastCodec) decode(frame []byte, d *decoded) {
	if !c.decodeFast(frame, d) {
		decodeRequest(c.spec, frame, d)
	}
}

// decodeFast is the compiled walk. It returns false, leaving d to be
// overwritten, when the message carries a field the table does not cover.
// It mirrors walkFields step by step: the bitmap blocks, then every set bit
// in order (a block's first bit only announces the next block), stopping at
// the first field that cannot be unpacked, then the check for left-over
// bytes; d.fail keeps the first problem, as walkFields does.
func (c *fastCodec) decodeFast(frame []byte, d *decoded) bool {
	if !c.decodes {
		return false
	}
	d.reset(frame)
	if !validMTI(frame) {
		d.fail(0, reasonMTI)
		return true
	}
	d.req.MTI = mtiString(frame[:4])
	d.present.add(0)

	// The first two blocks (fields up to 128, all the spec defines) are
	// kept; any further block is read again when the walk gets to it,
	// so a message with many blocks costs no allocation.
	var words [2]uint64
	off, blocks := 4, 0
	for {
		w, ok := hexWord(frame, off)
		if !ok {
			d.fail(1, reasonBitmap)
			return true
		}
		if blocks < len(words) {
			words[blocks] = w
		}
		blocks++
		off += 16
		if w>>63 == 0 {
			break
		}
	}

	for b := 0; b < blocks; b++ {
		var w uint64
		if b < len(words) {
			w = words[b]
		} else {
			w, _ = hexWord(frame, 4+16*b)
		}
		w &^= 1 << 63 // the presence bit of the next block, not a field
		for w != 0 {
			lz := bits.LeadingZeros64(w)
			w &^= 1 << (63 - lz)
			id := 64*b + lz + 1
			if id >= len(c.fields) {
				d.fail(id, reasonUndefined)
				return true
			}
			ff := &c.fields[id]
			var start, n, taken int // value offset, value length, bytes taken
			switch ff.kind {
			case kindUndefined:
				d.fail(id, reasonUndefined)
				return true
			case kindText, kindNumber:
				start, n = off, ff.length
				if len(frame)-off < n || !isASCII(frame[off:off+n]) ||
					(ff.kind == kindNumber && !numberUnpacks(frame[off:off+n], ff.pad)) {
					d.fail(id, reasonUnpack)
					return true
				}
				taken = n
			case kindVar:
				dg := int(ff.digits)
				if len(frame)-off < dg {
					d.fail(id, reasonUnpack)
					return true
				}
				l, err := prefixLength(frame[off : off+dg])
				start, n = off+dg, l
				if err != nil || l < 0 || l > ff.length || len(frame)-start < n || !isASCII(frame[start:start+n]) {
					d.fail(id, reasonUnpack)
					return true
				}
				taken = dg + n
			case kindHex:
				start, n = off, 2*ff.length
				if len(frame)-off < n || !isHex(frame[off:off+n]) {
					d.fail(id, reasonUnpack)
					return true
				}
				taken = n
			default: // kindOther
				return false
			}
			if interpreted.has(id) {
				if reason := d.visitText(id, bytesText(frame[start:start+n])); reason != "" {
					d.fail(id, reason)
				}
			} else {
				d.present.add(id)
			}
			off += taken
		}
	}
	if off != len(frame) {
		d.fail(-1, reasonTrailing)
	}
	return true
}

// appendReply appends the packed reply to d to dst, byte for byte what
// buildReply would return. It returns dst unchanged and false when it
// cannot be sure of that: a value that is not in its packed form already,
// a code or approval code that does not fit, a field not compiled. The
// caller then uses buildReply, which also knows the fallbacks to shorter
// replies.
func (c *fastCodec) appendReply(dst []byte, d *decoded, p replyParts) ([]byte, bool) {
	if !c.encodes || len(p.mti) != 4 || !isASCIIString(p.mti) {
		return dst, false
	}
	e := replyWriter{c: c, b: dst, ok: true}
	e.b = append(e.b, p.mti...)
	// Only DE 70 (in an 0810) lives beyond the primary bitmap, so
	// whether a secondary bitmap is needed is known before writing.
	secondary := p.network && d.req.NetworkCode != ""
	bmOff := len(e.b)
	e.b = append(e.b, "0000000000000000"...)
	if secondary {
		e.b = append(e.b, "0000000000000000"...)
	}
	// The fields in ascending order, as packReply sets them (moov-io
	// packs in field order whatever the order they were set in).
	if p.network {
		e.echo(d, 7)
		e.echo(d, 11)
		e.put(39, p.code)
		if d.req.NetworkCode != "" {
			e.put(70, d.req.NetworkCode)
		}
	} else {
		for _, id := range [...]int{2, 3, 4, 7, 11, 37} {
			if id == 4 && p.resp.Partial && d.present.has(4) {
				var amt [12]byte
				e.put(4, string(appendDecimal12(amt[:0], min(max(p.resp.ApprovedCents, 0), de54AmountMaxCents))))
				continue
			}
			e.echo(d, id)
		}
		if p.resp.AuthCode != "" {
			e.put(38, p.resp.AuthCode)
		}
		e.put(39, p.code)
		for _, id := range [...]int{41, 42, 49} {
			e.echo(d, id)
		}
		if p.resp.HasBalance || p.resp.Partial {
			e.putDE54(&p.resp)
		}
	}
	if !e.ok || (e.bm[1] != 0) != secondary {
		return dst, false
	}
	if secondary {
		e.bm[0] |= 1 << 63
		putHex16(e.b[bmOff+16:], e.bm[1])
	}
	putHex16(e.b[bmOff:], e.bm[0])
	return e.b, true
}

// replyWriter appends fields to a reply and records them in its bitmap. The
// first field it cannot write exactly as moov-io would clears ok.
type replyWriter struct {
	c  *fastCodec
	b  []byte
	bm [2]uint64
	ok bool
}

// echo writes echo field id from the request, if the request had it.
func (e *replyWriter) echo(d *decoded, id int) {
	if d.present.has(id) {
		e.put(id, d.echo[echoIndex(id)])
	}
}

// field returns the compiled field id if the encoder can write it and
// marks it in the bitmap.
func (e *replyWriter) field(id int) *fastField {
	if !e.ok || id < 2 || id > 128 || id >= len(e.c.fields) || !e.c.fields[id].encodes {
		e.ok = false
		return nil
	}
	if id <= 64 {
		e.bm[0] |= 1 << (64 - id)
	} else {
		e.bm[1] |= 1 << (128 - id)
	}
	return &e.c.fields[id]
}

func (e *replyWriter) put(id int, v string) {
	ff := e.field(id)
	if ff == nil {
		return
	}
	switch ff.kind {
	case kindText:
		e.ok = len(v) == ff.length && isASCIIString(v)
	case kindNumber:
		e.ok = len(v) == ff.length && isDigitString(v)
	case kindVar:
		e.ok = len(v) <= ff.length && isASCIIString(v) && fitsDigits(len(v), ff.digits)
		if e.ok {
			e.b = appendDecimal(e.b, len(v), int(ff.digits))
		}
	default:
		e.ok = false
	}
	if e.ok {
		e.b = append(e.b, v...)
	}
}

// putDE54 writes DE 54 as replyDE54 renders it: the available balance,
// then a partial approval's requested amount.
func (e *replyWriter) putDE54(r *Response) {
	ff := e.field(54)
	if ff == nil {
		return
	}
	n := 0
	if r.HasBalance {
		n += de54BlockBytes
	}
	if r.Partial {
		n += de54BlockBytes
	}
	if ff.kind != kindVar || ff.length < n || !fitsDigits(n, ff.digits) {
		e.ok = false
		return
	}
	e.b = appendDecimal(e.b, n, int(ff.digits))
	if r.HasBalance {
		e.b = appendDE54(e.b, r.AvailableCents)
	}
	if r.Partial {
		e.b = appendDE54Type(e.b, de54RequestedType, r.RequestedCents)
	}
}

// appendDecimal12 appends n as 12 decimal digits.
func appendDecimal12(b []byte, n int64) []byte {
	var digits [12]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, digits[:]...)
}

// fitsDigits reports whether n can be written in the given number of
// decimal digits.
func fitsDigits(n int, digits uint8) bool {
	limit := 1
	for range digits {
		limit *= 10
	}
	return n >= 0 && n < limit
}

// appendDecimal appends n as exactly width decimal digits, zero-padded.
func appendDecimal(b []byte, n, width int) []byte {
	var tmp [8]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[:width]...)
}

// putHex16 writes w as 16 upper-case hex characters, as moov-io's bitmap
// encoder does.
func putHex16(dst []byte, w uint64) {
	const digits = "0123456789ABCDEF"
	for i := 15; i >= 0; i-- {
		dst[i] = digits[w&0xF]
		w >>= 4
	}
}
