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
