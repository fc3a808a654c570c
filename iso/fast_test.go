package iso

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file hold the compiled codec (fast.go) to moov-io's:
// for every message, the decoded form must be identical (Request, fields
// present, echo texts, first FieldError) and every reply byte for byte the
// same. moov-io is the oracle; nothing here says what the right answer is
// on its own.

// wf is one field as it appears on the wire, length prefix included, so
// the tests can send values no packer would produce.
type wf struct {
	id  int
	raw string
}

func ll(v string) string  { return fmt.Sprintf("%02d%s", len(v), v) }
func lll(v string) string { return fmt.Sprintf("%03d%s", len(v), v) }

// wire assembles a message by hand: MTI, upper-case bitmap(s) for the
// fields given, and the fields in ascending order.
func wire(mti string, fields ...wf) []byte {
	fields = slices.Clone(fields)
	slices.SortFunc(fields, func(a, b wf) int { return a.id - b.id })
	var bm [2]uint64
	for _, f := range fields {
		if f.id <= 64 {
			bm[0] |= 1 << (64 - f.id)
		} else {
			bm[0] |= 1 << 63
			bm[1] |= 1 << (128 - f.id)
		}
	}
	b := []byte(mti)
	b = fmt.Appendf(b, "%016X", bm[0])
	if bm[1] != 0 {
		b = fmt.Appendf(b, "%016X", bm[1])
	}
	for _, f := range fields {
		b = append(b, f.raw...)
	}
	return b
}

// goodWire holds a well-formed wire value for every field the profile uses.
var goodWire = map[int]string{
	2:  ll("4111111111111111"),
	3:  "000000",
	4:  "000000001250",
	7:  "1121095500",
	11: "000042",
	12: "095500",
	13: "1121",
	14: "2812",
	18: "5411",
	22: "051",
	32: ll("123456"),
	37: "532509000042",
	38: "A00042",
	41: "TERM0001",
	42: "MERCH01        ",
	43: fmt.Sprintf("%-25s%-13s%-2s", "ACME GROCERY", "SPRINGFIELD", "US"),
	48: lll("R9203123"),
	49: "840",
	70: "301",
	90: "0100" + "000042" + "1121095500" + "00000123456" + "00000000000",
	95: "000000000600" + strings.Repeat("0", 30),
}

// badWire holds values that break the profile, each either in a way that
// still parses (answered "30" with the rest echoed) or in a way that stops
// the walk; which is which is for moov-io to say, not this table.
var badWire = map[int][]string{
	2: {ll("41111111X1111111"), ll(""), "2A4111", "+5" + "41111", "-0", "-1", "20" + strings.Repeat("4", 20),
		ll("4111\x801111"), ll(strings.Repeat("9", 19)), "1"},
	3:  {"12A456", "-12345", "+12345", "00-123", "00000", "0000+0", "\x80\x80\x80\x80\x80\x80"},
	4:  {"00000000100A", "-00000001000", "+00000001000", "            ", "99999999999999999"},
	7:  {"112109550X", "11210955"},
	11: {"00004X", " 00042", "\xff00042"},
	12: {"0955X0"},
	13: {"11 1"},
	14: {"28A2", "281"},
	18: {"54 1"},
	22: {"05A"},
	32: {ll(""), ll("12A"), ll("123456789012"), "1"},
	37: {"53250900004\x7f", "53250900004\x80", "ABCDEFGHIJKL"},
	38: {"A\x00\x00\x00\x00\x00", "A0004"},
	41: {"TERM 001", "TERM\xc3\xa901"},
	42: {"               ", "M"},
	43: {strings.Repeat(" ", 40), strings.Repeat("x", 39) + "\x80"},
	48: {lll(""), lll("R9205123"), lll("RX203123"), lll("R1002AB92047890"), lll("R"), lll("R9200"),
		lll("R92039999203123"), "999R92", "+08R9203123", "-00", lll("R92031"), lll("R92\x8003123")},
	49: {"USD", "84"},
	70: {"30A", "001", "002", "999", "3"},
	90: {strings.Repeat(" ", 42), strings.Repeat("9", 41)},
	95: {"00000000010X" + strings.Repeat(" ", 30), "000000000600" + strings.Repeat(" ", 30), strings.Repeat("0", 41)},
}

