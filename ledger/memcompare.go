package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ledgersim/ledgersim/checkpoint"
	"github.com/ledgersim/ledgersim/store"
)

// Comparing memory's checkpointed tables. A restart from a memory
// checkpoint and the full rebuild from the store must give the same
// tables; the tests compare them, and so does `ledgersim verify` (its
// checkpoint check) on a copy of a data directory.

// memEntry is one entry of memory's checkpointed tables: the table, what
// the entry is about (an ID, an event type) and what it holds.
type memEntry struct{ table, subject, detail string }

func (e memEntry) String() string { return e.table + " " + e.subject + " " + e.detail }

// MemoryTables lists, sorted, what memory's checkpointed tables say: each
// open hold with its expiry and the original keys it answers for, each
// original with the originals its chains link to and whether it heads
// them, each transaction list, each type's events and each repeat entry
// that answers. Two ledgers with the same list decide alike. The ledger
// must decide nothing meanwhile (as just after Open).
func MemoryTables(l *Ledger) []string { return DumpMemory(l).Lines() }

// MemoryDump is a copy of what memory's checkpointed tables say, taken by
// DumpMemory, so that two ledgers opened one after the other on the same
// directory can be compared.
type MemoryDump struct{ entries []memEntry }

// DumpMemory copies what l's checkpointed tables say. l must decide
// nothing meanwhile (as just after Open).
func DumpMemory(l *Ledger) *MemoryDump { return &MemoryDump{entries: l.memEntries()} }

// Len is the number of entries in the dump.
func (d *MemoryDump) Len() int { return len(d.entries) }

// Lines are the dump's entries as text, sorted.
func (d *MemoryDump) Lines() []string {
	out := make([]string, len(d.entries))
	for i, e := range d.entries {
		out[i] = e.String()
	}
	slices.Sort(out)
	return out
}

// MemoryDiff is one entry on which two ledgers' tables differ: its table
// ("hold", "origin", "origin-head-stan", "origin-head-rrn", "list-card",
// "list-user", "list-agent", "events", "repeat") and its subject (a
// transaction, card, user or agent ID, an event type, or for a repeat
// entry without a transaction its key hash). InA and InB say which
// ledger has an entry for it: both when their contents differ.
type MemoryDiff struct {
	Table, Subject string
	InA, InB       bool
}

// CompareMemory lists the entries of memory's checkpointed tables on
// which the dumps a and b differ, sorted by table and subject.
func CompareMemory(a, b *MemoryDump) []MemoryDiff {
	type side struct{ a, b []string }
	by := map[[2]string]*side{}
	for i, es := range [][]memEntry{a.entries, b.entries} {
		for _, e := range es {
			k := [2]string{e.table, e.subject}
			s := by[k]
			if s == nil {
				s = &side{}
				by[k] = s
			}
			if i == 0 {
				s.a = append(s.a, e.detail)
			} else {
				s.b = append(s.b, e.detail)
			}
		}
	}
	var out []MemoryDiff
	for k, s := range by {
		slices.Sort(s.a)
		slices.Sort(s.b)
		if !slices.Equal(s.a, s.b) {
			out = append(out, MemoryDiff{Table: k[0], Subject: k[1], InA: len(s.a) > 0, InB: len(s.b) > 0})
		}
	}
	slices.SortFunc(out, func(x, y MemoryDiff) int {
		if c := cmp.Compare(x.Table, y.Table); c != 0 {
			return c
		}
		return cmp.Compare(x.Subject, y.Subject)
	})
	return out
}

