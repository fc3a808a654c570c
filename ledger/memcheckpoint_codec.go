package ledger

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The encoding of a memory checkpoint's body: fixed-width little-endian
// integers for the packed tables (they are read back millions at a time),
// unsigned varints for counts and lengths, strings as a length and bytes.

type encoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	err error
}

func newEncoder(w io.Writer) *encoder { return &encoder{w: bufio.NewWriterSize(w, 1<<20)} }

func (e *encoder) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.write(e.buf[:8])
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.write(e.buf[:4])
}

func (e *encoder) uvarint(v uint64) { e.write(binary.AppendUvarint(e.buf[:0], v)) }

func (e *encoder) varint(v int64) { e.write(binary.AppendVarint(e.buf[:0], v)) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// errCorrupt reports a checkpoint body that does not decode: a length out
// of bounds, a value out of range, a short read.
var errCorrupt = errors.New("ledger: memory checkpoint does not decode")

// decoder reads what encoder wrote, through a window of its own (a
// restart reads millions of fixed-width integers, and a call through
// io.Reader for each one cost more than the rest of the decoding). remain
// is what is left of the body: a count is checked against it before
// anything is allocated for it, so a damaged length cannot ask for more
// memory than the file could fill.
type decoder struct {
	r        io.Reader
	buf      []byte
	pos, end int
	remain   int64
	err      error
}

func newDecoder(r io.Reader, size int64) *decoder {
	return &decoder{r: r, buf: make([]byte, min(max(size, 64), 1<<20)), remain: size}
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
}

// ensure makes n bytes readable at pos, or fails.
func (d *decoder) ensure(n int) bool {
	if d.end-d.pos >= n {
		return true
	}
	if d.err != nil {
		return false
	}
	if int64(n) > d.remain {
		d.fail("cut short")
		return false
	}
	d.end = copy(d.buf, d.buf[d.pos:d.end])
	d.pos = 0
	if n > len(d.buf) {
		d.buf = append(d.buf[:d.end], make([]byte, n-d.end)...)
	}
	for d.end < n {
		m, err := d.r.Read(d.buf[d.end:])
		d.end += m
		if err != nil && d.end < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.fail("%v", err)
			return false
		}
	}
	return true
}

// read returns the next n bytes, valid until the next call.
func (d *decoder) read(n int) []byte {
	if !d.ensure(n) {
		return make([]byte, n)
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	d.remain -= int64(n)
	return b
}

func (d *decoder) u64() uint64 {
	if d.end-d.pos >= 8 {
		v := binary.LittleEndian.Uint64(d.buf[d.pos:])
		d.pos += 8
		d.remain -= 8
		return v
	}
	return binary.LittleEndian.Uint64(d.read(8))
}

func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.read(4)) }

func (d *decoder) byteVal() byte { return d.read(1)[0] }

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b := d.byteVal()
		if d.err != nil {
			return 0
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	d.fail("varint overflows")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a count of items of at least each bytes apiece.
func (d *decoder) count(each int64) int {
	n := d.uvarint()
	if d.err == nil && (n > uint64(d.remain)/uint64(each)) {
		d.fail("a count of %d exceeds what is left", n)
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil || n == 0 {
		return ""
	}
	return string(d.read(n))
}