// notProfile holds fields Spec87ASCII defines but the profile ignores, and
// fields no spec defines, with wire values.
var notProfile = []wf{
	{5, "000000000100"},
	{5, "00000000010X"},
	{35, ll("4111111111111111=28121011000012300000")},
	{45, ll("B4111111111111111^DOE/JOHN^2812101")},
	{52, "0123456789ABCDEF"},
	{52, "0123456789abcdeF"},
	{52, "0123456789ABCDEG"},
	{53, "0000000000000000"},
	{55, lll("9F2608")},
	{63, lll(strings.Repeat("z", 999))},
	{64, "FFFFFFFFFFFFFFFF"},
	{65, "X"},
	{100, ll("123")},
	{128, "0000000000000000"},
}

// Required fields by MTI, from the profile.
var (
	authMTIs   = []string{"0100", "0101", "0120", "0200"}
	followMTIs = []string{"0220", "0400", "0401", "0420", "0421"}
	otherMTIs  = []string{"0300", "0201", "0600", "0820", "0000", "9999"}
	authOpt    = []int{12, 13, 22, 32, 48}
	followOpt  = []int{2, 90, 7, 38, 41, 42, 95}
	followRest = []int{12, 13, 14, 18, 22, 32, 43, 48}
)

func fieldsOf(ids ...int) []wf {
	out := make([]wf, 0, len(ids))
	for _, id := range ids {
		out = append(out, wf{id, goodWire[id]})
	}
	return out
}

// subsets calls fn with every subset of ids.
func subsets(ids []int, fn func([]int)) {
	for mask := 0; mask < 1<<len(ids); mask++ {
		var s []int
		for i, id := range ids {
			if mask&(1<<i) != 0 {
				s = append(s, id)
			}
		}
		fn(s)
	}
}

// profileMessages returns every MTI and field combination the profile
// allows, each also with every required field dropped in turn, plus
// malformed values of every field, fields outside the profile, and
// truncated and padded frames.
func profileMessages() [][]byte {
	var out [][]byte
	add := func(mti string, ids []int, extra ...wf) {
		out = append(out, wire(mti, append(fieldsOf(ids...), extra...)...))
	}
	for _, mti := range authMTIs {
		subsets(authOpt, func(opt []int) {
			add(mti, append(slices.Clone(requiredAuth[:]), opt...))
		})
		for i := range requiredAuth {
			add(mti, append(slices.Delete(slices.Clone(requiredAuth[:]), i, i+1), authOpt...))
		}
	}
	for _, mti := range followMTIs {
		subsets(followOpt, func(opt []int) {
			add(mti, append(slices.Clone(requiredFollow[:]), opt...))
			add(mti, append(append(slices.Clone(requiredFollow[:]), opt...), followRest...))
		})
		for i := range requiredFollow {
			add(mti, append(slices.Delete(slices.Clone(requiredFollow[:]), i, i+1), 2, 90, 95))
		}
	}
	for _, code := range []string{"001", "002", "301", "999", "30A"} {
		subsets([]int{7, 11, 70}, func(ids []int) {
			var fs []wf
			for _, id := range ids {
				v := goodWire[id]
				if id == 70 {
					v = code
				}
				fs = append(fs, wf{id, v})
			}
			out = append(out, wire("0800", fs...))
		})
	}
	all := slices.Sorted(maps.Keys(goodWire))
	for _, mti := range otherMTIs {
		add(mti, requiredAuth[:])
		add(mti, nil)
	}
	// Every malformed value, in a message with every field, for one MTI
	// of each kind.
	for _, mti := range []string{"0100", "0400", "0800", "0300"} {
		for _, id := range slices.Sorted(maps.Keys(badWire)) {
			for _, v := range badWire[id] {
				fs := fieldsOf(all...)
				for i := range fs {
					if fs[i].id == id {
						fs[i].raw = v
					}
				}
				out = append(out, wire(mti, fs...))
			}
		}
		for _, f := range notProfile {
			out = append(out, wire(mti, append(fieldsOf(requiredAuth[:]...), f)...))
		}
	}
	// Every prefix of a few complete messages, and trailing bytes.
	for _, full := range [][]byte{
		wire("0100", fieldsOf(all...)...),
		wire("0800", fieldsOf(7, 11, 70)...),
		wire("0400", fieldsOf(2, 3, 4, 7, 11, 37, 38, 41, 42, 49, 90, 95)...),
	} {
		for n := 0; n <= len(full); n++ {
			out = append(out, full[:n:n])
		}
		out = append(out, append(slices.Clone(full), "XYZ"...))
	}
	// Bitmaps: lower case, bad hex, a third block, fields beyond 128.
	out = append(out,
		[]byte("0100"+"7220000000000000"+goodWire[2][:10]),
		[]byte("0100"+"722000000ec08000"),
		[]byte("0100ZZZZZZZZZZZZZZZZ"),
		[]byte("0100"+"8000000000000000"+"8000000000000000"+"4000000000000000"),
		[]byte("0100"+"8000000000000000"+"8000000000000000"+"8000000000000000"+"0000000000000000"),
		[]byte("0100"+"A000000000000000"+"8000000000000000"+"0000000000000000"+goodWire[2]),
		[]byte("0100"+"A000000000000000"+"800000000000000"),
	)
	return out
}

