package ledger

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ledgersim/ledgersim/authz"
)

// repeatShards is the number of lock shards of the repeat index. It is
// independent of the user shards: a message's repeat key names no user.
const repeatShards = 64

// repeatIndex remembers the first reply to every message by its class,
// DE 11 and DE 37, for the repeat window counted from that first message,
// whatever card or user it was for. It is one index for the whole ledger
// rather than a map per user shard because a repeat key may be reused on
// another user's card, and that must be seen (94) too.
//
// An entry answers while now < expires, both in memory and after a
// restart (rebuildTxns restores exactly the entries made within the
// window), so the answer to a repeat never depends on when the process
// last started or when Sweep last ran.
//
// # Memory
//
// The window holds every message of the last 15 minutes: 90 million at
// 100,000 messages a second. The index is therefore packed and holds no
// pointers the collector would scan: each shard keeps its entries in a
// ring of fixed-size chunks, in the order they expire (every entry lives
// the same window and time moves forward), and an open-addressing table
// of 32-bit ring positions finds them by key hash. An entry is 36 bytes:
// the key's 64-bit hash, 9 more bits of a second hash, a 32-bit content
// fingerprint, the expiry, the reply's code and reason as indexes into a
// small table of names, and the transaction ID in its 110 bits. A reply
// that does not pack (an ID of another form, an approval code that is not
// the one derived from the ID) goes to a per-shard overflow map. With the
// table between 3/8 and 3/4 full, an entry costs 41 to 47 bytes; the test
// TestRepeatIndexMemory holds the index to maxRepeatEntryBytes.
type repeatIndex struct {
	window  int64 // ms
	names   names
	shards  [repeatShards]repeatShard
	pending []*repeatEntry // restored entries, inserted in order by sortQueues
}

// maxRepeatEntryBytes is the most one remembered message may cost: 4 GiB
// over a 15-minute window at 100,000 messages a second is 47.7 bytes.
const maxRepeatEntryBytes = 47

// repeatEntry is a remembered first reply in its unpacked form: what
// restore takes, and what a lookup rebuilds the reply from.
type repeatEntry struct {
	key      string
	fp       uint64
	expires  int64 // epoch ms
	code     string
	reason   string
	authCode string
	txnID    string
}

// Entry flags.
const (
	// pending: the first message is being decided under its user shard's
	// lock. Another message with other content is a 94 already; one with
	// the same content is for the same card, so it waits on the same lock
	// and finds the entry settled or abandoned.
	flagPending = 1 << iota
	// dead: abandoned; the table no longer points to it.
	flagDead
	// derivedAuth: the approval code is authCode(txnID).
	flagDerivedAuth
	// overflow: the reply is in the shard's overflow map.
	flagOverflow
)

// packedRepeat is one entry, as nine 32-bit words so that it takes 36
// bytes and not the 40 an 8-byte-aligned struct would:
//
//	w0..w1 key hash
//	w2     content fingerprint (low 32 bits)
//	w3..w4 expiry ms (44 bits) | code name (8) | reason name (8) | flags (4)
//	w5..w6 first 11 ID characters (55 bits) | ID prefix name (8 bits)
//	w7..w8 last 11 ID characters (55 bits) | check hash (9 bits)
type packedRepeat [9]uint32

func (p *packedRepeat) get(i int) uint64 { return uint64(p[i]) | uint64(p[i+1])<<32 }
func (p *packedRepeat) set(i int, v uint64) {
	p[i], p[i+1] = uint32(v), uint32(v>>32)
}

const (
	expiresBits = 44
	expiresMask = 1<<expiresBits - 1
	idHalfBits  = 55
	idHalfMask  = 1<<idHalfBits - 1
	checkMask   = 1<<9 - 1
)

