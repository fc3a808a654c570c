package webhook

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

func envelopeOf(id string, raw []byte) (Envelope, error) {
	rec, err := eventlog.Decode(id, raw)
	if err != nil {
		return Envelope{}, fmt.Errorf("webhook: event %s: %w", id, err)
	}
	return Envelope{ID: rec.ID, Object: "event", Type: rec.Type, CreatedAt: rec.CreatedAt, Data: rec.Data}, nil
}

// GetEvent reads one event from the ledger's event log.
func GetEvent(db *store.DB, id string) (Envelope, error) {
	raw, err := db.Get(keyspace.EventKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Envelope{}, ErrEventNotFound
	}
	if err != nil {
		return Envelope{}, err
	}
	return envelopeOf(id, raw)
}

// EventIndex finds events by type. The ledger implements it, from memory:
// the store keeps no index of events by type.
type EventIndex interface {
	// EventIDsByType returns the IDs of up to limit events of typ, newest
	// first, those below cursor (an event ID; "" for the newest).
	EventIDsByType(typ, cursor string, limit int) []string
}

// ListEvents pages through the event log newest first, only events of type
// typ when it is not empty (their IDs from idx, each event then read from
// the store). An unknown type is an *InputError on param "type".
func ListEvents(db *store.DB, idx EventIndex, typ string, limit int, cursor string) (Page[Envelope], error) {
	var p Page[Envelope]
	var innerErr error
	if typ == "" {
		err := db.Scan(keyspace.EventsPrefix, cursor, true, func(k, v []byte) bool {
			if len(p.Items) == limit {
				p.HasMore = true
				return false
			}
			env, err := envelopeOf(string(bytes.TrimPrefix(k, keyspace.EventsPrefix)), v)
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
		if p.HasMore && len(p.Items) > 0 {
			p.Cursor = p.Items[len(p.Items)-1].ID
		}
		return p, err
	}
	if !KnownEventType(typ) {
		return p, &InputError{Param: "type", Message: fmt.Sprintf("%q is not an event type", typ)}
	}
	if idx == nil {
		return p, errors.New("webhook: listing events by type needs the ledger's event index")
	}
	// One ID more than the page: whether there is more is whether the
	// index has another entry, as a scan of a stored index told.
	at := cursor
ids:
	for {
		want := limit - len(p.Items) + 1
		ids := idx.EventIDsByType(typ, at, want)
		for _, id := range ids {
			if len(p.Items) >= limit {
				p.HasMore = true
				break ids
			}
			env, err := GetEvent(db, id)
			if errors.Is(err, ErrEventNotFound) {
				continue // indexed as its record became durable, not stored yet
			}
			if err != nil {
				return p, err
			}
			p.Items = append(p.Items, env)
		}
		if len(ids) < want {
			break
		}
		at = ids[len(ids)-1]
	}
	if p.HasMore && len(p.Items) > 0 {
		p.Cursor = p.Items[len(p.Items)-1].ID
	}
	return p, nil
}

// envelopeBody returns the delivery body of a stored event (the Envelope's
// JSON encoding, byte for byte what json.Marshal gives) and its type.
func envelopeBody(id string, raw []byte) (body []byte, typ string, err error) {
	rec, err := eventlog.Decode(id, raw)
	if err != nil {
		return nil, "", fmt.Errorf("webhook: event %s: %w", id, err)
	}
	return rec.AppendEnvelope(make([]byte, 0, len(rec.Data)+128)), rec.Type, nil
}
