package iso

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing selects the length header that precedes every message on the wire.
// The header counts the bytes of the message that follows, header excluded.
type Framing uint8

const (
	// Binary2 is a 2-byte unsigned big-endian length (the default, and the
	// zero value). It can describe messages of up to 65535 bytes.
	Binary2 Framing = iota
	// ASCII4 is a length written as 4 ASCII decimal digits, e.g. "0187". It
	// can describe messages of up to 9999 bytes.
	ASCII4
)

// String returns the name ParseFraming accepts.
func (f Framing) String() string {
	switch f {
	case Binary2:
		return "binary2"
	case ASCII4:
		return "ascii4"
	default:
		return fmt.Sprintf("Framing(%d)", uint8(f))
	}
}

// ParseFraming turns a flag value ("binary2" or "ascii4") into a Framing.
func ParseFraming(s string) (Framing, error) {
	switch s {
	case "binary2":
		return Binary2, nil
	case "ascii4":
		return ASCII4, nil
	default:
		return 0, fmt.Errorf("iso: unknown framing %q (want binary2 or ascii4)", s)
	}
}

func (f Framing) valid() bool { return f == Binary2 || f == ASCII4 }

// headerBytes is the size of the length header.
func (f Framing) headerBytes() int {
	if f == ASCII4 {
		return 4
	}
	return 2
}

// maxMessageBytes is the largest length the header can express.
func (f Framing) maxMessageBytes() int {
	if f == ASCII4 {
		return 9999
	}
	return 0xFFFF
}

// putHeader writes the header for a message of n bytes into dst, which must
// hold headerBytes bytes; n must already be within maxMessageBytes.
func (f Framing) putHeader(dst []byte, n int) {
	if f == ASCII4 {
		for i := 3; i >= 0; i-- {
			dst[i] = byte('0' + n%10)
			n /= 10
		}
		return
	}
	binary.BigEndian.PutUint16(dst, uint16(n)) // #nosec G115 -- n <= 0xFFFF, checked by the caller.
}

// decodeHeader reads the message length from a header of headerBytes bytes.
func (f Framing) decodeHeader(h []byte) (int, error) {
	if f == ASCII4 {
		n := 0
		for _, c := range h[:4] {
			if c < '0' || c > '9' {
				return 0, ErrBadLengthHeader
			}
			n = n*10 + int(c-'0')
		}
		return n, nil
	}
	return int(binary.BigEndian.Uint16(h[:2])), nil
}

// Framing errors. A server closes the connection on any of them, because
// after a bad header it can no longer tell where the next message starts.
var (
	// ErrFrameTooLarge means a length header announced more bytes than the
	// configured maximum message size.
	ErrFrameTooLarge = errors.New("iso: frame longer than the maximum message size")
	// ErrFrameEmpty means a length header announced a zero-length message.
	ErrFrameEmpty = errors.New("iso: frame with a zero length")
	// ErrBadLengthHeader means an ASCII4 header held something other than
	// four decimal digits.
	ErrBadLengthHeader = errors.New("iso: length header is not 4 ASCII digits")
)

// readBufferBytesMin is the smallest read buffer a FrameReader uses. A typical
// authorization request is 200-300 bytes, so one read system call can pull in
// dozens of pipelined frames.
const readBufferBytesMin = 16 << 10

// maxEmptyReads bounds how many (0, nil) results from the underlying reader
// are tolerated in a row before giving up, as bufio.Reader does.
const maxEmptyReads = 100

// FrameReader splits a byte stream into length-prefixed messages. It reads
// from the underlying reader in large chunks, so many pipelined frames cost
// one read system call, and hands out frames without copying them.
//
// A FrameReader is not safe for concurrent use.
type FrameReader struct {
	r       io.Reader
	framing Framing
	maxMsg  int
	buf     []byte
	start   int // first unread byte in buf
	end     int // one past the last buffered byte in buf
	err     error
	// grow is set for a server connection's reader (newConnFrameReader),
	// whose buffer starts small; filled records that the last read filled
	// all the room it was given.
	grow   bool
	filled bool
}

