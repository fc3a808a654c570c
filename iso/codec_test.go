package iso

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/specs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleRequest is a complete, well-formed 0100 used across the unit tests.
func sampleRequest() *Request {
	return &Request{
		MTI:                  "0100",
		PAN:                  "4111111111111111",
		ProcessingCode:       "000000",
		AmountCents:          1250,
		HasAmount:            true,
		TransmissionDateTime: "1121095500",
		STAN:                 "000042",
		LocalTime:            "095500",
		LocalDate:            "1121",
		Expiry:               "2812",
		MCC:                  "5411",
		POSEntryMode:         "051",
		AcquirerID:           "123456",
		RRN:                  "532509000042",
		TerminalID:           "TERM0001",
		MerchantID:           "MERCH01",
		MerchantName:         "ACME GROCERY",
		MerchantCity:         "SPRINGFIELD",
		MerchantCountry:      "US",
		CurrencyCode:         "840",
		CVV2:                 "123",
		HasCVV2:              true,
	}
}

func mustPack(t testing.TB, r *Request) []byte {
	t.Helper()
	b, err := PackRequest(r)
	require.NoError(t, err)
	return b
}

func decode(b []byte) *decoded {
	d := &decoded{}
	decodeRequest(Spec(), b, d)
	return d
}

func TestSpecLeavesMoovSpecAlone(t *testing.T) {
	// The project spec is a copy: moov-io's global keeps its own bitmap and
	// knows nothing of DE 95.
	_ = Spec()
	assert.Equal(t, 16, specs.Spec87ASCII.Fields[1].Spec().Length)
	_, has95 := specs.Spec87ASCII.Fields[95]
	assert.False(t, has95)
	assert.Equal(t, bitmapBytes, Spec().Fields[1].Spec().Length)
	assert.Contains(t, Spec().Fields, 70)
	assert.Contains(t, Spec().Fields, 95)
}

func TestBitmapLayout(t *testing.T) {
	tests := []struct {
		name       string
		req        *Request
		bitmapHexs int
	}{
		{"primary only", &Request{MTI: "0100", STAN: "000001"}, 16},
		{"secondary for DE 70", &Request{MTI: "0800", STAN: "000001", NetworkCode: "301"}, 32},
		{"secondary for DE 95", &Request{MTI: "0400", STAN: "000001", HasReplacement: true, ReplacementAmountCents: 5}, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustPack(t, tt.req)
			// After the bitmap(s) comes DE 11, the only field below 65.
			assert.Equal(t, "000001", string(b[4+tt.bitmapHexs:4+tt.bitmapHexs+6]))
			if tt.bitmapHexs == 32 {
				assert.Equal(t, byte('8'), b[4], "bit 1 announces the secondary bitmap")
			}
		})
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	j, err := SpecJSON()
	require.NoError(t, err)
	imported, err := specs.ImportJSON(j)
	require.NoError(t, err)

	// A client that loads the published spec packs messages this package
	// decodes, field for field.
	m := iso8583.NewMessage(imported)
	m.MTI("0400")
	for id, v := range map[int]string{
		2: "4111111111111111", 3: "000000", 4: "000000001000", 11: "000007",
		37: "532509000007", 49: "840", 95: "000000000600" + strings.Repeat("0", 30),
	} {
		require.NoError(t, m.Field(id, v))
	}
	b, err := m.Pack()
	require.NoError(t, err)
	d := decode(b)
	require.Nil(t, d.err)
	assert.Equal(t, int64(600), d.req.ReplacementAmountCents)
	assert.True(t, d.req.HasReplacement)
	assert.Equal(t, int64(1000), d.req.AmountCents)

	// Each call returns its own copy.
	j[0] = 'x'
	j2, err := SpecJSON()
	require.NoError(t, err)
	assert.Equal(t, byte('{'), j2[0])
}

func TestPackRequestDecodeRoundTrip(t *testing.T) {
	r := sampleRequest()
	b := mustPack(t, r)
	d := decode(b)
	require.Nil(t, d.err)
	got := d.req
	got.Raw = nil
	assert.Equal(t, *r, got)
	assert.Equal(t, b, d.req.Raw)
}