func (l *Ledger) memEntries() []memEntry {
	var out []memEntry
	for i := range l.shards {
		st := &l.shards[i].txns
		for slot := uint32(0); slot < st.slots; slot++ {
			h := st.at(slot)
			if !h.live {
				continue
			}
			var owned []uint64
			for j, kh := range h.keys {
				v := slot<<1 | uint32(j)
				if _, _, ok := st.byKey.find(kh, func(x uint32) bool { return x == v }); kh != 0 && ok {
					owned = append(owned, kh)
				}
			}
			slices.Sort(owned)
			out = append(out, memEntry{"hold", st.idOf(slot), fmt.Sprintf("shard %d expires %d keys %x", i, h.expires, owned)})
		}
	}
	o := l.origins
	idAt := func(pos uint32) string {
		if pos == 0 {
			return "-"
		}
		if id, ok := o.odd[pos]; ok {
			return id
		}
		e := o.entries[pos-1]
		return unpackID("txn", e.id[0], e.id[1])
	}
	for i := range o.entries {
		e := &o.entries[i]
		out = append(out, memEntry{"origin", idAt(uint32(i + 1)), fmt.Sprintf("stan->%s rrn->%s", idAt(e.prevSTAN), idAt(e.prevRRN))})
	}
	for i, name := range []string{"origin-head-stan", "origin-head-rrn"} {
		for _, pos := range o.heads[i].t {
			if pos != 0 { // the table keeps 1 + the entry's index: its pos
				out = append(out, memEntry{name, idAt(pos), ""})
			}
		}
	}
	for _, kind := range []struct {
		b    byte
		name string
	}{{'c', "list-card"}, {'u', "list-user"}, {'a', "list-agent"}} {
		for owner, il := range l.lists.mapOf(kind.b) {
			ids := make([]string, len(il.ids))
			for i := range il.ids {
				ids[i] = il.idAt(i)
			}
			out = append(out, memEntry{kind.name, owner, fmt.Sprint(ids)})
		}
	}
	for typ, ev := range l.events.byType {
		ids := make([]string, 0, len(ev.ids))
		for _, p := range ev.ids {
			ids = append(ids, unpackEventID(p))
		}
		out = append(out, memEntry{"events", typ, fmt.Sprintf("%v %v", ids, ev.odd)})
	}
	ri := l.repeats
	for i := range ri.shards {
		rs := &ri.shards[i]
		for _, v := range rs.table.t {
			if v == 0 {
				continue
			}
			pos := rs.fullPos(v - 1)
			e := rs.at(pos)
			r := ri.reply(rs, pos, e)
			subject := r.TxnID
			if subject == "" {
				subject = fmt.Sprintf("key %x", e.keyHash())
			}
			out = append(out, memEntry{"repeat", subject, fmt.Sprintf("%x/%x fp %x expires %d flags %d reply %s %s %s %s",
				e.keyHash(), e.check(), e.fp(), e.expires(), e.flags()&^flagOverflow, r.Code, r.Reason, r.AuthCode, r.TxnID)})
		}
	}
	return out
}

// LoadedMemCheckpoint is the LSN of the memory checkpoint Open loaded, 0
// when it rebuilt memory from the store.
func (l *Ledger) LoadedMemCheckpoint() uint64 { return uint64(l.snap.loaded) }

// MemCheckpointShape reads the newest whole memory checkpoint in db's
// directory (checkpoints/): its LSN, and the number of user shards and
// the repeat window it was made with, which a ledger must be opened with
// to load it. lsn is 0 when there is none. It only reads, but opening the
// checkpoint directory creates it when it is missing.
func MemCheckpointShape(db *store.DB) (lsn uint64, shards int, repeatWindow time.Duration, err error) {
	fs := db.FS()
	st, err := checkpoint.Open(checkpoint.Config{Dir: fs.PathJoin(db.Dir(), "checkpoints"), FS: fs})
	if err != nil {
		return 0, 0, 0, err
	}
	p, r, err := st.Newest()
	if err != nil || r == nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	sized, ok := r.(interface{ Size() int64 })
	if !ok {
		return 0, 0, 0, fmt.Errorf("ledger: memory checkpoint of unknown size")
	}
	d := newDecoder(r, sized.Size())
	if magic := d.read(len(memCheckpointMagic)); d.err == nil && string(magic) != memCheckpointMagic {
		return 0, 0, 0, fmt.Errorf("%w: format %q, this binary reads %q", errMismatch, magic, memCheckpointMagic)
	}
	n, w := d.uvarint(), d.varint()
	if d.err != nil {
		return 0, 0, 0, d.err
	}
	return uint64(p), int(n), time.Duration(w) * time.Millisecond, nil
}