// NewFrameReader returns a FrameReader that accepts messages of 1 to
// maxFrameBytes bytes. A maxFrameBytes of zero or less means the default
// (8192); a value above what the framing's header can express is lowered to
// that limit.
func NewFrameReader(r io.Reader, f Framing, maxFrameBytes int) *FrameReader {
	if maxFrameBytes <= 0 {
		maxFrameBytes = DefaultMaxFrameBytes
	}
	maxFrameBytes = min(maxFrameBytes, f.maxMessageBytes())
	return &FrameReader{
		r:       r,
		framing: f,
		maxMsg:  maxFrameBytes,
		buf:     make([]byte, max(readBufferBytesMin, f.headerBytes()+maxFrameBytes)),
	}
}

// Next returns the next message, without its length header. The slice
// aliases the reader's buffer and is valid only until the next call to Next;
// copy it to keep it.
//
// Next returns io.EOF when the stream ends cleanly between frames,
// io.ErrUnexpectedEOF when it ends inside a frame, ErrFrameTooLarge,
// ErrFrameEmpty or ErrBadLengthHeader for a bad header, and otherwise the
// underlying reader's error. After an error every later call returns the
// same error.
func (fr *FrameReader) Next() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	hb := fr.framing.headerBytes()
	if err := fr.fill(hb); err != nil {
		if err == io.EOF && fr.end > fr.start {
			err = io.ErrUnexpectedEOF
		}
		fr.err = err
		return nil, err
	}
	n, err := fr.framing.decodeHeader(fr.buf[fr.start : fr.start+hb])
	switch {
	case err != nil:
	case n == 0:
		err = ErrFrameEmpty
	case n > fr.maxMsg:
		err = ErrFrameTooLarge
	}
	if err != nil {
		fr.err = err
		return nil, err
	}
	if err := fr.fill(hb + n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		fr.err = err
		return nil, err
	}
	frame := fr.buf[fr.start+hb : fr.start+hb+n : fr.start+hb+n]
	fr.start += hb + n
	return frame, nil
}