func TestDecodeRequestFields(t *testing.T) {
	// set replaces or adds a field in a packed sample message; the packing
	// goes through moov-io directly so malformed values can be built.
	build := func(t *testing.T, mti string, edit map[int]string, drop ...int) []byte {
		t.Helper()
		base := decode(mustPack(t, sampleRequest()))
		require.Nil(t, base.err)
		m := iso8583.NewMessage(Spec())
		m.MTI(mti)
		fields := map[int]string{}
		for i, id := range echoFields {
			fields[id] = base.echo[i]
		}
		fields[12], fields[13], fields[14], fields[18], fields[22] = "095500", "1121", "2812", "5411", "051"
		fields[43] = fmt.Sprintf("%-25s%-13s%-2s", "ACME GROCERY", "SPRINGFIELD", "US")
		fields[48] = "R9203123"
		for id, v := range edit {
			fields[id] = v
		}
		for _, id := range drop {
			delete(fields, id)
		}
		for id, v := range fields {
			require.NoError(t, m.Field(id, v))
		}
		b, err := m.Pack()
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		mti     string
		edit    map[int]string
		drop    []int
		errFld  int // 0 means well-formed
		missing int // first missing required field, 0 for none
		check   func(t *testing.T, r *Request)
	}{
		{name: "well-formed", mti: "0100", check: func(t *testing.T, r *Request) {
			assert.Equal(t, "MERCH01", r.MerchantID)
			assert.Equal(t, "ACME GROCERY", r.MerchantName)
			assert.Equal(t, "SPRINGFIELD", r.MerchantCity)
			assert.Equal(t, "US", r.MerchantCountry)
			assert.Equal(t, "123", r.CVV2)
		}},
		{name: "zero amount is an account verification", mti: "0100", edit: map[int]string{4: "000000000000"},
			check: func(t *testing.T, r *Request) {
				assert.True(t, r.HasAmount)
				assert.Zero(t, r.AmountCents)
			}},
		{name: "non-digit amount", mti: "0100", edit: map[int]string{4: "00000000100A"}, errFld: 4},
		{name: "non-digit STAN", mti: "0100", edit: map[int]string{11: "00004X"}, errFld: 11},
		{name: "non-digit PAN", mti: "0100", edit: map[int]string{2: "41111111X1111111"}, errFld: 2},
		{name: "non-digit expiry", mti: "0100", edit: map[int]string{14: "28A2"}, errFld: 14},
		{name: "non-digit currency", mti: "0100", edit: map[int]string{49: "USD"}, errFld: 49},
		{name: "DE 48 without category code", mti: "0100", edit: map[int]string{48: ""}, errFld: 48},
		{name: "DE 48 truncated sub-element", mti: "0100", edit: map[int]string{48: "R9205123"}, errFld: 48},
		{name: "DE 48 bad tag", mti: "0100", edit: map[int]string{48: "RX203123"}, errFld: 48},
		{name: "DE 48 without CVV2", mti: "0100", edit: map[int]string{48: "R1002AB"}, check: func(t *testing.T, r *Request) {
			assert.False(t, r.HasCVV2)
		}},
		{name: "DE 48 CVV2 after another sub-element", mti: "0100", edit: map[int]string{48: "R1002AB92047890"}, check: func(t *testing.T, r *Request) {
			assert.True(t, r.HasCVV2)
			assert.Equal(t, "7890", r.CVV2)
		}},
		{name: "missing DE 43", mti: "0100", drop: []int{43}, missing: 43},
		{name: "missing DE 2 in 0200", mti: "0200", drop: []int{2}, missing: 2},
		{name: "0220 needs DE 2 or DE 90", mti: "0220", drop: []int{2}, missing: 2},
		{name: "0220 with DE 90 only", mti: "0220", drop: []int{2}, edit: map[int]string{90: strings.Repeat("0", 42)}},
		{name: "0400 without DE 49", mti: "0400", drop: []int{49}, missing: 49},
		{name: "DE 95 non-digit amount", mti: "0400", edit: map[int]string{95: "00000000010X" + strings.Repeat(" ", 30)}, errFld: 95},
		{name: "DE 95 partial reversal", mti: "0400", edit: map[int]string{95: "000000000600" + strings.Repeat(" ", 30)},
			check: func(t *testing.T, r *Request) {
				assert.True(t, r.HasReplacement)
				assert.Equal(t, int64(600), r.ReplacementAmountCents)
			}},
		{name: "field outside the profile", mti: "0100", edit: map[int]string{5: "000000000100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decode(build(t, tt.mti, tt.edit, tt.drop...))
			if tt.errFld != 0 {
				require.NotNil(t, d.err)
				assert.Equal(t, tt.errFld, d.err.Field)
				// The rest of the message still parsed, for the echo.
				assert.True(t, d.present.has(11))
				assert.True(t, d.present.has(49))
				return
			}
			require.Nil(t, d.err)
			id, missing := missingField(tt.mti, &d.present)
			if tt.missing != 0 {
				assert.True(t, missing)
				assert.Equal(t, tt.missing, id)
				return
			}
			assert.False(t, missing, "field %d reported missing", id)
			if tt.check != nil {
				tt.check(t, &d.req)
			}
		})
	}
}