func (p *packedRepeat) keyHash() uint64 { return p.get(0) }
func (p *packedRepeat) check() uint64   { return p.get(7) >> idHalfBits }
func (p *packedRepeat) fp() uint32      { return p[2] }
func (p *packedRepeat) expires() int64  { return int64(p.get(3) & expiresMask) }
func (p *packedRepeat) flags() uint64   { return p.get(3) >> 60 }
func (p *packedRepeat) setFlags(f uint64) {
	p.set(3, p.get(3)&^(0xf<<60)|f<<60)
}
func (p *packedRepeat) setReply(code, reason uint8) {
	m := p.get(3) &^ (0xffff << expiresBits)
	p.set(3, m|uint64(code)<<expiresBits|uint64(reason)<<(expiresBits+8))
}
func (p *packedRepeat) code() uint8   { return uint8(p.get(3) >> expiresBits) }
func (p *packedRepeat) reason() uint8 { return uint8(p.get(3) >> (expiresBits + 8)) }

// repeatChunk is a ring chunk: 4096 entries, 144 KiB.
const repeatChunkLen = 4096

type repeatChunk [repeatChunkLen]packedRepeat

type repeatShard struct {
	mu sync.Mutex
	// The ring: positions head..tail-1 are live or dead entries in expiry
	// order; chunks[0] holds position first. Positions only grow; a
	// position whose low 32 bits are all ones is never used (see push).
	chunks     []*repeatChunk
	first      uint64
	head, tail uint64
	spare      *repeatChunk
	table      slotTable // ring positions (low 32 bits) by key hash
	overflow   map[uint64]repeatEntry
}

func newRepeatIndex(window int64) *repeatIndex {
	ri := &repeatIndex{window: window}
	ri.names.init()
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.head, rs.tail, rs.first = 1, 1, 1
		rs.overflow = map[uint64]repeatEntry{}
	}
	return ri
}

// keyHashes hashes a repeat key (class, DE 11, DE 37) twice: FNV-1a 64
// finds the entry, and 9 bits of an FNV-1a 32 with another basis make a
// false match between two keys about 1 in 2^73.
func keyHashes(class byte, stan, rrn string) (h uint64, check uint64) {
	h = 14695981039346656037
	c := uint32(2166136261 ^ 0x5bd1e995)
	step := func(b byte) {
		h ^= uint64(b)
		h *= 1099511628211
		c ^= uint32(b)
		c *= 16777619
	}
	step(class)
	for i := 0; i < len(stan); i++ {
		step(stan[i])
	}
	step('|')
	for i := 0; i < len(rrn); i++ {
		step(rrn[i])
	}
	// FNV's low bits mix poorly, and the table is indexed by them: finish
	// with MurmurHash3's 64-bit mixer.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h, uint64(c) & checkMask
}

func (ri *repeatIndex) shardOf(h uint64) *repeatShard { return &ri.shards[h>>58] }

// repeatClaim is a message's place in the repeat index while it is
// decided: settled with its reply once the change is applied, or
// abandoned when the message leaves nothing to repeat (an error, or a
// follow-up declined without a record). The zero value is a message
// without DE 11 and DE 37, which claims nothing.
type repeatClaim struct {
	ri  *repeatIndex
	rs  *repeatShard
	pos uint64
}

// claim looks the message up. A live entry answers it: the first reply
// for the same content, 94 for other content (seen is true). Otherwise
// the message's own entry is made, pending, and returned as the claim.
func (ri *repeatIndex) claim(class byte, stan, rrn string, fp uint64, nowMs int64) (out Outcome, seen bool, c repeatClaim) {
	if stan == "" || rrn == "" {
		return Outcome{}, false, repeatClaim{}
	}
	h, check := keyHashes(class, stan, rrn)
	rs := ri.shardOf(h)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.expire(nowMs)
	slot, pos, found := rs.find(h, check)
	if found {
		e := rs.at(pos)
		if e.expires() > nowMs {
			switch {
			case e.fp() != uint32(fp):
				return declined(authz.CodeDuplicate, authz.ReasonDuplicate), true, repeatClaim{}
			case e.flags()&flagPending == 0:
				out := ri.reply(rs, pos, e)
				out.Replayed = true
				return out, true, repeatClaim{}
			}
			// Same content, still pending: the first message's decision
			// was given up (its claim is being abandoned), so this one is
			// decided afresh and takes the key over.
		}
	}
	pos = rs.push(h, check, uint32(fp), nowMs+ri.window, flagPending)
	if found {
		rs.table.set(slot, uint32(pos))
	} else {
		rs.insert(h, pos)
	}
	return Outcome{}, false, repeatClaim{ri: ri, rs: rs, pos: pos}
}

