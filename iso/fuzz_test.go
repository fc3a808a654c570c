package iso

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// seedMessages are valid packed messages of every kind the server handles,
// used to seed the fuzzers so they start from inputs that reach deep into
// the decoder.
func seedMessages(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	auth := sampleRequest()
	out = append(out, mustPack(t, auth))
	for _, mti := range []string{"0101", "0120", "0200", "0220", "0400", "0401", "0420", "0421", "0300"} {
		r := *auth
		r.MTI = mti
		out = append(out, mustPack(t, &r))
	}
	rev := *auth
	rev.MTI = "0400"
	rev.OriginalData = "0100000042112109550000000123456" + strings.Repeat("0", 11)
	rev.HasReplacement, rev.ReplacementAmountCents = true, 600
	out = append(out, mustPack(t, &rev))
	for _, code := range []string{"001", "002", "301", "999"} {
		out = append(out, mustPack(t, &Request{MTI: "0800", TransmissionDateTime: "1121095500", STAN: "000001", NetworkCode: code}))
	}
	d := decode(out[0])
	reply, err := buildReply(Spec(), d, replyParts{mti: "0110", code: "00",
		resp: Response{Code: "00", AuthCode: "ABC123", HasBalance: true, AvailableCents: -5}})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, reply)
}

// FuzzDecode feeds arbitrary frames through everything the server does with
// a frame after framing it: decoding, validation, the decision (with a
// handler that approves), and building the reply. Nothing may panic, and
// every reply the server would send must decode as a reply.
func FuzzDecode(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Add([]byte("0100"))
	f.Add([]byte("0100ZZZZZZZZZZZZZZZZ"))
	f.Add([]byte("0100FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"))
	srv, err := NewServer(Config{Logger: slog.New(slog.DiscardHandler)}, PerRequest(approveAll{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		_, _ = UnpackResponse(frame)
		if !validMTI(frame) {
			return // the server closes the connection instead
		}
		if _, _, ok := replyMTI(mtiString(frame[:4])); !ok {
			return
		}
		j := &job{frame: frame}
		_, p := srv.decide(context.Background(), j)
		b, err := buildReply(srv.spec, &j.d, p)
		if err != nil {
			t.Fatalf("no reply could be built: %v", err)
		}
		rep, err := UnpackResponse(b)
		if err != nil {
			t.Fatalf("the reply does not decode: %v", err)
		}
		if rep.Code != p.code || rep.MTI != p.mti {
			t.Fatalf("reply %s/%s, decided %s/%s", rep.MTI, rep.Code, p.mti, p.code)
		}
	})
}

type approveAll struct{}

func (approveAll) HandleISO(ctx context.Context, req *Request) Response {
	return Response{Code: "00", AuthCode: "FUZZ01", HasBalance: true, AvailableCents: req.AmountCents}
}

// naiveFrames is a deliberately simple model of the framing rules: read a
// header, check it, take that many bytes, repeat. Each frame is returned
// with its TPDU, if any, in front.
func naiveFrames(data []byte, f Framing, maxMsg int) ([][]byte, error) {
	var out [][]byte
	for {
		if len(data) == 0 {
			return out, io.EOF
		}
		hb := 2
		if f == ASCII4 || f == Binary4 {
			hb = 4
		}
		tpdu := 0
		if f == Binary2TPDU {
			tpdu = 5
		}
		if len(data) < hb {
			return out, io.ErrUnexpectedEOF
		}
		var n int
		switch f {
		case ASCII4:
			for _, c := range data[:4] {
				if c < '0' || c > '9' {
					return out, ErrBadLengthHeader
				}
				n = n*10 + int(c-'0')
			}
		case Binary4:
			n = int(binary.BigEndian.Uint32(data))
		default:
			n = int(binary.BigEndian.Uint16(data))
		}
		switch {
		case n == 0 || n == tpdu:
			return out, ErrFrameEmpty
		case n < tpdu:
			return out, ErrShortTPDU
		case n > maxMsg:
			return out, ErrFrameTooLarge
		case len(data) < hb+n:
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, data[hb:hb+n])
		data = data[hb+n:]
	}
}

// FuzzFrameReader checks the buffered FrameReader against naiveFrames on
// arbitrary streams, read in chunks of arbitrary size.
func FuzzFrameReader(f *testing.F) {
	var stream bytes.Buffer
	for _, m := range seedMessages(f) {
		_ = WriteFrame(&stream, Binary2, m)
	}
	f.Add(stream.Bytes(), uint8(Binary2), uint16(8192), uint8(0))
	stream.Reset()
	for _, m := range seedMessages(f) {
		_ = WriteFrame(&stream, ASCII4, m)
	}
	f.Add(stream.Bytes(), uint8(ASCII4), uint16(8192), uint8(7))
	for _, fr := range []Framing{Binary4, Binary2TPDU} {
		stream.Reset()
		for _, m := range seedMessages(f) {
			_ = WriteFrameTPDU(&stream, fr, NewTPDU(0x1234, 0x5678), m)
		}
		f.Add(stream.Bytes(), uint8(fr), uint16(8192), uint8(5))
	}
	f.Add([]byte{0, 0}, uint8(Binary2), uint16(100), uint8(1))
	f.Add([]byte("00a1xyz"), uint8(ASCII4), uint16(100), uint8(3))
	f.Add([]byte{0xFF, 0xFF, 1, 2, 3}, uint8(Binary2), uint16(64), uint8(0))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3}, uint8(Binary4), uint16(64), uint8(0))
	f.Add([]byte{0, 3, 0x60, 0, 1}, uint8(Binary2TPDU), uint16(64), uint8(0))
	f.Add([]byte{0, 5, 0x60, 0, 1, 0, 0}, uint8(Binary2TPDU), uint16(64), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, framingN uint8, maxMsg uint16, chunk uint8) {
		framing := Framing(framingN % uint8(Binary2TPDU+1))
		var r io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			r = &chunkReader{data: data, n: int(chunk)}
		}
		fr := NewFrameReader(r, framing, int(maxMsg))
		want, wantErr := naiveFrames(data, framing, fr.maxMsg)
		for i := 0; ; i++ {
			got, err := fr.Next()
			if err != nil {
				if i != len(want) {
					t.Fatalf("stopped after %d frames, model has %d", i, len(want))
				}
				if !errors.Is(err, wantErr) {
					t.Fatalf("error %v, model says %v", err, wantErr)
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("frame %d beyond the model's", i)
			}
			tpdu := fr.TPDU()
			if !bytes.Equal(append(tpdu[:framing.TPDUBytes()], got...), want[i]) {
				t.Fatalf("frame %d differs from the model", i)
			}
		}
	})
}

// chunkReader returns at most n bytes per Read, to move frame boundaries
// across reads.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func BenchmarkDecodeRequest(b *testing.B) {
	frame := mustPack(b, sampleRequest())
	d := &decoded{}
	b.ReportAllocs()
	for b.Loop() {
		decodeRequest(Spec(), frame, d)
	}
}

func BenchmarkBuildReply(b *testing.B) {
	d := decode(mustPack(b, sampleRequest()))
	p := replyParts{mti: "0110", code: "00", resp: Response{Code: "00", AuthCode: "A12345"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildReply(Spec(), d, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameReader(b *testing.B) {
	msg := mustPack(b, sampleRequest())
	var stream bytes.Buffer
	for i := 0; i < 1000; i++ {
		_ = WriteFrame(&stream, Binary2, msg)
	}
	data := stream.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		fr := NewFrameReader(bytes.NewReader(data), Binary2, 0)
		for {
			if _, err := fr.Next(); err != nil {
				break
			}
		}
	}
}
