package ledger

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// TestOpenValueIsAppendOp: a value encoded in place (openValue, the value
// appended, closeValue) gives exactly the record bytes appendOp gives,
// whatever its length takes as a varint: one byte, the two it was given
// room for, or more.
func TestOpenValueIsAppendOp(t *testing.T) {
	key := []byte("t/txn_0123456789abcdefghjkmn")
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 1 << 21} {
		value := bytes.Repeat([]byte{0xa5}, n)
		for i := range value {
			value[i] = byte(i * 7)
		}
		prefix := []byte{recordVersion, byte(RecAuthorization), 0x01}
		want := appendOp(bytes.Clone(prefix), opSet, key, value)

		c := &change{rec: bytes.Clone(prefix)}
		at := c.openValue(opSet, key)
		c.rec = append(c.rec, value...)
		if got := c.closeValue(at); got != n {
			t.Errorf("%d bytes: closeValue says %d", n, got)
		}
		if !bytes.Equal(c.rec, want) {
			t.Errorf("%d bytes: the record differs from appendOp's", n)
		}
		if s := opStart(at, key); s != len(prefix) {
			t.Errorf("%d bytes: opStart = %d, want %d", n, s, len(prefix))
		}
	}
}

// TestNewTxnIDCode: the approval code made with a transaction's ID is the
// one authCode derives from the ID (a follow-up quotes it, and a restart
// derives it again).
func TestNewTxnIDCode(t *testing.T) {
	l := &Ledger{}
	now := time.UnixMilli(1_796_000_000_000)
	prev := ""
	for range 1000 {
		id, code := l.newTxnID(now)
		if !model.WellFormedID(id) || !strings.HasPrefix(id, model.PrefixTransaction+"_") {
			t.Fatalf("ID %q", id)
		}
		if want := authCode(id); code != want {
			t.Fatalf("ID %s: code %q, want %q", id, code, want)
		}
		if id <= prev {
			t.Fatalf("ID %s after %s", id, prev)
		}
		prev = id
	}
}