// codecHandler decides deterministically from the request, so that two
// servers given the same frame must send the same bytes.
type codecHandler struct{}

func (codecHandler) HandleISO(_ context.Context, r *Request) Response {
	switch {
	case r.MTI == "0120":
		return Response{Code: "05"}
	case strings.HasPrefix(r.ProcessingCode, "31"):
		return Response{Code: "00", HasBalance: true, AvailableCents: 1000 - r.AmountCents}
	case r.AmountCents > 100_000:
		return Response{Code: "51", HasBalance: true, AvailableCents: -r.AmountCents}
	default:
		return Response{Code: "00", AuthCode: "AP" + r.STAN[2:]}
	}
}

func newCodecServer(t testing.TB, codec string) *Server {
	t.Helper()
	srv, err := NewServer(Config{Codec: codec, Logger: slog.New(slog.DiscardHandler)}, PerRequest(codecHandler{}))
	require.NoError(t, err)
	return srv
}

// replyPartsFor returns the replies a decoded request may get: the one
// each decision of the server gives plus a spread of handler responses.
func replyPartsFor(d *decoded) []replyParts {
	reply, _, ok := replyMTI(d.req.MTI)
	if !ok {
		reply = "0110"
	}
	return []replyParts{
		{mti: reply, code: "00", resp: Response{Code: "00", AuthCode: "A00042"}},
		{mti: reply, code: "00", resp: Response{Code: "00", HasBalance: true, AvailableCents: 123456}},
		{mti: reply, code: "51", resp: Response{Code: "51", HasBalance: true, AvailableCents: math.MinInt64}},
		{mti: reply, code: "10", resp: Response{Code: "10", AuthCode: "A00042", Partial: true, ApprovedCents: 4_000, RequestedCents: 10_000}},
		{mti: reply, code: "10", resp: Response{Code: "10", Partial: true, ApprovedCents: 1, RequestedCents: 999_999_999_999, HasBalance: true, AvailableCents: -5}},
		{mti: reply, code: "30"},
		{mti: reply, code: "12"},
		{mti: reply, code: "30", network: true},
		{mti: reply, code: "00", network: true},
	}
}

// fastFallbackExplained reports whether appendReply may decline p: only
// when a value is not already in its packed form (a DE 3 that is not six
// digits, which moov-io would re-format) or the code, approval code or MTI
// do not fit their fields.
func fastFallbackExplained(d *decoded, p replyParts) bool {
	fits := func(s string, n int) bool { return len(s) == n && isASCIIString(s) }
	return (!p.network && d.present.has(3) && !(len(d.echo[1]) == 6 && isDigitString(d.echo[1]))) ||
		!fits(p.code, 2) || !fits(p.mti, 4) || (!p.network && p.resp.AuthCode != "" && !fits(p.resp.AuthCode, 6))
}

// encodeWith is what the server's encodeReply does with the fast codec:
// the compiled encoder, or buildReply when it declines.
func encodeWith(c *fastCodec, buf []byte, d *decoded, p replyParts) ([]byte, error) {
	if b, ok := c.appendReply(buf[:0], d, p); ok {
		return b, nil
	}
	return buildReply(c.spec, d, p)
}

