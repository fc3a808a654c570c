package ledger

import (
	"slices"
	"sync"

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
type repeatIndex struct {
	window int64 // ms
	shards [repeatShards]repeatShard
}

type repeatShard struct {
	mu sync.Mutex
	m  map[string]*repeatEntry
	// queue holds entries in the order they expire (time only moves
	// forward, and every entry lives the same window), so forgetting costs
	// time proportional to what is forgotten.
	queue []*repeatEntry
	head  int
}

// repeatEntry is a remembered first reply.
type repeatEntry struct {
	key     string
	fp      uint64
	expires int64 // epoch ms
	// pending: the first message is being decided under its user shard's
	// lock. Another message with other content is a 94 already; one with
	// the same content is for the same card, so it waits on the same lock
	// and finds the entry settled or abandoned.
	pending  bool
	code     string
	reason   string
	authCode string
	txnID    string
}

func newRepeatIndex(window int64) *repeatIndex {
	ri := &repeatIndex{window: window}
	for i := range ri.shards {
		ri.shards[i].m = map[string]*repeatEntry{}
	}
	return ri
}

func (ri *repeatIndex) shardOf(key string) *repeatShard {
	// FNV-1a, inline so that hashing the key allocates nothing.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &ri.shards[h%repeatShards]
}

// repeatClaim is a message's place in the repeat index while it is
// decided: settled with its reply once the change is applied, or
// abandoned when the message leaves nothing to repeat (an error, or a
// follow-up declined without a record). The zero value is a message
// without DE 11 and DE 37, which claims nothing.
type repeatClaim struct {
	ri *repeatIndex
	e  *repeatEntry
}

// claim looks the message up. A live entry answers it: the first reply
// for the same content, 94 for other content (seen is true). Otherwise
// the message's own entry is made, pending, and returned as the claim.
func (ri *repeatIndex) claim(class byte, stan, rrn string, fp uint64, nowMs int64) (out Outcome, seen bool, c repeatClaim) {
	if stan == "" || rrn == "" {
		return Outcome{}, false, repeatClaim{}
	}
	key := repeatKey(class, stan, rrn)
	rs := ri.shardOf(key)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.expire(nowMs)
	if e := rs.m[key]; e != nil && e.expires > nowMs {
		switch {
		case e.fp != fp:
			return declined(authz.CodeDuplicate, authz.ReasonDuplicate), true, repeatClaim{}
		case !e.pending:
			return Outcome{Code: e.code, Reason: e.reason, AuthCode: e.authCode, TxnID: e.txnID, Replayed: true}, true, repeatClaim{}
		}
		// Same content, still pending: the first message's decision was
		// given up (its claim is being abandoned), so this one is decided
		// afresh and takes the key over.
	}
	e := &repeatEntry{key: key, fp: fp, expires: nowMs + ri.window, pending: true}
	rs.m[key] = e
	rs.queue = append(rs.queue, e)
	return Outcome{}, false, repeatClaim{ri: ri, e: e}
}

// settle records the message's reply for its repeats.
func (c repeatClaim) settle(code, reason, authCode, txnID string) {
	if c.e == nil {
		return
	}
	rs := c.ri.shardOf(c.e.key)
	rs.mu.Lock()
	c.e.code, c.e.reason, c.e.authCode, c.e.txnID = code, reason, authCode, txnID
	c.e.pending = false
	rs.mu.Unlock()
}

// abandon forgets a claim that was not settled; a settled claim is kept.
// It is safe to defer.
func (c repeatClaim) abandon() {
	if c.e == nil {
		return
	}
	rs := c.ri.shardOf(c.e.key)
	rs.mu.Lock()
	if c.e.pending && rs.m[c.e.key] == c.e {
		delete(rs.m, c.e.key)
	}
	rs.mu.Unlock()
}

// restore puts back an entry rebuilt from the store, if it is still live.
// Call sortQueues once all are restored.
func (ri *repeatIndex) restore(e *repeatEntry, nowMs int64) {
	if e.expires <= nowMs {
		return
	}
	rs := ri.shardOf(e.key)
	rs.mu.Lock()
	if old := rs.m[e.key]; old == nil || old.expires < e.expires {
		rs.m[e.key] = e
	}
	rs.queue = append(rs.queue, e)
	rs.mu.Unlock()
}

// sortQueues orders the queues by expiry after a rebuild, which restores
// entries in the order the store holds them.
func (ri *repeatIndex) sortQueues() {
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		q := rs.queue[rs.head:]
		slices.SortStableFunc(q, func(a, b *repeatEntry) int {
			switch {
			case a.expires < b.expires:
				return -1
			case a.expires > b.expires:
				return 1
			}
			return 0
		})
		rs.mu.Unlock()
	}
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

// expire drops entries whose window ended at or before nowMs. The caller
// holds rs.mu.
func (rs *repeatShard) expire(nowMs int64) {
	for rs.head < len(rs.queue) {
		e := rs.queue[rs.head]
		if e.expires > nowMs {
			break
		}
		if rs.m[e.key] == e {
			delete(rs.m, e.key)
		}
		rs.queue[rs.head] = nil
		rs.head++
	}
	if rs.head > 1024 && rs.head*2 > len(rs.queue) {
		rs.queue = append([]*repeatEntry(nil), rs.queue[rs.head:]...)
		rs.head = 0
	}
}

// len is the number of remembered messages (for tests).
func (ri *repeatIndex) len() int {
	n := 0
	for i := range ri.shards {
		rs := &ri.shards[i]
		rs.mu.Lock()
		n += len(rs.m)
		rs.mu.Unlock()
	}
	return n
}