func TestDecodeUnparseable(t *testing.T) {
	good := mustPack(t, sampleRequest())
	tests := []struct {
		name     string
		frame    []byte
		mtiOK    bool
		errField int
		hasSTAN  bool
	}{
		{"empty", nil, false, 0, false},
		{"short", []byte("010"), false, 0, false},
		{"letters", []byte("ABCD1234"), false, 0, false},
		{"bad bitmap", []byte("0100ZZZZZZZZZZZZZZZZ"), true, 1, false},
		{"truncated inside DE 43", good[:len(good)-30], true, 43, true},
		{"trailing bytes", append(append([]byte(nil), good...), "XYZ"...), true, -1, true},
		{"field beyond the spec", []byte("0100" + "8000000000000000" + "8000000000000000" + "4000000000000000"), true, 130, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decode(tt.frame)
			require.NotNil(t, d.err)
			assert.Equal(t, tt.mtiOK, validMTI(tt.frame))
			if tt.mtiOK {
				assert.Equal(t, tt.errField, d.err.Field, d.err.Error())
			}
			assert.Equal(t, tt.hasSTAN, d.present.has(11))
			assert.NotContains(t, d.err.Error(), "4111")
		})
	}
}

func TestReplyMTI(t *testing.T) {
	tests := []struct {
		in, out       string
		supported, ok bool
	}{
		{"0100", "0110", true, true},
		{"0101", "0110", true, true},
		{"0120", "0130", true, true},
		{"0200", "0210", true, true},
		{"0220", "0230", true, true},
		{"0400", "0410", true, true},
		{"0401", "0410", true, true},
		{"0420", "0430", true, true},
		{"0421", "0430", true, true},
		{"0800", "0810", true, true},
		{"0300", "0310", false, true},
		{"0600", "0610", false, true},
		{"0201", "0210", false, true}, // a repeat the profile does not list
		{"0820", "0830", false, true},
		{"0801", "0810", false, true},
		{"0180", "0190", false, true},
		{"0110", "", false, false},
		{"0810", "", false, false},
		{"0430", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			out, supported, ok := replyMTI(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.supported, supported)
			assert.Equal(t, tt.out, out)
		})
	}
}