// fill makes sure at least need bytes are buffered after start, reading as
// much as the buffer holds in each call to the underlying reader. need never
// exceeds len(buf), because the buffer is sized for the largest frame.
func (fr *FrameReader) fill(need int) error {
	if fr.end-fr.start >= need {
		return nil
	}
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	} else if fr.start+need > len(fr.buf) || len(fr.buf)-fr.end < len(fr.buf)/4 {
		// Move the partial frame to the front; the frame handed out by the
		// previous Next is no longer valid, as documented. This is also
		// done when the frame would fit but little room is left behind
		// it: reading into a small tail would take one read system call
		// for a handful of bytes where one call can bring in dozens of
		// pipelined frames. What is moved is less than one frame.
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	empty := 0
	for fr.end-fr.start < need {
		n, err := fr.r.Read(fr.buf[fr.end:])
		if n < 0 || n > len(fr.buf)-fr.end {
			return errors.New("iso: reader returned an invalid count")
		}
		fr.end += n
		if fr.end-fr.start >= need {
			// Enough data: an error that came with it will come back on
			// the next read, as io.Reader promises.
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			empty++
			if empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return nil
}

// newConnFrameReader returns a FrameReader for a server connection: its
// buffer starts at connReadBufferBytesMin, so an idle connection holds
// little, and grows (see readOnce) up to connReadBufferBytesMax or the
// largest frame, whichever is more, when reads keep filling it.
func newConnFrameReader(r io.Reader, f Framing, maxFrameBytes int) *FrameReader {
	fr := NewFrameReader(r, f, maxFrameBytes)
	fr.buf = make([]byte, connReadBufferBytesMin)
	fr.grow = true
	return fr
}

// Buffer sizes of a server connection's FrameReader. A read that fills the
// buffer doubles it (the peer has more on the way), up to the maximum.
const (
	connReadBufferBytesMin = 2 << 10
	connReadBufferBytesMax = 64 << 10
)

// buffered returns the next frame if it is already complete in the buffer,
// without reading: ok is false when it is not (the buffer then holds part of
// a frame, or nothing). The frames it hands out stay valid until the next
// call to readOnce or Next, so a caller can take every frame one read
// delivered and use them together. A bad length header is returned as an
// error, as Next would, and sticks.
func (fr *FrameReader) buffered() (frame []byte, ok bool, err error) {
	if fr.err != nil {
		return nil, false, fr.err
	}
	hb := fr.framing.headerBytes()
	if fr.end-fr.start < hb {
		return nil, false, nil
	}
	n, err := fr.framing.decodeHeader(fr.buf[fr.start : fr.start+hb])
	switch {
	case err != nil:
	case n == 0:
		err = ErrFrameEmpty
	case n > fr.maxMsg:
		err = ErrFrameTooLarge
	}
	if err != nil {
		fr.err = err
		return nil, false, err
	}
	if fr.end-fr.start < hb+n {
		return nil, false, nil
	}
	frame = fr.buf[fr.start+hb : fr.start+hb+n : fr.start+hb+n]
	fr.start += hb + n
	return frame, true, nil
}

// pending is the number of bytes buffered and not yet handed out: part of
// a frame when buffered has just returned ok false.
func (fr *FrameReader) pending() int { return fr.end - fr.start }

// readOnce makes room and calls the underlying reader once. Frames handed
// out before are no longer valid afterwards. Room means: the buffer is
// reset when it is empty; the partial frame at its end is moved to the
// front when it would not fit or little room is left behind it; and a
// growable buffer doubles when the last read filled it (more was waiting)
// or a frame longer than the buffer has begun. It returns nil when bytes
// arrived (an error that came with them comes back on the next call, as
// io.Reader promises), and the reader's error otherwise.
func (fr *FrameReader) readOnce() error {
	if fr.err != nil {
		return fr.err
	}
	hb := fr.framing.headerBytes()
	need := hb // the bytes the frame under way needs in all
	if fr.end-fr.start >= hb {
		if n, err := fr.framing.decodeHeader(fr.buf[fr.start : fr.start+hb]); err == nil {
			need = hb + n
		}
	}
	if fr.grow && len(fr.buf) < fr.limit() && (fr.filled || need > len(fr.buf)) {
		size := min(max(2*len(fr.buf), need), fr.limit())
		nb := make([]byte, size)
		fr.end = copy(nb, fr.buf[fr.start:fr.end])
		fr.start = 0
		fr.buf = nb
	} else if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	} else if fr.start+need > len(fr.buf) || len(fr.buf)-fr.end < len(fr.buf)/4 {
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	for empty := 0; ; {
		room := len(fr.buf) - fr.end
		n, err := fr.r.Read(fr.buf[fr.end:])
		if n < 0 || n > room {
			fr.err = errors.New("iso: reader returned an invalid count")
			return fr.err
		}
		fr.end += n
		fr.filled = n == room
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if empty++; empty >= maxEmptyReads {
			return io.ErrNoProgress
		}
	}
}

// limit is the largest a growable buffer gets: big enough for the largest
// frame, and for many pipelined ones.
func (fr *FrameReader) limit() int {
	return max(connReadBufferBytesMax, fr.framing.headerBytes()+fr.maxMsg)
}

// WriteFrame writes the length header for msg followed by msg. Unless w is a
// *bufio.Writer (which already gathers small writes), the header and the
// message go out in a single Write call, so a frame is never split between
// two writes on an unbuffered connection.
func WriteFrame(w io.Writer, f Framing, msg []byte) error {
	if !f.valid() {
		return fmt.Errorf("iso: write frame: unknown framing %d", uint8(f))
	}
	if len(msg) == 0 {
		return ErrFrameEmpty
	}
	if len(msg) > f.maxMessageBytes() {
		return ErrFrameTooLarge
	}
	var hdr [4]byte
	hb := f.headerBytes()
	f.putHeader(hdr[:hb], len(msg))
	if bw, ok := w.(*bufio.Writer); ok {
		// Byte by byte, because handing hdr to bw.Write would make it
		// escape (Write may pass it on to the underlying writer) and cost
		// an allocation per reply on the server's write path.
		for _, c := range hdr[:hb] {
			if err := bw.WriteByte(c); err != nil {
				return err
			}
		}
		_, err := bw.Write(msg)
		return err
	}
	var b bytes.Buffer
	b.Grow(hb + len(msg))
	b.Write(hdr[:hb])
	b.Write(msg)
	_, err := w.Write(b.Bytes())
	return err
}
