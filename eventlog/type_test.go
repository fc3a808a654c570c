package eventlog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestTypeOfReadsWhatDecodeReads: the type read from the header alone is
// Decode's, for every stored form; what Decode refuses for its header,
// TypeOf refuses too.
func TestTypeOfReadsWhatDecodeReads(t *testing.T) {
	p := authorized()
	uncoded, err := AppendJSON(nil, 5, "some.future_type", map[string]int{"a": 1})
	require.NoError(t, err)
	coded, err := AppendJSON(nil, 5, model.EvtCardCreated, map[string]string{"cardId": "card_1"})
	require.NoError(t, err)
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"binary transaction", AppendTxn(nil, 1, model.EvtTxnDeclined, &p), model.EvtTxnDeclined},
		{"binary JSON data", coded, model.EvtCardCreated},
		{"a type without a code", uncoded, "some.future_type"},
		{"JSON of an earlier version", []byte(`{"id":"evt_1","type":"user.approved","createdAt":1,"data":{}}`), model.EvtUserApproved},
		{"empty", nil, ""},
		{"unknown format", []byte{0x02, 0x02, 21}, ""},
		{"unknown code", []byte{formatBinary, 0x02, 250, dataJSON, '{', '}'}, ""},
		{"cut in the header", []byte{formatBinary, 0x02}, ""},
		{"cut in the type's name", uncoded[:5], ""},
		{"JSON without a type", []byte(`{"id":"evt_1"}`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TypeOf(tc.raw)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrCorrupt)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			rec, err := Decode("evt_1", tc.raw)
			require.NoError(t, err)
			require.Equal(t, rec.Type, got)
		})
	}
}