func TestDE54(t *testing.T) {
	tests := []struct {
		cents int64
		want  string
		back  int64
	}{
		{0, "0002840C000000000000", 0},
		{123456, "0002840C000000123456", 123456},
		{-250, "0002840D000000000250", -250},
		{1_000_000_000_000, "0002840C999999999999", 999_999_999_999},
		{-1 << 63, "0002840D999999999999", -999_999_999_999},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := formatDE54(tt.cents)
			assert.Equal(t, tt.want, got)
			back, has, reason := parseDE54(got)
			assert.Empty(t, reason)
			assert.True(t, has)
			assert.Equal(t, tt.back, back)
		})
	}
	// A ledger balance block before the available one is skipped.
	v, has, reason := parseDE54("0001840C000000000500" + "0002840C000000000100")
	assert.Empty(t, reason)
	assert.True(t, has)
	assert.Equal(t, int64(100), v)
	_, _, reason = parseDE54("0002840X000000000100")
	assert.NotEmpty(t, reason)
	_, _, reason = parseDE54("0002840C")
	assert.NotEmpty(t, reason)
}

func TestBuildReplyAndUnpackResponse(t *testing.T) {
	d := decode(mustPack(t, sampleRequest()))
	require.Nil(t, d.err)
	b, err := buildReply(Spec(), d, replyParts{
		mti:  "0110",
		code: "00",
		resp: Response{Code: "00", AuthCode: "A1B2C3", HasBalance: true, AvailableCents: 98765},
	})
	require.NoError(t, err)
	rep, err := UnpackResponse(b)
	require.NoError(t, err)
	assert.Equal(t, &Reply{
		MTI: "0110", STAN: "000042", RRN: "532509000042", Code: "00", AuthCode: "A1B2C3",
		AvailableCents: 98765, HasBalance: true, PAN: "4111111111111111", AmountCents: 1250,
	}, rep)

	// The reply echoes exactly the profile's fields and adds 38, 39, 54.
	m := iso8583.NewMessage(Spec())
	require.NoError(t, m.Unpack(b))
	var ids []int
	for id := range m.GetFields() {
		if id > 1 {
			ids = append(ids, id)
		}
	}
	assert.ElementsMatch(t, []int{2, 3, 4, 7, 11, 37, 38, 39, 41, 42, 49, 54}, ids)
	de42, err := m.GetString(42)
	require.NoError(t, err)
	assert.Equal(t, "MERCH01        ", de42, "DE 42 is echoed as received, not trimmed")
}

func TestBuildReplyFallsBack(t *testing.T) {
	// An echo value moov-io cannot pack (here a DE 3 that is not a number,
	// which no decoded request can produce) must not cost the reply.
	d := decode(mustPack(t, sampleRequest()))
	d.echo[echoIndex(3)] = "ABCDEF"
	b, err := buildReply(Spec(), d, replyParts{mti: "0110", code: "30"})
	require.NoError(t, err)
	rep, err := UnpackResponse(b)
	require.NoError(t, err)
	assert.Equal(t, "30", rep.Code)
	assert.Equal(t, "000042", rep.STAN)
	assert.Empty(t, rep.PAN)
}

func TestUnpackResponseErrors(t *testing.T) {
	noCode := mustPack(t, &Request{MTI: "0110", STAN: "000001"})
	_, err := UnpackResponse(noCode)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 39, fe.Field)
	_, err = UnpackResponse([]byte("01"))
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 0, fe.Field)
}

func TestPackRequestErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *Request)
		field int
	}{
		{"bad MTI", func(r *Request) { r.MTI = "01X0" }, 0},
		{"PAN too long", func(r *Request) { r.PAN = strings.Repeat("4", 20) }, 2},
		{"negative amount", func(r *Request) { r.AmountCents = -1 }, 4},
		{"STAN too short", func(r *Request) { r.STAN = "42" }, 11},
		{"merchant ID too long", func(r *Request) { r.MerchantID = strings.Repeat("M", 16) }, 42},
		{"merchant name too long", func(r *Request) { r.MerchantName = strings.Repeat("N", 26) }, 43},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRequest()
			tt.edit(r)
			_, err := PackRequest(r)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.NotContains(t, err.Error(), "4111")
		})
	}
}