// settle records the message's reply for its repeats.
func (c repeatClaim) settle(code, reason, authCode, txnID string) {
	if c.rs == nil {
		return
	}
	c.rs.mu.Lock()
	defer c.rs.mu.Unlock()
	if c.pos < c.rs.head {
		return // expired meanwhile (a clock advanced past the whole window)
	}
	c.ri.pack(c.rs, c.pos, code, reason, authCode, txnID)
}

// abandon forgets a claim that was not settled; a settled claim is kept.
// It is safe to defer.
func (c repeatClaim) abandon() {
	if c.rs == nil {
		return
	}
	rs := c.rs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if c.pos < rs.head {
		return
	}
	e := rs.at(c.pos)
	if e.flags()&flagPending == 0 {
		return
	}
	e.setFlags(flagDead)
	if slot, ok := rs.slotOf(e.keyHash(), c.pos); ok {
		rs.remove(slot)
	}
}

// pack stores a reply in the entry at pos. The caller holds rs.mu.
func (ri *repeatIndex) pack(rs *repeatShard, pos uint64, code, reason, approval, txnID string) {
	e := rs.at(pos)
	ci, okC := ri.names.index(code)
	ri2, okR := ri.names.index(reason)
	prefix, a, b, okID := packID(txnID)
	pi, okP := ri.names.index(prefix)
	derived := approval == "" || (okID && txnID != "" && approval == authCode(txnID))
	if !(okC && okR && okID && okP && derived) {
		rs.overflow[pos] = repeatEntry{code: code, reason: reason, authCode: approval, txnID: txnID}
		e.setFlags(flagOverflow)
		return
	}
	e.setReply(ci, ri2)
	e.set(5, a|uint64(pi)<<idHalfBits)
	e.set(7, b|e.check()<<idHalfBits)
	f := uint64(0)
	if approval != "" {
		f = flagDerivedAuth
	}
	e.setFlags(f)
}

// reply rebuilds the reply an entry remembers. The caller holds rs.mu.
func (ri *repeatIndex) reply(rs *repeatShard, pos uint64, e *packedRepeat) Outcome {
	if e.flags()&flagOverflow != 0 {
		o := rs.overflow[pos]
		return Outcome{Code: o.code, Reason: o.reason, AuthCode: o.authCode, TxnID: o.txnID}
	}
	out := Outcome{Code: ri.names.name(e.code()), Reason: ri.names.name(e.reason())}
	w5, w7 := e.get(5), e.get(7)
	if id := unpackID(ri.names.name(uint8(w5>>idHalfBits)), w5&idHalfMask, w7&idHalfMask); id != "" {
		out.TxnID = id
		if e.flags()&flagDerivedAuth != 0 {
			out.AuthCode = authCode(id)
		}
	}
	return out
}

// packID splits an ID of the form prefix_<22 base32 characters> (see
// model.IDGen) into its prefix and two 55-bit halves. An empty ID packs as
// an empty prefix. It reads an ID held in a key as well as a string.
func packID[S ~string | ~[]byte](id S) (prefix S, a, b uint64, ok bool) {
	if len(id) == 0 {
		return id, 0, 0, true
	}
	i := len(id) - 22
	if i < 2 || id[i-1] != '_' {
		return prefix, 0, 0, false
	}
	for j := range 22 {
		v := crockfordValue[id[i+j]]
		if v < 0 {
			return prefix, 0, 0, false
		}
		if j < 11 {
			a = a<<5 | uint64(v)
		} else {
			b = b<<5 | uint64(v)
		}
	}
	return id[:i-1], a, b, true
}

