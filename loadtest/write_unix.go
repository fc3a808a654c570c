//go:build unix

package loadtest

import (
	"errors"
	"net"
	"syscall"
)

// errWouldBlock means the kernel took nothing: the socket's send buffer is
// full. The bytes stay queued and are tried again at the next tick.
var errWouldBlock = errors.New("loadtest: write would block")

// rawWriter writes to a TCP connection without ever waiting. The clock
// goroutine writes to every connection in turn, so one connection whose
// server stopped reading must not hold the others up; and a write that
// cannot block needs no deadline, which net.Conn would otherwise arm and
// disarm around every write.
type rawWriter struct {
	rc syscall.RawConn
	nc net.Conn  // fallback when the connection exposes no descriptor
	op *rawWrite // reused, so that a write allocates nothing
}

// rawWrite is one write's state; fn is its do method, bound once.
type rawWrite struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func (o *rawWrite) do(fd uintptr) bool {
	for {
		o.n, o.err = syscall.Write(int(fd), o.b)
		if o.err != syscall.EINTR {
			// Done either way: returning true keeps the runtime from
			// parking the goroutine until the socket is writable.
			return true
		}
	}
}

func newRawWriter(nc net.Conn) rawWriter {
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			op := &rawWrite{}
			op.fn = op.do
			return rawWriter{rc: rc, op: op}
		}
	}
	return rawWriter{nc: nc}
}

// write writes what the kernel takes of b at once and returns how much it
// took; errWouldBlock when it took nothing. Not safe for concurrent use.
func (w rawWriter) write(b []byte) (int, error) {
	if w.rc == nil {
		return w.nc.Write(b)
	}
	o := w.op
	o.b = b
	err := w.rc.Write(o.fn)
	n, werr := o.n, o.err
	o.b, o.n, o.err = nil, 0, nil
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN || (werr == nil && n == 0) {
		return n, errWouldBlock
	}
	return n, werr
}
