//go:build !unix

package loadtest

import (
	"errors"
	"net"
)

var errWouldBlock = errors.New("loadtest: write would block")

// rawWriter falls back to the connection's blocking Write where raw
// non-blocking writes are not available.
type rawWriter struct{ nc net.Conn }

func newRawWriter(nc net.Conn) rawWriter { return rawWriter{nc: nc} }

func (w rawWriter) write(b []byte) (int, error) { return w.nc.Write(b) }
