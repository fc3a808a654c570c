package decisionlog

import (
	"encoding/binary"
	"hash/crc32"
)

// frameHeader is the bytes before a record: CRC, length, LSN.
const frameHeader = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends rec's frame to dst.
func appendFrame(dst []byte, lsn LSN, rec []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(lsn))
	dst = append(dst, rec...)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// parseHeader reads a frame header: its LSN and record length, and whether
// the length could be a record's. The CRC is checked by checkFrame once the
// record's bytes are in hand.
func parseHeader(h []byte) (lsn LSN, n int, ok bool) {
	n = int(binary.LittleEndian.Uint32(h[4:8]))
	lsn = LSN(binary.LittleEndian.Uint64(h[8:16]))
	return lsn, n, n > 0 && n <= MaxRecordBytes
}

// checkFrame reports whether frame (header and record) carries a good CRC.
func checkFrame(frame []byte) bool {
	return binary.LittleEndian.Uint32(frame[0:4]) == crc32.Checksum(frame[4:], castagnoli)
}
