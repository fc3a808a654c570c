package ledger

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// authCodeV1 is how approval codes were first derived (strconv and a
// string per step); authCode must give exactly the same codes, since a
// follow-up quotes the code of an approval made before an upgrade.
func authCodeV1(txnID string) string {
	h := fnv.New64a()
	h.Write([]byte(txnID))
	s := strconv.FormatUint(h.Sum64(), 36)
	for len(s) < 6 {
		s = "0" + s
	}
	return strings.ToUpper(s[len(s)-6:])
}

func TestAuthCodeUnchanged(t *testing.T) {
	var ids model.IDGen
	now := time.UnixMilli(1_700_000_000_000)
	cases := []string{"", "x", "txn_1", "txn_0123456789abcdefghjkmn"}
	for i := 0; i < 20000; i++ {
		cases = append(cases, ids.New(model.PrefixTransaction, now.Add(time.Duration(i)*time.Millisecond)))
	}
	for _, id := range cases {
		if got, want := authCode(id), authCodeV1(id); got != want {
			t.Fatalf("authCode(%q) = %q, want %q", id, got, want)
		}
	}
}

// The decision path hashes an original's keys from their parts; the hash
// must be the one of the key built whole, which a restart (rebuilding the
// open holds from the store) and older code compute.
func TestOrigHashesMatchKeys(t *testing.T) {
	for _, c := range []struct{ card, a, b string }{
		{"", "", ""},
		{"card_01", "000123", "1121101500"},
		{"card_0123456789abcdefghjkmn", "999999", "0101000000"},
		{"c|x", "|", "a|b"},
	} {
		if got, want := origHashSTAN(c.card, c.a, c.b), refKeyHash(origKeySTAN(c.card, c.a, c.b)); got != want {
			t.Errorf("origHashSTAN(%q, %q, %q) = %x, want %x", c.card, c.a, c.b, got, want)
		}
		if got, want := origHashRRN(c.card, c.a, c.b), refKeyHash(origKeyRRN(c.card, c.a, c.b)); got != want {
			t.Errorf("origHashRRN(%q, %q, %q) = %x, want %x", c.card, c.a, c.b, got, want)
		}
	}
}

// merchantKeyV1 is merchantKey's general path, applied to every name.
func merchantKeyV1(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestMerchantKeyUnchanged(t *testing.T) {
	for _, name := range []string{"", "BENCH", "Acme Store #12", "acme-store", "  a b c  ", "ſtore", "ınn", "Café Zoë",
		"\x00\x7f", strings.Repeat("Long Merchant Name ", 10), "12345", "ÄBC", "\xff\xfe"} {
		if got, want := merchantKey(name), merchantKeyV1(name); got != want {
			t.Errorf("merchantKey(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestFollowUpRecordEncoding(t *testing.T) {
	for _, r := range []followUpRecord{
		{},
		{TxnID: "txn_01m95nmevt0009g1htaqz8k2pa", UserID: "user_01m95nm9ws0009g1htaqz8k2pd", Fingerprint: 1<<64 - 1, AuthCode: "A1B2C3", At: 1763700000000},
		{TxnID: "<&>\\\"é\x01\u2028", UserID: "\xff", AuthCode: "x", At: -5},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFollowUpRecord(nil, &r); string(got) != string(want) {
			t.Errorf("appendFollowUpRecord = %s, want %s", got, want)
		}
	}
	for _, c := range []struct {
		class     byte
		stan, rrn string
	}{{ClassClearing, "000123", "000000000123"}, {ClassReversal, "", ""}} {
		if got, want := string(appendRepeatKey(nil, c.class, c.stan, c.rrn)), repeatKey(c.class, c.stan, c.rrn); got != want {
			t.Errorf("appendRepeatKey = %q, want %q", got, want)
		}
	}
}

// fingerprintV1 is how fingerprints were first computed; a repeat after
// an upgrade must still match the fingerprint its first message stored.
func fingerprintV1(class byte, cardID string, procKind authz.Kind, amount int64, currency, merchantID, terminal string, replacement int64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	h.Write([]byte{class, byte(procKind)})
	h.Write([]byte(cardID))
	binary.BigEndian.PutUint64(b[:], uint64(amount))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(replacement))
	h.Write(b[:])
	h.Write([]byte(currency + "|" + merchantID + "|" + terminal))
	return h.Sum64()
}

func TestFingerprintUnchanged(t *testing.T) {
	for _, c := range []struct {
		class               byte
		card                string
		kind                authz.Kind
		amount, replacement int64
		cur, merchant, term string
	}{
		{ClassAuth, "card_01m95nm9ws0009g1htaqz8k2pb", authz.Purchase, 100, 0, "840", "M1", "T1"},
		{ClassReversal, "", authz.Refund, -1, 1 << 62, "", "", ""},
		{ClassClearing, "c|x", authz.Purchase, 1<<63 - 1, -5, "978", "|", "é"},
	} {
		got := fingerprint(c.class, c.card, c.kind, c.amount, c.cur, c.merchant, c.term, c.replacement)
		want := fingerprintV1(c.class, c.card, c.kind, c.amount, c.cur, c.merchant, c.term, c.replacement)
		if got != want {
			t.Errorf("fingerprint(%+v) = %x, want %x", c, got, want)
		}
	}
}

func TestShardOfIsFNV32a(t *testing.T) {
	l := &Ledger{shards: make([]shard, 16)}
	for _, id := range []string{"", "user_01m95nm9ws0009g1htaqz8k2pd", "x"} {
		h := fnv.New32a()
		h.Write([]byte(id))
		if got, want := l.shardOf(id), &l.shards[h.Sum32()%16]; got != want {
			t.Errorf("shardOf(%q) is not the FNV-1a 32 shard", id)
		}
	}
}
