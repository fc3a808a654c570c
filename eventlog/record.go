package eventlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/internal/binrec"
)

// Stored forms. A record written as JSON (by earlier versions) starts with
// '{'; a binary record starts with formatBinary, then the creation time
// (varint), the type code (and the type's name when the code is 0) and a
// data kind: dataJSON (the rest of the record is the data as JSON) or
// dataTxn (a TxnPayload's fields, see appendTxnFields).
const (
	formatBinary byte = 0x01
	dataJSON     byte = 'j'
	dataTxn      byte = 't'
)

// ErrCorrupt is returned for a record that does not decode.
var ErrCorrupt = errors.New("eventlog: corrupt event record")

// Record is a stored event as its readers need it.
type Record struct {
	// ID is the event's ID: the key's for a binary record, the one inside
	// the record for a JSON record (verify compares the two).
	ID        string
	Type      string
	CreatedAt int64
	// Data is the payload as compact JSON, "null" when there is none.
	Data json.RawMessage
}

// AppendJSON appends the stored form of an event whose data is encoded as
// JSON (any value encoding/json accepts).
func AppendJSON(dst []byte, createdAt int64, typ string, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return dst, fmt.Errorf("eventlog: %s data: %w", typ, err)
	}
	dst = appendHeader(dst, createdAt, typ)
	dst = append(dst, dataJSON)
	return append(dst, raw...), nil
}

// AppendTxn appends the stored form of a transaction event.
func AppendTxn(dst []byte, createdAt int64, typ string, p *TxnPayload) []byte {
	dst = appendHeader(dst, createdAt, typ)
	dst = append(dst, dataTxn)
	return p.appendFields(dst)
}

func appendHeader(dst []byte, createdAt int64, typ string) []byte {
	dst = append(dst, formatBinary)
	dst = binary.AppendVarint(dst, createdAt)
	code := typeCodes[typ]
	dst = append(dst, code)
	if code == 0 {
		dst = appendString(dst, typ)
	}
	return dst
}

// Decode reads the record stored under the event ID id. The Record shares
// no memory with raw.
func Decode(id string, raw []byte) (Record, error) {
	if len(raw) > 0 && raw[0] == '{' {
		return decodeJSON(raw)
	}
	r := binrec.NewReader(raw)
	if r.Byte() != formatBinary {
		return Record{}, ErrCorrupt
	}
	rec := Record{ID: id, CreatedAt: r.Varint()}
	code := r.Byte()
	if code == 0 {
		rec.Type = r.String()
	} else if rec.Type = typeNames[code]; rec.Type == "" {
		return Record{}, ErrCorrupt
	}
	switch r.Byte() {
	case dataJSON:
		if r.Failed() || !json.Valid(r.Rest()) {
			return Record{}, ErrCorrupt
		}
		// A copy: callers decode straight from a store iterator, whose
		// value is only valid until it moves.
		rec.Data = bytes.Clone(r.Rest())
	case dataTxn:
		var p TxnPayload
		if !p.readFields(&r) || r.Failed() || r.Len() != 0 {
			return Record{}, ErrCorrupt
		}
		rec.Data = p.AppendJSON(nil)
	default:
		return Record{}, ErrCorrupt
	}
	if r.Failed() || rec.Type == "" {
		return Record{}, ErrCorrupt
	}
	return rec, nil
}

func decodeJSON(raw []byte) (Record, error) {
	var ev struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		CreatedAt int64           `json:"createdAt"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Type == "" {
		return Record{}, ErrCorrupt
	}
	if len(ev.Data) == 0 {
		ev.Data = json.RawMessage("null")
	}
	return Record{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Data: ev.Data}, nil
}

// AppendEnvelope appends the event as the API and webhook deliveries show
// it: {"id","object":"event","type","createdAt","data"}, byte for byte what
// encoding/json gives for that envelope.
func (r *Record) AppendEnvelope(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"object":"event","type":`...)
	dst = appendJSONString(dst, r.Type)
	dst = append(dst, `,"createdAt":`...)
	dst = appendInt(dst, r.CreatedAt)
	dst = append(dst, `,"data":`...)
	if len(r.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.Data...)
	}
	return append(dst, '}')
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