// compareCodecs checks one frame: decoding, replies built from the decoded
// form, and the full server decision with both codecs.
func compareCodecs(t testing.TB, frame []byte, fastSrv, moovSrv *Server) {
	t.Helper()
	c := defaultFastCodec()
	var fast, slow decoded
	if !c.decodeFast(frame, &fast) {
		t.Fatalf("the compiled decoder fell back to moov-io on %q", frame)
	}
	decodeRequest(Spec(), frame, &slow)
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decoded differently: %q\nfast: %+v err=%v\nmoov: %+v err=%v", frame, fast, fast.err, slow, slow.err)
	}
	if !validMTI(frame) {
		return
	}
	for _, p := range replyPartsFor(&slow) {
		want, wantErr := buildReply(Spec(), &slow, p)
		got, ok := c.appendReply(nil, &fast, p)
		if ok {
			if wantErr != nil || !bytes.Equal(got, want) {
				t.Fatalf("reply %+v to %q:\nfast %q\nmoov %q (%v)", p, frame, got, want, wantErr)
			}
		} else if !fastFallbackExplained(&fast, p) {
			t.Fatalf("the compiled encoder declined reply %+v to %q", p, frame)
		}
		got, err := encodeWith(c, nil, &fast, p)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeReply %+v to %q:\nfast %q (%v)\nmoov %q (%v)", p, frame, got, err, want, wantErr)
		}
	}
	if _, _, ok := replyMTI(mtiString(frame[:4])); !ok || fastSrv == nil {
		return // the server closes the connection instead
	}
	var msgs [2][]byte
	var codes [2]string
	for i, srv := range []*Server{fastSrv, moovSrv} {
		j := &job{frame: frame}
		_, p := srv.decide(context.Background(), j)
		msg, err := srv.encodeReply(j, p)
		if err != nil {
			t.Fatalf("%s: no reply to %q: %v", srv.cfg.Codec, frame, err)
		}
		msgs[i], codes[i] = bytes.Clone(msg), p.code
	}
	if !bytes.Equal(msgs[0], msgs[1]) || codes[0] != codes[1] {
		t.Fatalf("servers answered %q differently:\nfast %s %q\nmoov %s %q", frame, codes[0], msgs[0], codes[1], msgs[1])
	}
}

func TestFastCodecMatchesMoovOnTheProfile(t *testing.T) {
	fastSrv, moovSrv := newCodecServer(t, CodecFast), newCodecServer(t, CodecMoov)
	msgs := profileMessages()
	require.Greater(t, len(msgs), 2000)
	// The table must reach every outcome, or it is not testing much.
	outcomes := map[string]int{}
	for _, m := range msgs {
		compareCodecs(t, m, fastSrv, moovSrv)
		d := decode(m)
		switch {
		case d.err == nil:
			outcomes["well-formed"]++
		case d.err.Reason == reasonUnpack:
			outcomes["unreadable field"]++
		default:
			outcomes["field error"]++
		}
	}
	t.Logf("%d messages: %v", len(msgs), outcomes)
	for _, k := range []string{"well-formed", "unreadable field", "field error"} {
		assert.Positive(t, outcomes[k], k)
	}
}

func TestFastCodecMatchesMoovOnSeeds(t *testing.T) {
	fastSrv, moovSrv := newCodecServer(t, CodecFast), newCodecServer(t, CodecMoov)
	for _, m := range seedMessages(t) {
		compareCodecs(t, m, fastSrv, moovSrv)
	}
}

func TestFastTableIsCompiledFromTheSpec(t *testing.T) {
	c := defaultFastCodec()
	require.True(t, c.decodes)
	require.True(t, c.encodes)
	spec := Spec()
	for id := 2; id < len(c.fields); id++ {
		f, defined := spec.Fields[id]
		ff := c.fields[id]
		if !defined {
			assert.Equal(t, kindUndefined, ff.kind, "DE %d", id)
			continue
		}
		// Every field of this spec is compiled; none is left to moov-io.
		require.NotEqual(t, kindOther, ff.kind, "DE %d", id)
		require.NotEqual(t, kindUndefined, ff.kind, "DE %d", id)
		assert.Equal(t, f.Spec().Length, ff.length, "DE %d", id)
	}
	assert.Equal(t, fastField{kind: kindVar, digits: 2, length: 19, encodes: true}, c.fields[2])
	assert.Equal(t, fastField{kind: kindNumber, pad: '0', length: 6, encodes: true}, c.fields[3])
	assert.Equal(t, fastField{kind: kindText, length: 12, encodes: true}, c.fields[4])
	assert.Equal(t, fastField{kind: kindVar, digits: 3, length: 999, encodes: true}, c.fields[48])
	assert.Equal(t, fastField{kind: kindHex, length: 8}, c.fields[52])
	assert.Equal(t, fastField{kind: kindVar, digits: 3, length: 120, encodes: true}, c.fields[54])
	assert.Equal(t, fastField{kind: kindText, length: 3, encodes: true}, c.fields[70])
	assert.Equal(t, fastField{kind: kindText, length: 42, encodes: true}, c.fields[95])
}

