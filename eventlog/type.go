package eventlog

import "github.com/ledgersim/ledgersim/internal/binrec"

// TypeOf reads only the type of a stored event: a restart indexes every
// event by type, and a binary record's type sits in its header, so the
// payload is neither checked nor decoded. A record written as JSON by an
// earlier version is decoded whole.
func TypeOf(raw []byte) (string, error) {
	if len(raw) > 0 && raw[0] == '{' {
		rec, err := decodeJSON(raw)
		return rec.Type, err
	}
	r := binrec.NewReader(raw)
	if r.Byte() != formatBinary {
		return "", ErrCorrupt
	}
	r.Varint()
	code := r.Byte()
	typ := typeNames[code]
	if code == 0 {
		typ = r.String()
	}
	if r.Failed() || typ == "" {
		return "", ErrCorrupt
	}
	return typ, nil
}
