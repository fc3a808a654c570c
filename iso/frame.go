package iso

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Framing selects the length header that precedes every message on the
// wire, and the transport header that some networks put between the length
// and the message. The length header counts the bytes that follow it,
// itself excluded and the transport header included.
type Framing uint8

const (
	// Binary2 is a 2-byte unsigned big-endian length (the default, and the
	// zero value). It can describe messages of up to 65535 bytes.
	Binary2 Framing = iota
	// ASCII4 is a length written as 4 ASCII decimal digits, e.g. "0187". It
	// can describe messages of up to 9999 bytes.
	ASCII4
	// Binary4 is a 4-byte unsigned big-endian length. The header could
	// describe 4 GiB; messages are held to maxBinary4MessageBytes.
	Binary4
	// Binary2TPDU is a 2-byte unsigned big-endian length followed by a
	// 5-byte TPDU (see TPDU); the length covers the TPDU and the message.
	// A reply carries its request's TPDU with destination and source
	// swapped.
	Binary2TPDU
)

// maxBinary4MessageBytes bounds the length a Binary4 header may announce.
// Nothing in the profile comes near it; it keeps a server's read buffer,
// which must hold a whole frame, within reason whatever MaxFrameBytes says.
const maxBinary4MessageBytes = 1 << 20

// String returns the name ParseFraming accepts.
func (f Framing) String() string {
	switch f {
	case Binary2:
		return "binary2"
	case ASCII4:
		return "ascii4"
	case Binary4:
		return "binary4"
	case Binary2TPDU:
		return "binary2-tpdu"
	default:
		return fmt.Sprintf("Framing(%d)", uint8(f))
	}
}

// FramingNames lists the names ParseFraming accepts, for flag help.
const FramingNames = "binary2, ascii4, binary4 or binary2-tpdu"

// ParseFraming turns a flag value ("binary2", "ascii4", "binary4" or
// "binary2-tpdu") into a Framing.
func ParseFraming(s string) (Framing, error) {
	switch s {
	case "binary2":
		return Binary2, nil
	case "ascii4":
		return ASCII4, nil
	case "binary4":
		return Binary4, nil
	case "binary2-tpdu":
		return Binary2TPDU, nil
	default:
		return 0, fmt.Errorf("iso: unknown framing %q (want %s)", s, FramingNames)
	}
}

// Valid reports whether f is one of the framings above.
func (f Framing) Valid() bool { return f <= Binary2TPDU }

// LengthBytes is the size of the length header.
func (f Framing) LengthBytes() int {
	switch f {
	case ASCII4, Binary4:
		return 4
	default:
		return 2
	}
}

// TPDUBytes is the size of the transport header between the length and the
// message: TPDUSize for Binary2TPDU, 0 otherwise.
func (f Framing) TPDUBytes() int {
	if f == Binary2TPDU {
		return TPDUSize
	}
	return 0
}

// headerBytes is the size of the length header.
func (f Framing) headerBytes() int { return f.LengthBytes() }

// maxMessageBytes is the largest length the header can express (or, for
// Binary4, is allowed to), the TPDU included.
func (f Framing) maxMessageBytes() int {
	switch f {
	case ASCII4:
		return 9999
	case Binary4:
		return maxBinary4MessageBytes
	default:
		return 0xFFFF
	}
}

// putHeader writes the header for n bytes into dst, which must hold
// headerBytes bytes; n must already be within maxMessageBytes.
func (f Framing) putHeader(dst []byte, n int) {
	switch f {
	case ASCII4:
		for i := 3; i >= 0; i-- {
			dst[i] = byte('0' + n%10)
			n /= 10
		}
	case Binary4:
		binary.BigEndian.PutUint32(dst, uint32(n)) // #nosec G115 -- n <= maxBinary4MessageBytes, checked by the caller.
	default:
		binary.BigEndian.PutUint16(dst, uint16(n)) // #nosec G115 -- n <= 0xFFFF, checked by the caller.
	}
}

// decodeHeader reads the length from a header of headerBytes bytes. A
// Binary4 length too large for an int on this platform comes back as the
// largest int, which every size check rejects.
func (f Framing) decodeHeader(h []byte) (int, error) {
	switch f {
	case ASCII4:
		n := 0
		for _, c := range h[:4] {
			if c < '0' || c > '9' {
				return 0, ErrBadLengthHeader
			}
			n = n*10 + int(c-'0')
		}
		return n, nil
	case Binary4:
		v := binary.BigEndian.Uint32(h[:4])
		if uint64(v) > uint64(math.MaxInt) {
			return math.MaxInt, nil
		}
		return int(v), nil
	default:
		return int(binary.BigEndian.Uint16(h[:2])), nil
	}
}

// FrameLength decodes a length header of LengthBytes bytes: the number of
// bytes that follow it, the TPDU included. It returns ErrBadLengthHeader
// for an ASCII4 header that is not 4 digits.
func (f Framing) FrameLength(h []byte) (int, error) {
	if len(h) < f.LengthBytes() {
		return 0, ErrBadLengthHeader
	}
	return f.decodeHeader(h)
}

// checkLength says whether a frame of n bytes after the length header can
// be taken, for a reader accepting maxMsg: the errors a FrameReader
// returns for a bad header.
func (f Framing) checkLength(n, maxMsg int) error {
	switch {
	case n == 0:
		return ErrFrameEmpty
	case n < f.TPDUBytes():
		return ErrShortTPDU
	case n == f.TPDUBytes():
		return ErrFrameEmpty // a TPDU and no message
	case n > maxMsg:
		return ErrFrameTooLarge
	}
	return nil
}

// TPDUSize is the size of a TPDU.
const TPDUSize = 5