// specWith returns a copy of Spec() with some fields replaced.
func specWith(fields map[int]field.Field) *iso8583.MessageSpec {
	s := &iso8583.MessageSpec{Name: "test", Fields: maps.Clone(Spec().Fields)}
	for id, f := range fields {
		s.Fields[id] = f
	}
	return s
}

func TestFastFallsBackToMoovForFieldsItDoesNotCompile(t *testing.T) {
	spec := specWith(map[int]field.Field{
		// A variable-length Numeric: moov-io's text for it is the
		// re-formatted number, which the compiled walk does not produce.
		62: field.NewNumeric(&field.Spec{Length: 10, Enc: encoding.ASCII, Pref: prefix.ASCII.LL}),
		// An interpreted field sent as hex: its text would be binary.
		41: field.NewString(&field.Spec{Length: 4, Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed}),
		// A right-padded Numeric.
		60: field.NewNumeric(&field.Spec{Length: 4, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed, Pad: padding.Right('0')}),
		// Binary and BCD encodings.
		61: field.NewBinary(&field.Spec{Length: 4, Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
		59: field.NewString(&field.Spec{Length: 4, Enc: encoding.BCD, Pref: prefix.ASCII.Fixed}),
	})
	c := compileFast(spec)
	require.True(t, c.decodes)
	for _, id := range []int{41, 59, 60, 61, 62} {
		assert.Equal(t, kindOther, c.fields[id].kind, "DE %d", id)
	}
	base := fieldsOf(3, 4, 11, 37, 49)
	for _, m := range [][]byte{
		wire("0100", append(base, wf{62, "05-1234"})...),
		wire("0100", append(base, wf{62, "0500123"})...),
		wire("0100", append(base, wf{41, "A1B2C3D4"})...),
		wire("0100", append(base, wf{60, "1200"})...),
		wire("0100", append(base, wf{61, "\x00\x01\x02\x03"})...),
		wire("0100", append(base, wf{59, "\x12\x34\x56\x78"})...),
	} {
		var got, want decoded
		assert.False(t, c.decodeFast(m, &got), "%q", m)
		c.decode(m, &got)
		decodeRequest(spec, m, &want)
		assert.Equal(t, want, got)
	}
	// A message without those fields still takes the compiled walk.
	var d decoded
	assert.True(t, c.decodeFast(wire("0100", base...), &d))

	// A bitmap the walk does not know sends everything to moov-io.
	spec16 := specWith(map[int]field.Field{
		1: field.NewBitmap(&field.Spec{Length: 16, Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed}),
	})
	c16 := compileFast(spec16)
	assert.False(t, c16.decodes)
	assert.False(t, c16.encodes)
	m := append([]byte("0100"), fmt.Sprintf("%016X%016X", uint64(1)<<(64-11), 0)...)
	m = append(m, "000042"...)
	var got, want decoded
	c16.decode(m, &got)
	decodeRequest(spec16, m, &want)
	assert.Equal(t, want, got)
	assert.Nil(t, got.err)
	_, ok := c16.appendReply(nil, &got, replyParts{mti: "0110", code: "00"})
	assert.False(t, ok)
}

func TestLeftPadChar(t *testing.T) {
	c, ok := leftPadChar(padding.Left('0'))
	assert.True(t, ok)
	assert.Equal(t, byte('0'), c)
	c, ok = leftPadChar(nil)
	assert.True(t, ok)
	assert.Zero(t, c)
	_, ok = leftPadChar(padding.Right('0'))
	assert.False(t, ok)
	_, ok = leftPadChar(padding.Left('é'))
	assert.False(t, ok)
}

func TestAppendDE54MatchesFormat(t *testing.T) {
	for _, cents := range []int64{0, 1, -1, 123456, -123456, 999_999_999_999, 1_000_000_000_000, -1_000_000_000_000,
		math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		assert.Equal(t, formatDE54(cents), string(appendDE54(nil, cents)), "%d", cents)
		assert.Equal(t, formatDE54Block(de54RequestedType, cents), string(appendDE54Type(nil, de54RequestedType, cents)), "%d", cents)
	}
	assert.Equal(t, "0057840C000000010000", formatDE54Block(de54RequestedType, 10_000))
}

// TestDetachCopiesEveryString checks, field by field through reflection,
// that no string a Handler receives aliases the frame, so a new field added
// to Request cannot be forgotten in detach.
func TestDetachCopiesEveryString(t *testing.T) {
	frame := wire("0400", fieldsOf(slices.Sorted(maps.Keys(goodWire))...)...)
	var d decoded
	require.True(t, defaultFastCodec().decodeFast(frame, &d))
	require.Nil(t, d.err)
	before := d.req
	d.req.detach(&stringArenas{})
	assert.Equal(t, before, d.req)
	lo := uintptr(unsafe.Pointer(&frame[0]))
	hi := lo + uintptr(len(frame))
	v := reflect.ValueOf(d.req)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.String {
			continue
		}
		name := v.Type().Field(i).Name
		s := f.String()
		if name != "MTI" {
			assert.NotEmpty(t, s, "%s is not set by the test message", name)
		}
		if s == "" {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		assert.False(t, p >= lo && p < hi, "%s still aliases the frame", name)
	}
	// Overwriting the frame, as the next request does, changes what the
	// decoder returned (which is why detach exists) but not the copies.
	for i := range frame {
		frame[i] = '#'
	}
	assert.Equal(t, "######", before.STAN)
	assert.Equal(t, "000042", d.req.STAN)
	assert.Equal(t, "4111111111111111", d.req.PAN)
	assert.Equal(t, "ACME GROCERY", d.req.MerchantName)
	assert.Equal(t, "123", d.req.CVV2)
}

func TestStrArenaCopyIn(t *testing.T) {
	var a strArena
	var want []string
	var ptrs []*string
	// Enough strings to fill several chunks, one request's worth at a time.
	for i := 0; i < 3*arenaChunkBytes/10; i += 5 {
		var batch [5]*string
		for k := range batch {
			s := fmt.Sprintf("%010d", i+k)
			if k == 2 {
				s = "" // absent fields stay empty
			}
			want = append(want, s)
			batch[k] = &s
			ptrs = append(ptrs, &s)
		}
		a.copyIn(batch[:])
	}
	for i, p := range ptrs {
		require.Equal(t, want[i], *p)
	}
	big := strings.Repeat("b", arenaValueBytesMax+1)
	s := big
	a.copyIn([]*string{&s})
	assert.Equal(t, big, s)
	assert.NotSame(t, unsafe.StringData(big), unsafe.StringData(s))
}

// TestServerCodecsAgreeOnTheWire runs both codecs behind real listeners and
// compares the reply frames byte for byte.
func TestServerCodecsAgreeOnTheWire(t *testing.T) {
	var replies [2][][]byte
	var msgs [][]byte
	for _, m := range profileMessages() {
		if _, _, ok := replyMTI(mtiString(m[:min(4, len(m))])); validMTI(m) && ok {
			msgs = append(msgs, m)
		}
	}
	for i, codec := range []string{CodecFast, CodecMoov} {
		srv := newCodecServer(t, codec)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = srv.Serve(ln) }()
		nc, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		fr := NewFrameReader(nc, Binary2, 0)
		for _, m := range msgs {
			require.NoError(t, WriteFrame(nc, Binary2, m))
			b, err := fr.Next()
			require.NoError(t, err)
			replies[i] = append(replies[i], bytes.Clone(b))
		}
		_ = nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, srv.Shutdown(ctx))
		cancel()
	}
	for i := range msgs {
		require.Equal(t, string(replies[1][i]), string(replies[0][i]), "request %q", msgs[i])
	}
}

func TestConfigCodec(t *testing.T) {
	assert.Equal(t, CodecFast, Config{}.withDefaults().Codec)
	assert.Error(t, Config{Codec: "fastest"}.withDefaults().validate())
	srv, err := NewServer(Config{Codec: CodecMoov}, PerRequest(nopHandler{}))
	require.NoError(t, err)
	assert.Nil(t, srv.fast)
	srv, err = NewServer(Config{}, PerRequest(nopHandler{}))
	require.NoError(t, err)
	assert.NotNil(t, srv.fast)
}
