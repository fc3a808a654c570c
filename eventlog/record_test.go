package eventlog

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// envelope is the API's event shape, encoded by encoding/json as the
// reference for AppendEnvelope.
type envelope struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	CreatedAt int64           `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

func authorized() TxnPayload {
	return TxnPayload{TransactionID: "txn_01JD8Z6Q4TB6V3W8XGQ2M5N7PA", CardID: "card_01JD8Z6Q4TB6V3W8XGQ2M5N7PB",
		AgentID: "agt_01JD8Z6Q4TB6V3W8XGQ2M5N7PC", UserID: "usr_01JD8Z6Q4TB6V3W8XGQ2M5N7PD", Amount: 4250,
		AuthorizedAmount: 4250, Currency: "USD", MerchantName: "OPENAI *CHATGPT SUBSCR", MCC: "5734", Status: "pending",
		AttestationStatus: model.Attested}
}

func TestTxnRecordRoundTrip(t *testing.T) {
	full := authorized()
	full.DeclinedReason, full.PostedAt, full.IntentID, full.OriginalTransactionID = "insufficient_funds", 1763700000123, "int_1", "txn_0"
	full.RequestedAmount = 6000
	odd := TxnPayload{MerchantName: "Café <Ünïcode> & \"quotes\"\n\x01\u2028 \xff", Amount: -5, Status: "declined"}
	cases := []struct {
		name string
		typ  string
		p    TxnPayload
	}{
		{"authorized", model.EvtTxnAuthorized, authorized()},
		{"every optional field", model.EvtTxnCompleted, full},
		{"empty", model.EvtTxnDeclined, TxnPayload{}},
		{"text that JSON escapes", model.EvtTxnDeclined, odd},
		{"a type without a code", "transaction.future", authorized()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := AppendTxn(nil, 1763700000000, tc.typ, &tc.p)
			rec, err := Decode("evt_1", raw)
			require.NoError(t, err)
			require.Equal(t, "evt_1", rec.ID)
			require.Equal(t, tc.typ, rec.Type)
			require.Equal(t, int64(1763700000000), rec.CreatedAt)
			want, err := json.Marshal(tc.p.Map())
			require.NoError(t, err)
			require.Equal(t, string(want), string(rec.Data), "the payload reads as encoding/json writes its map")

			env, err := json.Marshal(envelope{ID: "evt_1", Object: "event", Type: tc.typ, CreatedAt: 1763700000000, Data: want})
			require.NoError(t, err)
			require.Equal(t, string(env), string(rec.AppendEnvelope(nil)))
		})
	}
}

func TestJSONRecordRoundTrip(t *testing.T) {
	data := map[string]any{"cardId": "card_1", "status": "frozen", "nested": map[string]any{"a": []int{1, 2}}, "html": "<b>&</b>"}
	raw, err := AppendJSON(nil, 42, model.EvtCardFrozen, data)
	require.NoError(t, err)
	rec, err := Decode("evt_2", raw)
	require.NoError(t, err)
	want, _ := json.Marshal(data)
	require.Equal(t, Record{ID: "evt_2", Type: model.EvtCardFrozen, CreatedAt: 42, Data: want}, rec)

	raw, err = AppendJSON(nil, 42, model.EvtUserApproved, nil)
	require.NoError(t, err)
	rec, err = Decode("evt_3", raw)
	require.NoError(t, err)
	require.Equal(t, "null", string(rec.Data))

	_, err = AppendJSON(nil, 1, model.EvtUserApproved, map[string]any{"f": func() {}})
	require.Error(t, err, "data JSON cannot encode is refused, not stored")
}

// TestEarlierJSONRecords: records written as the JSON of model.Event before
// the binary form existed still read, their own ID included.
func TestEarlierJSONRecords(t *testing.T) {
	p := authorized()
	raw, err := json.Marshal(model.Event{ID: "evt_old", Type: model.EvtTxnAuthorized, CreatedAt: 7, Data: p.Map()})
	require.NoError(t, err)
	rec, err := Decode("evt_old", raw)
	require.NoError(t, err)
	require.Equal(t, "evt_old", rec.ID)
	require.Equal(t, model.EvtTxnAuthorized, rec.Type)
	require.Equal(t, string(p.AppendJSON(nil)), string(rec.Data), "both forms read the same")

	raw, _ = json.Marshal(model.Event{ID: "evt_moved", Type: model.EvtUserApproved, CreatedAt: 7})
	rec, err = Decode("evt_key", raw)
	require.NoError(t, err)
	require.Equal(t, "evt_moved", rec.ID, "a JSON record's own ID is reported, so a misplaced record shows")
	require.Equal(t, "null", string(rec.Data))
}

func TestCorruptRecords(t *testing.T) {
	p := authorized()
	good := AppendTxn(nil, 1763700000000, model.EvtTxnAuthorized, &p)
	jsonGood, _ := AppendJSON(nil, 5, model.EvtCardCreated, map[string]string{"cardId": "card_1"})
	// Offsets in the header: format byte, varint time, type code, data kind.
	codeAt := 1 + len(binary.AppendVarint(nil, 1763700000000))
	kindAt := 1 + len(binary.AppendVarint(nil, 5)) + 1
	cases := map[string][]byte{
		"empty":              nil,
		"unknown format":     append([]byte{0x02}, good[1:]...),
		"unknown type code":  func() []byte { b := append([]byte(nil), good...); b[codeAt] = 200; return b }(),
		"unknown data kind":  func() []byte { b := append([]byte(nil), jsonGood...); b[kindAt] = 'x'; return b }(),
		"trailing bytes":     append(append([]byte(nil), good...), 0),
		"invalid JSON data":  append(append([]byte(nil), jsonGood[:kindAt+1]...), `{"cardId":`...),
		"JSON without type":  []byte(`{"id":"evt_1","createdAt":1}`),
		"not JSON after '{'": []byte(`{not json`),
		"overlong string":    append(append([]byte(nil), good[:codeAt+2]...), 0xff, 0xff, 0x03),
	}
	for i := 1; i < len(good); i++ {
		cases["truncated to "+strconv.Itoa(i)] = good[:i]
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode("evt_1", raw)
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

// TestTxnRecordIsSmall keeps the point of the binary form: a typical
// authorization's event in well under the bytes of its JSON.
func TestTxnRecordIsSmall(t *testing.T) {
	p := authorized()
	bin := AppendTxn(nil, 1763700000000, model.EvtTxnAuthorized, &p)
	js, err := json.Marshal(model.Event{ID: "evt_01JD8Z6Q4TB6V3W8XGQ2M5N7PE", Type: model.EvtTxnAuthorized, CreatedAt: 1763700000000, Data: p.Map()})
	require.NoError(t, err)
	t.Logf("binary %d bytes, JSON %d bytes", len(bin), len(js))
	require.Less(t, len(bin)*2, len(js), "the binary record is less than half the JSON one")
}

func TestEveryCatalogueTypeHasACode(t *testing.T) {
	seen := map[byte]string{}
	for _, typ := range model.EventTypes {
		code, ok := typeCodes[typ]
		require.True(t, ok, "%s has no code", typ)
		require.NotZero(t, code)
		require.Empty(t, seen[code], "code %d used twice", code)
		seen[code] = typ
	}
}

func TestAppendTxnAllocatesNothingIntoRoom(t *testing.T) {
	p := authorized()
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() { buf = AppendTxn(buf[:0], 1, model.EvtTxnAuthorized, &p) })
	require.Zero(t, allocs)
}