func frames(f Framing, msgs ...string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		if err := WriteFrame(&b, f, []byte(m)); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

func TestFrameReader(t *testing.T) {
	big := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		framing Framing
		max     int
		input   []byte
		oneByte bool
		want    []string
		err     error
	}{
		{"binary2 many frames", Binary2, 8192, frames(Binary2, "0800a", "0100bb", big), false, []string{"0800a", "0100bb", big}, io.EOF},
		{"binary2 one byte at a time", Binary2, 8192, frames(Binary2, "0800a", big, "c"), true, []string{"0800a", big, "c"}, io.EOF},
		{"ascii4 many frames", ASCII4, 8192, frames(ASCII4, "0800a", big), false, []string{"0800a", big}, io.EOF},
		{"ascii4 header", ASCII4, 8192, []byte("00050800a"), false, []string{"0800a"}, io.EOF},
		{"binary4 many frames", Binary4, 8192, frames(Binary4, "0800a", big), false, []string{"0800a", big}, io.EOF},
		{"binary4 one byte at a time", Binary4, 8192, frames(Binary4, "0800a", big, "c"), true, []string{"0800a", big, "c"}, io.EOF},
		{"binary4 header", Binary4, 8192, []byte{0, 0, 0, 2, 'o', 'k'}, false, []string{"ok"}, io.EOF},
		{"binary4 oversize", Binary4, 100, frames(Binary4, "ok", big), false, []string{"ok"}, ErrFrameTooLarge},
		{"binary4 largest length", Binary4, 100, []byte{0xFF, 0xFF, 0xFF, 0xFF, 'x'}, false, nil, ErrFrameTooLarge},
		{"binary4 zero length", Binary4, 100, []byte{0, 0, 0, 0}, false, nil, ErrFrameEmpty},
		{"binary4 truncated header", Binary4, 100, []byte{0, 0, 0}, false, nil, io.ErrUnexpectedEOF},
		{"tpdu many frames", Binary2TPDU, 8192, frames(Binary2TPDU, "0800a", big), false, []string{"0800a", big}, io.EOF},
		{"tpdu one byte at a time", Binary2TPDU, 8192, frames(Binary2TPDU, "0800a", big, "c"), true, []string{"0800a", big, "c"}, io.EOF},
		{"tpdu header", Binary2TPDU, 8192, []byte{0, 7, 0x60, 0, 1, 0, 2, 'o', 'k'}, false, []string{"ok"}, io.EOF},
		{"tpdu short", Binary2TPDU, 100, append(frames(Binary2TPDU, "ok"), 0, 4, 0x60, 0, 1, 0), false, []string{"ok"}, ErrShortTPDU},
		{"tpdu and no message", Binary2TPDU, 100, []byte{0, 5, 0x60, 0, 1, 0, 2}, false, nil, ErrFrameEmpty},
		{"tpdu zero length", Binary2TPDU, 100, []byte{0, 0}, false, nil, ErrFrameEmpty},
		{"tpdu oversize (the TPDU counts)", Binary2TPDU, 100, frames(Binary2TPDU, strings.Repeat("y", 96)), false, nil, ErrFrameTooLarge},
		{"tpdu largest that fits", Binary2TPDU, 100, frames(Binary2TPDU, strings.Repeat("y", 95)), false, []string{strings.Repeat("y", 95)}, io.EOF},
		{"empty stream", Binary2, 8192, nil, false, nil, io.EOF},
		{"oversize", Binary2, 100, frames(Binary2, "ok", big), false, []string{"ok"}, ErrFrameTooLarge},
		{"zero length", Binary2, 100, append(frames(Binary2, "ok"), 0, 0), false, []string{"ok"}, ErrFrameEmpty},
		{"ascii4 non-digit", ASCII4, 100, []byte("00a1xxxxxxxxxx"), false, nil, ErrBadLengthHeader},
		{"truncated header", Binary2, 100, []byte{0}, false, nil, io.ErrUnexpectedEOF},
		{"truncated body", Binary2, 100, []byte{0, 5, 'a', 'b'}, false, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tt.input)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			fr := NewFrameReader(r, tt.framing, tt.max)
			var got []string
			var err error
			for {
				var f []byte
				f, err = fr.Next()
				if err != nil {
					break
				}
				got = append(got, string(f))
			}
			assert.Equal(t, tt.want, got)
			assert.ErrorIs(t, err, tt.err)
			_, again := fr.Next()
			assert.ErrorIs(t, again, tt.err, "errors are sticky")
		})
	}
}

