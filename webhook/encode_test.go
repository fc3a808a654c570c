package webhook

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/model"
)

// The delivery body must be exactly what json.Marshal makes of the
// Envelope, for every stored form: the ledger's binary records (JSON data
// or a transaction payload) and the JSON records of earlier versions.
func TestEnvelopeBodyMatchesMarshal(t *testing.T) {
	datas := []any{
		nil,
		map[string]any{"cardId": "card_1", "amount": 100, "ok": true, "list": []any{1, "two", nil}},
		map[string]any{"merchantName": `Café "Zoë" <b> & co`, "note": "tab\there\nline"},
		map[string]any{"s": "\u2028 and \u2029", "emoji": "🙂", "bad": string([]byte{0xff, 0xfe})},
		map[string]any{"nested": map[string]any{"a": map[string]any{"b": []any{}}}, "empty": ""},
		"just a string", 12.5, []any{}, map[string]any{"esc": `back\slash "quoted"`},
	}
	txn := eventlog.TxnPayload{TransactionID: "txn_1", CardID: "card_1", AgentID: "agent_1", UserID: "user_1",
		Amount: 4250, AuthorizedAmount: 4250, Currency: "USD", MerchantName: `Café "<Zoë>"`, MCC: "5812", Status: "pending"}
	for i, data := range datas {
		for _, id := range []string{"evt_01kjmma2g00001sjmmnmj0", `evt_"odd"`, "evt_<x>"} {
			createdAt := int64(i) * 1_772_366_400_000
			legacy, err := json.Marshal(model.Event{ID: id, Type: model.EvtCardCreated, CreatedAt: createdAt, Data: data})
			require.NoError(t, err)
			binJSON, err := eventlog.AppendJSON(nil, createdAt, model.EvtCardCreated, data)
			require.NoError(t, err)
			for form, raw := range map[string][]byte{"legacy JSON": legacy, "binary, JSON data": binJSON} {
				env, err := envelopeOf(id, raw)
				require.NoError(t, err)
				want, err := json.Marshal(env)
				require.NoError(t, err)
				got, typ, err := envelopeBody(id, raw)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "%s: data %d id %s", form, i, id)
				require.Equal(t, model.EvtCardCreated, typ)
			}
		}
	}
	raw := eventlog.AppendTxn(nil, 7, model.EvtTxnAuthorized, &txn)
	env, err := envelopeOf("evt_1", raw)
	require.NoError(t, err)
	want, err := json.Marshal(env)
	require.NoError(t, err)
	got, typ, err := envelopeBody("evt_1", raw)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.Equal(t, model.EvtTxnAuthorized, typ)
	wantData, err := json.Marshal(txn.Map())
	require.NoError(t, err)
	require.JSONEq(t, string(wantData), string(env.Data))

	for _, bad := range []string{`{"id":"evt_1"`, "", "\x02garbage"} {
		_, _, err := envelopeBody("evt_1", []byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func TestQueueRecordRoundTrip(t *testing.T) {
	for _, q := range []queued{
		{WebhookID: "whk_1", EventID: "evt_1", EventType: model.EvtCardCreated, Body: []byte(`{"id":"evt_1"}`),
			Attempts: 3, NextAttemptAt: 1772366410000, EnqueuedAt: 1772366400000},
		{WebhookID: "whk_2", EventID: "evt_2", EventType: EventTest, Body: []byte(`{}`)},
		{NextAttemptAt: -1, Body: []byte("null")},
	} {
		var got queued
		require.NoError(t, decodeQueued(q.appendRecord(nil), &got))
		require.Equal(t, q, got)

		// The JSON form of earlier versions is still read.
		raw, err := json.Marshal(q)
		require.NoError(t, err)
		got = queued{}
		require.NoError(t, decodeQueued(raw, &got))
		require.Equal(t, q.EventID, got.EventID)
		require.Equal(t, q.NextAttemptAt, got.NextAttemptAt)
	}
	rec := (&queued{WebhookID: "whk_1", EventID: "evt_1", EventType: "t", Body: []byte("{}")}).appendRecord(nil)
	for i := range len(rec) - 2 {
		var q queued
		_ = decodeQueued(rec[:i], &q) // must not panic
	}
	require.Error(t, decodeQueued(nil, &queued{}))
	require.Error(t, decodeQueued([]byte{9, 1, 2}, &queued{}))
}

func TestDeliveryJSONMatchesMarshal(t *testing.T) {
	for _, d := range []Delivery{
		{ID: "whd_1", WebhookID: "whk_1", EventID: "evt_1", EventType: model.EvtCardCreated, Attempt: 1,
			Status: DeliverySucceeded, StatusCode: 200, LatencyMs: 3, AttemptedAt: 1772366400000, DeliveredAt: 1772366400001},
		{ID: "whd_2", WebhookID: "whk_1", EventID: "evt_1", EventType: EventTest, Attempt: 10, Status: DeliveryFailed,
			Error: `dial tcp 127.0.0.1:1: connect: "refused" <&> ` + "\t\u2028é\xff", AttemptedAt: 1, NextAttemptAt: 2},
		{ID: "whd_3", LatencyMs: -1, StatusCode: 0, Error: "receiver answered HTTP 500"},
		{},
	} {
		want, err := json.Marshal(d)
		require.NoError(t, err)
		require.Equal(t, string(want), string(d.appendJSON(nil)))
	}
}
