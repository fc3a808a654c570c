package ledger

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// fullTxn sets every field of a Transaction to a distinct value that is not
// zero, by reflection, so that a field added to the struct without a field
// number in txnrecord.go fails the round trip.
func fullTxn(t *testing.T) *model.Transaction {
	t.Helper()
	tx := new(model.Transaction)
	v := reflect.ValueOf(tx).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + " <é&\"\x01>")
		case reflect.Int64:
			f.SetInt(int64(i+1) * -1_000_003) // negative, to hold zigzag to it
		case reflect.Uint64:
			f.SetUint(1<<63 + uint64(i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer, reflect.Slice:
			// The annotations; set below.
		default:
			t.Fatalf("Transaction.%s has kind %s, which AppendTransaction does not encode", name, f.Kind())
		}
	}
	notes, category := "a note", ""
	tx.Notes, tx.Category, tx.Tags = &notes, &category, []string{"travel", "q3"}
	tx.Receipt = &model.Receipt{MimeType: "image/png", SizeBytes: 1234, FileName: "r.png", UploadedAt: 5}
	return tx
}

func TestTransactionRecordRoundTrip(t *testing.T) {
	full := fullTxn(t)
	typical := &model.Transaction{ID: "txn_01m95nmevt0009g1htaqz8k2pa", CardID: "card_01m95nm9ws0009g1htaqz8k2pb",
		AgentID: "agent_01m95nm9ws0009g1htaqz8k2pc", UserID: "user_01m95nm9ws0009g1htaqz8k2pd", Kind: model.KindPurchase,
		Status: model.TxnAuthorized, AmountCents: 4250, AuthorizedAmountCents: 4250, HoldCents: 4250, Currency: "USD",
		MerchantName: "OPENAI *CHATGPT SUBSCR", MerchantID: "000000000001", MerchantCity: "SAN FRANCISCO",
		MerchantCountry: "US", MCC: "5734", ResponseCode: "00", AuthorizationCode: "A1B2C3", Source: "iso", MTI: "0100",
		STAN: "000123", RRN: "000000000123", TxnTime: "1121101500", TerminalID: "TERM0001", AcquirerID: "123456",
		Fingerprint: 0xfeedfacecafebeef, AttestationStatus: model.Attested, CreatedAt: 1763700000000,
		UpdatedAt: 1763700000000, AuthorizedAt: 1763700000000, HoldExpiresAt: 1764304800000}
	for name, tx := range map[string]*model.Transaction{"every field": full, "typical": typical, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			raw, err := AppendTransaction(nil, tx)
			require.NoError(t, err)
			var got model.Transaction
			require.NoError(t, DecodeTransaction(raw, &got))
			require.Equal(t, *tx, got)
			var shared model.Transaction
			require.NoError(t, decodeTransactionShared(raw, &shared))
			require.Equal(t, *tx, shared, "decoded with its strings in one copy")
		})
	}
	raw, err := AppendTransaction(nil, typical)
	require.NoError(t, err)
	js, err := json.Marshal(typical)
	require.NoError(t, err)
	t.Logf("typical authorization: binary %d bytes, JSON %d bytes", len(raw), len(js))
	require.Less(t, len(raw)*2, len(js), "the binary record is less than half the JSON one")
}

// TestEarlierJSONTransactionRecords: records written as JSON before the
// binary form existed still read.
func TestEarlierJSONTransactionRecords(t *testing.T) {
	full := fullTxn(t)
	js, err := json.Marshal(full)
	require.NoError(t, err)
	var got model.Transaction
	require.NoError(t, DecodeTransaction(js, &got))
	require.Equal(t, *full, got)
}

func TestUnknownTransactionFieldsAreSkipped(t *testing.T) {
	tx := &model.Transaction{ID: "txn_1", AmountCents: 7}
	raw, err := AppendTransaction(nil, tx)
	require.NoError(t, err)
	// A later version's fields: a number and a string.
	raw = append(raw, 100<<1|kindVarint, 0x96, 0x01, 101<<1|kindBytes, 3, 'a', 'b', 'c')
	var got model.Transaction
	require.NoError(t, DecodeTransaction(raw, &got))
	require.Equal(t, *tx, got)
}

func TestCorruptTransactionRecords(t *testing.T) {
	good, err := AppendTransaction(nil, &model.Transaction{ID: "txn_1", MerchantName: "M", AmountCents: 300, CreatedAt: 1763700000000})
	require.NoError(t, err)
	cases := map[string][]byte{
		"empty":                      nil,
		"unknown format":             append([]byte{0x02}, good[1:]...),
		"not JSON after '{'":         []byte(`{"id":`),
		"a string field as a number": {txnFormat, tfID<<1 | kindVarint, 1},
		"a number field as a string": {txnFormat, tfAmountCents<<1 | kindBytes, 1, '1'},
		"field number 0":             {txnFormat, 0<<1 | kindBytes, 0},
		"overlong string":            {txnFormat, tfID<<1 | kindBytes, 0xff, 0x01, 'x'},
		"bad annotations":            {txnFormat, tfAnnotations<<1 | kindBytes, 1, '{'},
		"unterminated varint":        {txnFormat, tfAmountCents<<1 | kindVarint, 0x80},
	}
	for i := 2; i < len(good); i++ {
		cut := good[:i]
		var tx model.Transaction
		if DecodeTransaction(cut, &tx) == nil {
			continue // a cut between fields is a shorter record
		}
		cases["truncated to "+strconv.Itoa(i)] = cut
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			var tx model.Transaction
			require.ErrorIs(t, DecodeTransaction(raw, &tx), ErrCorruptTxn)
		})
	}
}

func TestAppendTransactionAllocatesNothingIntoRoom(t *testing.T) {
	tx := &model.Transaction{ID: "txn_1", CardID: "card_1", MerchantName: "M", AmountCents: 300, Fingerprint: 9}
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() { buf, _ = AppendTransaction(buf[:0], tx) })
	require.Zero(t, allocs)
}

// FuzzTransactionRecord: no input panics, and whatever decodes encodes and
// decodes again to the same transaction.
func FuzzTransactionRecord(f *testing.F) {
	typical, _ := AppendTransaction(nil, &model.Transaction{ID: "txn_1", Status: model.TxnAuthorized, AmountCents: 4250, Fingerprint: 3})
	f.Add(typical)
	f.Add([]byte(`{"id":"txn_1","amountCents":5,"tags":["a"]}`))
	f.Add(binary.AppendUvarint([]byte{txnFormat, 100<<1 | kindVarint}, 1<<40))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var tx model.Transaction
		if DecodeTransaction(raw, &tx) != nil {
			return
		}
		again, err := AppendTransaction(nil, &tx)
		if err != nil {
			return // annotations JSON cannot re-encode (e.g. invalid UTF-8 is replaced): not a codec bug
		}
		var back model.Transaction
		require.NoError(t, DecodeTransaction(again, &back))
		if len(tx.Tags) == 0 {
			tx.Tags = nil // an empty list and none are both left out, as in the JSON form
		}
		require.Equal(t, tx, back)
	})
}