func TestFrameReaderCompactsAcrossBufferEnd(t *testing.T) {
	// Frames of 1000 bytes do not divide the 16 KiB buffer evenly, so some
	// straddle its end and must be moved to the front.
	var msgs []string
	for i := 0; i < 100; i++ {
		msgs = append(msgs, fmt.Sprintf("%04d", i)+strings.Repeat("y", 996))
	}
	fr := NewFrameReader(iotest.HalfReader(bytes.NewReader(frames(Binary2, msgs...))), Binary2, 1000)
	for i := range msgs {
		f, err := fr.Next()
		require.NoError(t, err)
		require.Equal(t, msgs[i], string(f))
	}
	_, err := fr.Next()
	assert.ErrorIs(t, err, io.EOF)
}

// TestFrameReaderKeepsEachTPDU: the TPDU of every frame is the one that
// came with it, however the frames straddle reads.
func TestFrameReaderKeepsEachTPDU(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 50; i++ {
		require.NoError(t, WriteFrameTPDU(&b, Binary2TPDU, NewTPDU(uint16(i), uint16(1000+i)), []byte(fmt.Sprintf("msg%03d", i))))
	}
	fr := NewFrameReader(&chunkReader{data: b.Bytes(), n: 3}, Binary2TPDU, 0)
	for i := 0; i < 50; i++ {
		f, err := fr.Next()
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("msg%03d", i), string(f))
		assert.Equal(t, NewTPDU(uint16(i), uint16(1000+i)), fr.TPDU())
	}
}

func TestTPDU(t *testing.T) {
	tp := NewTPDU(0x1234, 0xABCD)
	assert.Equal(t, TPDU{0x60, 0x12, 0x34, 0xAB, 0xCD}, tp)
	assert.Equal(t, uint16(0x1234), tp.Destination())
	assert.Equal(t, uint16(0xABCD), tp.Source())
	assert.Equal(t, TPDU{0x60, 0xAB, 0xCD, 0x12, 0x34}, tp.Reply())
	assert.Equal(t, tp, tp.Reply().Reply())
	// The ID is echoed as received, whatever it is.
	assert.Equal(t, byte(0x68), TPDU{0x68, 1, 2, 3, 4}.Reply()[0])
}

func TestFrameReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	fr := NewFrameReader(iotest.ErrReader(boom), Binary2, 100)
	_, err := fr.Next()
	assert.ErrorIs(t, err, boom)
}

