package ledger

import (
	"bytes"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// TestHotKeysKeepNewestPerKey: the projection keeps one entry per hot key
// with its newest value (or its deletion), keys of different families or
// owners never share an entry, and a value larger than an entry's own
// room is kept whole.
func TestHotKeysKeepNewestPerKey(t *testing.T) {
	var gen model.IDGen
	now := time.UnixMilli(1_796_000_000_000)
	user, card, agent := gen.New(model.PrefixUser, now), gen.New(model.PrefixCard, now), gen.New(model.PrefixAgent, now)
	big := bytes.Repeat([]byte{7}, 3*hotInlineBytes)
	writes := []struct {
		key   []byte
		value []byte
		del   bool
	}{
		{keyspace.BalanceKey(user), []byte("b1"), false},
		{keyspace.UsageKey(card), []byte("u1"), false},
		{keyspace.SpendKey(agent), []byte("s1"), false},
		{keyspace.BalanceKey("user_odd"), []byte("o1"), false},
		{keyspace.UsageKey(user), []byte("wrong family"), false}, // a user's ID under the usage prefix
		{keyspace.BalanceKey(user), []byte("b2"), false},
		{keyspace.UsageKey(card), big, false},
		{keyspace.BalanceKey("user_odd"), nil, true},
		{keyspace.SpendKey(agent), []byte("s2"), false},
	}
	want := map[string]struct {
		value []byte
		del   bool
	}{
		string(keyspace.BalanceKey(user)):       {[]byte("b2"), false},
		string(keyspace.UsageKey(card)):         {big, false},
		string(keyspace.SpendKey(agent)):        {[]byte("s2"), false},
		string(keyspace.BalanceKey("user_odd")): {nil, true},
		string(keyspace.UsageKey(user)):         {[]byte("wrong family"), false},
	}
	var h hotKeys
	h.init(0, 0)
	for _, w := range writes {
		op := recordOp{op: opSet, key: w.key, value: w.value}
		if w.del {
			op.op = opDelete
		}
		h.put(op)
	}
	if len(h.dirty) != len(want) {
		t.Fatalf("%d entries, want %d", len(h.dirty), len(want))
	}
	for _, e := range h.dirty {
		w, ok := want[e.key]
		if !ok {
			t.Fatalf("an entry for %q", e.key)
		}
		if e.del != w.del || (!w.del && !bytes.Equal(e.v, w.value)) {
			t.Errorf("%q: %q (deleted %v), want %q (deleted %v)", e.key, e.v, e.del, w.value, w.del)
		}
		delete(want, e.key)
	}
}