func unpackID(prefix string, a, b uint64) string {
	if prefix == "" && a == 0 && b == 0 {
		return ""
	}
	var buf [64]byte
	out := append(buf[:0], prefix...)
	out = append(out, '_')
	for i := 10; i >= 0; i-- {
		out = append(out, crockford[(a>>(uint(i)*5))&31])
	}
	for i := 10; i >= 0; i-- {
		out = append(out, crockford[(b>>(uint(i)*5))&31])
	}
	return string(out)
}

// crockford is model.IDGen's alphabet.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// crockfordValue maps a byte to its value in crockford, -1 for a byte
// outside it: a restart packs every event's and transaction's ID, and a
// table lookup is a fraction of the cost of searching the alphabet.
var crockfordValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(crockford) {
		t[crockford[i]] = int8(i)
	}
	return t
}()

// names interns the few strings a reply is made of (response codes,
// decline reasons, ID prefixes) as one-byte indexes. It only grows; the
// table is replaced whole when a name is added, so lookups take no lock.
type names struct {
	mu  sync.Mutex
	cur atomic.Pointer[nameTable]
}

type nameTable struct {
	byName map[string]uint8
	list   []string
}

func (n *names) init() {
	n.cur.Store(&nameTable{byName: map[string]uint8{"": 0}, list: []string{""}})
}

