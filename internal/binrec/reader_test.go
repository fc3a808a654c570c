package binrec

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReaderReadsWhatWasAppended(t *testing.T) {
	var b []byte
	b = append(b, 7)
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -42)
	b = binary.AppendUvarint(b, 5)
	b = append(b, "hello"...)
	b = binary.AppendUvarint(b, 0)
	b = append(b, "tail"...)

	r := NewReader(b)
	assert.Equal(t, byte(7), r.Byte())
	assert.Equal(t, uint64(300), r.Uvarint())
	assert.Equal(t, int64(-42), r.Varint())
	assert.Equal(t, "hello", r.String())
	assert.Equal(t, "", r.String())
	assert.False(t, r.Failed())
	assert.Equal(t, 4, r.Len())
	assert.Equal(t, []byte("tail"), r.Rest())
}

func TestReaderFailsOnceAndStaysFailed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(*Reader)
	}{
		{"byte past the end", nil, func(r *Reader) { r.Byte() }},
		{"uvarint past the end", nil, func(r *Reader) { r.Uvarint() }},
		{"truncated uvarint", []byte{0x80}, func(r *Reader) { r.Uvarint() }},
		{"uvarint over 64 bits", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Uvarint() }},
		{"truncated varint", []byte{0xff}, func(r *Reader) { r.Varint() }},
		{"length past the end", []byte{5, 'a', 'b'}, func(r *Reader) { r.Bytes() }},
		{"huge length", binary.AppendUvarint(nil, 1<<63), func(r *Reader) { _ = r.String() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A valid byte follows the bad read: a failed reader must not
			// go on to read it.
			r := NewReader(tt.in)
			tt.read(&r)
			assert.True(t, r.Failed())
			rest := r.Len()
			assert.Zero(t, r.Byte())
			assert.Zero(t, r.Uvarint())
			assert.Zero(t, r.Varint())
			assert.Nil(t, r.Bytes())
			assert.Equal(t, rest, r.Len())
			assert.True(t, r.Failed())
		})
	}
}

func TestBytesCannotGrowIntoTheRest(t *testing.T) {
	b := append(binary.AppendUvarint(nil, 2), "abcd"...)
	r := NewReader(b)
	v := r.Bytes()
	_ = append(v, 'X')
	assert.Equal(t, []byte("cd"), r.Rest())
}
