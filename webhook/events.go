package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/store"
)

// storedEvent is model.Event as the ledger writes it, with its data kept raw.
type storedEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt int64           `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

func envelopeOf(raw []byte) (Envelope, error) {
	var ev storedEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Envelope{}, fmt.Errorf("webhook: corrupt event record: %w", err)
	}
	if len(ev.Data) == 0 {
		ev.Data = json.RawMessage("null")
	}
	return Envelope{ID: ev.ID, Object: "event", Type: ev.Type, CreatedAt: ev.CreatedAt, Data: ev.Data}, nil
}

// GetEvent reads one event from the ledger's event log.
func GetEvent(db *store.DB, id string) (Envelope, error) {
	raw, err := db.Get(store.EventKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Envelope{}, ErrEventNotFound
	}
	if err != nil {
		return Envelope{}, err
	}
	return envelopeOf(raw)
}

// ListEvents pages through the event log newest first, only events of type
// typ when it is not empty (through the ledger's type index). An unknown
// type is an *InputError on param "type".
func ListEvents(db *store.DB, typ string, limit int, cursor string) (Page[Envelope], error) {
	var p Page[Envelope]
	var innerErr error
	if typ == "" {
		err := db.Scan(store.EventsPrefix, cursor, true, func(_, v []byte) bool {
			if len(p.Items) == limit {
				p.HasMore = true
				return false
			}
			env, err := envelopeOf(v)
			if err != nil {
				innerErr = err
				return false
			}
			p.Items = append(p.Items, env)
			return true
		})
		if err == nil {
			err = innerErr
		}
		if p.HasMore {
			p.Cursor = p.Items[len(p.Items)-1].ID
		}
		return p, err
	}
	if !KnownEventType(typ) {
		return p, &InputError{Param: "type", Message: fmt.Sprintf("%q is not an event type", typ)}
	}
	prefix := store.EventByTypeKey(typ, "")
	err := db.Scan(prefix, cursor, true, func(k, _ []byte) bool {
		if len(p.Items) == limit {
			p.HasMore = true
			return false
		}
		env, err := GetEvent(db, string(bytes.TrimPrefix(k, prefix)))
		if errors.Is(err, ErrEventNotFound) {
			return true // an index entry without its event: skip it
		}
		if err != nil {
			innerErr = err
			return false
		}
		p.Items = append(p.Items, env)
		return true
	})
	if err == nil {
		err = innerErr
	}
	if p.HasMore {
		p.Cursor = p.Items[len(p.Items)-1].ID
	}
	return p, err
}

// envelopeBody returns the delivery body of a stored event (the Envelope's
// JSON encoding) and its type. The ledger stores an event as the JSON of
// {id, type, createdAt, data}; when the record is in exactly that compact
// form, with plain ASCII in its strings, the envelope is spliced from it,
// which is byte for byte what json.Marshal gives for the Envelope and
// saves decoding and encoding data. Any other record takes the general
// path.
func envelopeBody(raw []byte) (body []byte, typ string, err error) {
	if body, typ, ok := spliceEnvelope(raw); ok {
		return body, typ, nil
	}
	env, err := envelopeOf(raw)
	if err != nil {
		return nil, "", err
	}
	body, err = json.Marshal(env)
	return body, env.Type, err
}

func spliceEnvelope(raw []byte) (body []byte, typ string, ok bool) {
	rest, ok := bytes.CutPrefix(raw, []byte(`{"id":"`))
	if !ok {
		return nil, "", false
	}
	id, rest, ok := cutPlainString(rest)
	if !ok {
		return nil, "", false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"type":"`)); !ok {
		return nil, "", false
	}
	t, rest, ok := cutPlainString(rest)
	if !ok {
		return nil, "", false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"createdAt":`)); !ok {
		return nil, "", false
	}
	n := 0
	if n < len(rest) && rest[n] == '-' {
		n++
	}
	digits := n
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == digits || n-digits > 19 || (rest[digits] == '0' && n-digits > 1) {
		return nil, "", false
	}
	createdAt := rest[:n]
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(`,"data":`)); !ok {
		return nil, "", false
	}
	data, ok := bytes.CutSuffix(rest, []byte("}"))
	if !ok || !plainCompactJSON(data) {
		return nil, "", false
	}
	body = make([]byte, 0, len(raw)+len(`,"object":"event"`))
	body = append(body, `{"id":"`...)
	body = append(body, id...)
	body = append(body, `","object":"event","type":"`...)
	body = append(body, t...)
	body = append(body, `","createdAt":`...)
	body = append(body, createdAt...)
	body = append(body, `,"data":`...)
	body = append(body, data...)
	body = append(body, '}')
	return body, string(t), true
}

// cutPlainString cuts a JSON string's contents up to its closing quote,
// when they are printable ASCII that JSON encodes as is.
func cutPlainString(b []byte) (s, rest []byte, ok bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return b[:i], b[i+1:], i > 0
		case c < 0x20 || c >= 0x7f || c == '\\' || c == '<' || c == '>' || c == '&':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// plainCompactJSON reports whether b, taken as one JSON value, has no
// white space outside strings and only ASCII that json.Marshal leaves as
// is (so re-encoding it would not change a byte). It checks the value's
// form, not its validity: the ledger wrote it with json.Marshal.
func plainCompactJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	inString, escaped := false, false
	for _, c := range b {
		if c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c <= ' '):
			return false
		}
	}
	return !inString
}
