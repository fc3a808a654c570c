package webhook

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// The spliced envelope must be exactly what json.Marshal makes of the
// Envelope, and records it cannot splice must take the general path.
func TestEnvelopeBodyMatchesMarshal(t *testing.T) {
	datas := []any{
		nil,
		map[string]any{"cardId": "card_1", "amount": 100, "ok": true, "list": []any{1, "two", nil}},
		map[string]any{"merchantName": `Café "Zoë" <b> & co`, "note": "tab\there\nline"},
		map[string]any{"s": "\u2028 and \u2029", "emoji": "🙂", "bad": string([]byte{0xff, 0xfe})},
		map[string]any{"nested": map[string]any{"a": map[string]any{"b": []any{}}}, "empty": ""},
		"just a string", 12.5, []any{}, map[string]any{"esc": `back\slash "quoted"`},
	}
	spliced := 0
	for i, data := range datas {
		for _, id := range []string{"evt_01kjmma2g00001sjmmnmj0", `evt_"odd"`, "evt_<x>"} {
			raw, err := json.Marshal(model.Event{ID: id, Type: model.EvtCardCreated, CreatedAt: int64(i) * 1_772_366_400_000, Data: data})
			require.NoError(t, err)
			env, err := envelopeOf(raw)
			require.NoError(t, err)
			want, err := json.Marshal(env)
			require.NoError(t, err)
			got, typ, err := envelopeBody(raw)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "data %d id %s", i, id)
			require.Equal(t, model.EvtCardCreated, typ)
			if _, _, ok := spliceEnvelope(raw); ok {
				spliced++
			}
		}
	}
	require.Greater(t, spliced, 5, "the common records take the fast path")

	// Other forms than json.Marshal's take the general path, or fail as it
	// does.
	for _, raw := range []string{
		`{"id":"evt_1","type":"card.created","createdAt":5,"data": {"a":1}}`,
		`{"type":"card.created","id":"evt_1","createdAt":5,"data":{}}`,
		`{"id":"evt_1","type":"card.created","createdAt":5,"data":{"a":1}}` + "\n",
		`{"id":"evt_1","type":"card.created","createdAt":05,"data":{}}`,
		`{"id":"evt_1","type":"card.created","createdAt":5,"data":{"a":"<"}}`,
		`{"id":"evt_1","type":"card.created","createdAt":5,"data":{"a":"x y"}}`,
	} {
		got, _, err := envelopeBody([]byte(raw))
		env, err2 := envelopeOf([]byte(raw))
		if err2 != nil {
			require.Error(t, err, raw)
			continue
		}
		require.NoError(t, err, raw)
		want, _ := json.Marshal(env)
		require.Equal(t, string(want), string(got), raw)
	}
	_, _, err := envelopeBody([]byte(`{"id":"evt_1"`))
	require.Error(t, err)
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