// index returns name's index, adding it when there is room (255 names).
func (n *names) index(name string) (uint8, bool) {
	if i, ok := n.cur.Load().byName[name]; ok {
		return i, true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.cur.Load()
	if i, ok := t.byName[name]; ok {
		return i, true
	}
	if len(t.list) == 256 {
		return 0, false
	}
	next := &nameTable{byName: make(map[string]uint8, len(t.byName)+1), list: append(slices.Clip(t.list), name)}
	for k, v := range t.byName {
		next.byName[k] = v
	}
	i := uint8(len(t.list))
	next.byName[name] = i
	n.cur.Store(next)
	return i, true
}

func (n *names) name(i uint8) string {
	l := n.cur.Load().list
	if int(i) < len(l) {
		return l[i]
	}
	return ""
}

// at returns the entry at ring position pos (head <= pos < tail).
func (rs *repeatShard) at(pos uint64) *packedRepeat {
	off := pos - rs.first
	return &rs.chunks[off/repeatChunkLen][off%repeatChunkLen]
}

// push appends an entry to the ring and returns its position.
func (rs *repeatShard) push(h, check uint64, fp uint32, expires int64, flags uint64) uint64 {
	if uint32(rs.tail) == math.MaxUint32 {
		// A table slot holds a position's low 32 bits plus one; this one
		// would read as an empty slot, so it stays a dead entry.
		rs.grow()
		rs.at(rs.tail).setFlags(flagDead)
		rs.tail++
	}
	rs.grow()
	pos := rs.tail
	e := rs.at(pos)
	*e = packedRepeat{}
	e.set(0, h)
	e[2] = fp
	e.set(3, uint64(expires)&expiresMask|flags<<60)
	e.set(7, check<<idHalfBits)
	rs.tail++
	return pos
}

// grow makes room for position tail.
func (rs *repeatShard) grow() {
	if rs.tail-rs.first < uint64(len(rs.chunks))*repeatChunkLen {
		return
	}
	c := rs.spare
	rs.spare = nil
	if c == nil {
		c = new(repeatChunk)
	}
	rs.chunks = append(rs.chunks, c)
}

// fullPos turns a table slot's 32 bits back into a ring position: live
// positions span far less than 2^32, so the one that ends in v and is not
// after tail is the one.
func (rs *repeatShard) fullPos(v uint32) uint64 {
	return rs.tail - uint64(uint32(rs.tail)-v)
}

func (rs *repeatShard) hashOf(v uint32) uint64 { return rs.at(rs.fullPos(v)).keyHash() }

// find returns the table slot and position of the live entry for a key.
func (rs *repeatShard) find(h, check uint64) (slot int, pos uint64, ok bool) {
	slot, v, ok := rs.table.find(h, func(v uint32) bool {
		e := rs.at(rs.fullPos(v))
		return e.keyHash() == h && e.check() == check
	})
	if !ok {
		return 0, 0, false
	}
	return slot, rs.fullPos(v), true
}

// slotOf returns the table slot that points to pos, when one does.
func (rs *repeatShard) slotOf(h, pos uint64) (int, bool) {
	slot, _, ok := rs.table.find(h, func(v uint32) bool { return v == uint32(pos) })
	return slot, ok
}

// insert adds a key that has no slot yet.
func (rs *repeatShard) insert(h, pos uint64) { rs.table.insert(h, uint32(pos), rs.hashOf) }

// remove empties a slot.
func (rs *repeatShard) remove(slot int) { rs.table.remove(slot, rs.hashOf) }

// expire drops entries whose window ended at or before nowMs. The caller
// holds rs.mu.
func (rs *repeatShard) expire(nowMs int64) {
	for rs.head < rs.tail {
		e := rs.at(rs.head)
		if e.expires() > nowMs && e.flags()&flagDead == 0 {
			break
		}
		if e.flags()&flagDead == 0 {
			if slot, ok := rs.slotOf(e.keyHash(), rs.head); ok {
				rs.remove(slot)
			}
		}
		if e.flags()&flagOverflow != 0 {
			delete(rs.overflow, rs.head)
		}
		rs.head++
		if rs.head-rs.first == repeatChunkLen {
			rs.spare = rs.chunks[0]
			rs.chunks[0] = nil
			rs.chunks = rs.chunks[1:]
			rs.first += repeatChunkLen
		}
	}
}

// restore keeps an entry rebuilt from the store, if it is still live.
// Call sortQueues once all are restored.
func (ri *repeatIndex) restore(e *repeatEntry, nowMs int64) {
	if e.expires <= nowMs {
		return
	}
	ri.pending = append(ri.pending, e)
}

// sortQueues inserts the restored entries in the order they expire (a
// rebuild finds them in the order the store holds them). Of two entries
// for one key, the later one answers.
func (ri *repeatIndex) sortQueues() {
	slices.SortStableFunc(ri.pending, func(a, b *repeatEntry) int {
		switch {
		case a.expires < b.expires:
			return -1
		case a.expires > b.expires:
			return 1
		}
		return 0
	})
	for _, e := range ri.pending {
		class, stan, rrn := splitRepeatKey(e.key)
		h, check := keyHashes(class, stan, rrn)
		rs := ri.shardOf(h)
		rs.mu.Lock()
		slot, _, found := rs.find(h, check)
		pos := rs.push(h, check, uint32(e.fp), e.expires, 0)
		if found {
			rs.table.set(slot, uint32(pos))
		} else {
			rs.insert(h, pos)
		}
		ri.pack(rs, pos, e.code, e.reason, e.authCode, e.txnID)
		rs.mu.Unlock()
	}
	ri.pending = nil
}

// splitRepeatKey undoes repeatKey.
func splitRepeatKey(k string) (class byte, stan, rrn string) {
	if len(k) < 2 {
		return 0, "", ""
	}
	stan, rrn, _ = strings.Cut(k[2:], "|")
	return k[1], stan, rrn
}

// expireAll forgets every entry whose window has ended; Sweep calls it so
// that a shard without traffic does not keep its entries.
func (ri *repeatIndex) expireAll(nowMs int64) {
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		rs.expire(nowMs)
		rs.mu.Unlock()
	}
}

// len is the number of remembered messages (for tests).
func (ri *repeatIndex) len() int {
	n := 0
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		n += rs.table.used
		rs.mu.Unlock()
	}
	return n
}

// bytes is the memory the index holds (ring chunks, tables and overflow
// entries), and of it the ring's room not yet filled: at most a chunk and
// a spare per shard, 18 MiB in all (for the memory test).
func (ri *repeatIndex) bytes() (total, unfilled int) {
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		ring := len(rs.chunks) * repeatChunkLen
		if rs.spare != nil {
			ring += repeatChunkLen
		}
		total += ring*36 + rs.table.bytes() + len(rs.overflow)*96
		unfilled += (ring - int(rs.tail-rs.head)) * 36
		rs.mu.Unlock()
	}
	return total, unfilled
}
