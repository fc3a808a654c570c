package binrec

import "encoding/binary"

// Reader reads one record from the front of a byte slice. After the first
// malformed read every later read returns the zero value and Failed
// reports true, so a decoder reads all its fields and checks once.
type Reader struct {
	b      []byte
	failed bool
}

// NewReader reads b. The Reader shares b's memory; Bytes and Rest return
// slices of it.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Failed reports whether any read so far was malformed.
func (r *Reader) Failed() bool { return r.failed }

// Len is the number of bytes not yet read.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns the bytes not yet read without consuming them.
func (r *Reader) Rest() []byte { return r.b }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.failed || len(r.b) == 0 {
		r.failed = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.failed {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.failed = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a zigzag-encoded signed varint, as binary.AppendVarint
// writes it.
func (r *Reader) Varint() int64 {
	if r.failed {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.failed = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Bytes reads a uvarint length and that many bytes. The result shares the
// Reader's memory.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.failed {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.failed = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// String reads what Bytes reads, as a copy.
func (r *Reader) String() string { return string(r.Bytes()) }