func TestWriteFrame(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteFrame(&b, Binary2, []byte("abc")))
	assert.Equal(t, []byte{0, 3, 'a', 'b', 'c'}, b.Bytes())
	b.Reset()
	require.NoError(t, WriteFrame(&b, ASCII4, []byte("abc")))
	assert.Equal(t, "0003abc", b.String())

	b.Reset()
	bw := bufio.NewWriter(&b)
	require.NoError(t, WriteFrame(bw, ASCII4, []byte("abc")))
	require.NoError(t, bw.Flush())
	assert.Equal(t, "0003abc", b.String())

	b.Reset()
	require.NoError(t, WriteFrame(&b, Binary4, []byte("abc")))
	assert.Equal(t, []byte{0, 0, 0, 3, 'a', 'b', 'c'}, b.Bytes())
	b.Reset()
	require.NoError(t, WriteFrame(&b, Binary2TPDU, []byte("abc")))
	assert.Equal(t, []byte{0, 8, 0x60, 0, 1, 0, 0, 'a', 'b', 'c'}, b.Bytes(), "DefaultTPDU, and the length covers it")
	b.Reset()
	require.NoError(t, WriteFrameTPDU(&b, Binary2TPDU, NewTPDU(2, 3), []byte("abc")))
	assert.Equal(t, []byte{0, 8, 0x60, 0, 2, 0, 3, 'a', 'b', 'c'}, b.Bytes())
	b.Reset()
	bw = bufio.NewWriter(&b)
	require.NoError(t, WriteFrameTPDU(bw, Binary2TPDU, NewTPDU(2, 3), []byte("abc")))
	require.NoError(t, bw.Flush())
	assert.Equal(t, []byte{0, 8, 0x60, 0, 2, 0, 3, 'a', 'b', 'c'}, b.Bytes())
	for _, f := range []Framing{Binary2, ASCII4, Binary4, Binary2TPDU} {
		var w bytes.Buffer
		require.NoError(t, WriteFrameTPDU(&w, f, NewTPDU(7, 9), []byte("0800xyz")))
		got, err := AppendFrame([]byte("prefix"), f, NewTPDU(7, 9), []byte("0800xyz"))
		require.NoError(t, err)
		assert.Equal(t, append([]byte("prefix"), w.Bytes()...), got, "AppendFrame writes what WriteFrameTPDU does (%s)", f)
	}

	assert.ErrorIs(t, WriteFrame(&b, Binary2, nil), ErrFrameEmpty)
	assert.ErrorIs(t, WriteFrame(&b, Binary2TPDU, nil), ErrFrameEmpty)
	assert.ErrorIs(t, WriteFrame(&b, Binary2TPDU, make([]byte, 65531)), ErrFrameTooLarge)
	assert.NoError(t, WriteFrame(io.Discard, Binary2TPDU, make([]byte, 65530)))
	assert.ErrorIs(t, WriteFrame(&b, Binary4, make([]byte, 1<<20+1)), ErrFrameTooLarge)
	assert.ErrorIs(t, WriteFrame(&b, ASCII4, make([]byte, 10000)), ErrFrameTooLarge)
	assert.ErrorIs(t, WriteFrame(&b, Binary2, make([]byte, 65536)), ErrFrameTooLarge)
	assert.Error(t, WriteFrame(&b, Framing(9), []byte("a")))
}

func TestParseFraming(t *testing.T) {
	for _, f := range []Framing{Binary2, ASCII4, Binary4, Binary2TPDU} {
		got, err := ParseFraming(f.String())
		require.NoError(t, err)
		assert.Equal(t, f, got)
	}
	_, err := ParseFraming("bcd2")
	assert.Error(t, err)
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	c := Config{}.withDefaults()
	require.NoError(t, c.validate())
	assert.Equal(t, DefaultAddr, c.Addr)
	assert.Equal(t, Binary2, c.Framing)
	assert.Equal(t, DefaultMaxFrameBytes, c.MaxFrameBytes)
	assert.Equal(t, DefaultMaxInFlightPerConn, c.MaxInFlightPerConn)
	assert.Equal(t, DefaultReadIdleTimeout, c.ReadIdleTimeout)
	assert.Equal(t, DefaultWriteTimeout, c.WriteTimeout)
	assert.NotNil(t, c.Logger)
	assert.NotNil(t, c.Observer)

	bad := []Config{
		{Framing: Framing(7)},
		{MaxFrameBytes: 10},
		{MaxFrameBytes: 70000},
		{Framing: ASCII4, MaxFrameBytes: 10000},
		{Framing: Binary2TPDU, MaxFrameBytes: 70000},
		{Framing: Binary4, MaxFrameBytes: 1<<20 + 1},
		{MaxInFlightPerConn: -1},
		{ReadIdleTimeout: -1},
		{WriteTimeout: -1},
	}
	for _, b := range bad {
		assert.Error(t, b.withDefaults().validate(), "%+v", b)
		_, err := NewServer(b, PerRequest(nopHandler{}))
		assert.Error(t, err)
	}
	_, err := NewServer(Config{}, nil)
	assert.Error(t, err)
}

type nopHandler struct{}

func (nopHandler) HandleISO(ctx context.Context, req *Request) Response { return Response{Code: "00"} }