// TPDUIDTransaction is the TPDU ID byte of a transaction message.
const TPDUIDTransaction = 0x60

// TPDU is the transport protocol data unit some networks put between the
// length header and the message: a 1-byte ID (0x60), a 2-byte destination
// address and a 2-byte source address. A host answers with the request's
// TPDU, destination and source swapped (Reply); it does not interpret the
// addresses, nor the ID, which it echoes as received.
type TPDU [TPDUSize]byte

// NewTPDU returns a TPDU with ID 0x60 and the given addresses.
func NewTPDU(destination, source uint16) TPDU {
	return TPDU{TPDUIDTransaction, byte(destination >> 8), byte(destination), byte(source >> 8), byte(source)}
}

// Destination is the 2-byte destination address.
func (t TPDU) Destination() uint16 { return binary.BigEndian.Uint16(t[1:3]) }

// Source is the 2-byte source address.
func (t TPDU) Source() uint16 { return binary.BigEndian.Uint16(t[3:5]) }

// Reply returns the TPDU of the reply to a message that carried t: the
// same ID, destination and source swapped.
func (t TPDU) Reply() TPDU {
	return TPDU{t[0], t[3], t[4], t[1], t[2]}
}

// DefaultTPDU is the TPDU WriteFrame sends with Binary2TPDU framing:
// ID 0x60, destination 0x0001, source 0x0000.
var DefaultTPDU = NewTPDU(1, 0)

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
	// ErrShortTPDU means a Binary2TPDU length header announced fewer
	// bytes than a TPDU takes.
	ErrShortTPDU = errors.New("iso: frame shorter than its TPDU")
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
	// tpdu is the TPDU of the frame last handed out (Binary2TPDU).
	tpdu TPDU
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

// Next returns the next message, without its length header (nor its TPDU,
// which TPDU returns until the next call). The slice
// aliases the reader's buffer and is valid only until the next call to Next;
// copy it to keep it.
//
// Next returns io.EOF when the stream ends cleanly between frames,
// io.ErrUnexpectedEOF when it ends inside a frame, ErrFrameTooLarge,
// ErrFrameEmpty, ErrBadLengthHeader or ErrShortTPDU for a bad header, and
// otherwise the
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
	n, err := fr.length(hb)
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
	return fr.cut(hb, n), nil
}

// length decodes and checks the length header at start.
func (fr *FrameReader) length(hb int) (int, error) {
	n, err := fr.framing.decodeHeader(fr.buf[fr.start : fr.start+hb])
	if err != nil {
		return 0, err
	}
	return n, fr.framing.checkLength(n, fr.maxMsg)
}

// cut hands out the frame at start, whose n bytes are buffered behind its
// length header, and moves past it. A TPDU is kept for TPDU and left out
// of the frame.
func (fr *FrameReader) cut(hb, n int) []byte {
	body := fr.buf[fr.start+hb : fr.start+hb+n : fr.start+hb+n]
	fr.start += hb + n
	if tb := fr.framing.TPDUBytes(); tb > 0 {
		copy(fr.tpdu[:], body[:tb])
		body = body[tb:]
	}
	return body
}

// TPDU returns the TPDU of the frame Next last returned, with Binary2TPDU
// framing; with any other framing it is the zero TPDU.
func (fr *FrameReader) TPDU() TPDU { return fr.tpdu }

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
	n, err := fr.length(hb)
	if err != nil {
		fr.err = err
		return nil, false, err
	}
	if fr.end-fr.start < hb+n {
		return nil, false, nil
	}
	return fr.cut(hb, n), true, nil
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
		if n, err := fr.length(hb); err == nil {
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

// WriteFrame writes the length header for msg followed by msg; with
// Binary2TPDU framing, DefaultTPDU goes between them (WriteFrameTPDU
// chooses it). Unless w is a *bufio.Writer (which already gathers small
// writes), the frame goes out in a single Write call, so it is never split
// between two writes on an unbuffered connection.
func WriteFrame(w io.Writer, f Framing, msg []byte) error {
	return WriteFrameTPDU(w, f, DefaultTPDU, msg)
}

// WriteFrameTPDU is WriteFrame with the TPDU to send, which framings other
// than Binary2TPDU ignore.
func WriteFrameTPDU(w io.Writer, f Framing, t TPDU, msg []byte) error {
	if err := checkWrite(f, msg); err != nil {
		return err
	}
	var hdr [4 + TPDUSize]byte
	hb := f.headerBytes()
	f.putHeader(hdr[:hb], len(msg)+f.TPDUBytes())
	hb += copy(hdr[hb:hb+f.TPDUBytes()], t[:])
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

// AppendFrame appends to dst the frame WriteFrameTPDU would write.
func AppendFrame(dst []byte, f Framing, t TPDU, msg []byte) ([]byte, error) {
	if err := checkWrite(f, msg); err != nil {
		return dst, err
	}
	at := len(dst)
	hb := f.headerBytes()
	var room [4]byte
	dst = append(dst, room[:hb]...)
	f.putHeader(dst[at:at+hb], len(msg)+f.TPDUBytes())
	dst = append(dst, t[:f.TPDUBytes()]...)
	return append(dst, msg...), nil
}

// checkWrite rejects a frame no reader would accept.
func checkWrite(f Framing, msg []byte) error {
	if !f.Valid() {
		return fmt.Errorf("iso: write frame: unknown framing %d", uint8(f))
	}
	if len(msg) == 0 {
		return ErrFrameEmpty
	}
	if len(msg)+f.TPDUBytes() > f.maxMessageBytes() {
		return ErrFrameTooLarge
	}
	return nil
}
