package model

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes, as the platform uses them.
const (
	PrefixUser        = "user"
	PrefixAgent       = "agent"
	PrefixCard        = "card"
	PrefixToken       = "atok"
	PrefixTransaction = "txn"
	PrefixIntent      = "int"
	PrefixEvent       = "evt"
	PrefixWebhook     = "whk"
	PrefixDelivery    = "whd"
	PrefixRequest     = "req"
	PrefixDetailsTok  = "tok"
	PrefixFault       = "flt"
)

// crockford is Crockford's base32 alphabet in lower case. Its characters sort
// in the same order as their values, so fixed-width IDs sort by time.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// IDGen makes IDs of the form prefix_<10 chars of milliseconds><4 chars of
// sequence><8 random chars>. IDs from one generator sort in the order they
// were made, which is what cursor pagination over the store relies on; the
// random tail keeps IDs made by different processes (or after a restart
// inside the same millisecond) apart.
type IDGen struct {
	mu     sync.Mutex
	lastMs int64
	seq    uint32
	// rnd holds random bytes read ahead, taken 8 for each ID from rndAt:
	// one read of the system's generator serves 64 IDs, where a read per
	// ID cost a system call (about 2% of an authorization's CPU).
	rnd   [512]byte
	rndAt int
}

// New returns a new ID with the given prefix for an object made at now.
func (g *IDGen) New(prefix string, now time.Time) string {
	var buf [40]byte // on the stack: the string is the one allocation
	return string(g.AppendNew(buf[:0], prefix, now))
}

// AppendNew appends a new ID, as New returns it, to dst: a caller that
// keeps the ID in one string with other text makes one allocation for
// both.
func (g *IDGen) AppendNew(dst []byte, prefix string, now time.Time) []byte {
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms <= g.lastMs {
		// Keep IDs increasing even when the clock stands still or steps back.
		ms = g.lastMs
		g.seq++
		if g.seq >= 1<<20 {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.lastMs = ms
	seq := g.seq
	if g.rndAt == 0 {
		_, _ = rand.Read(g.rnd[:])
		g.rndAt = len(g.rnd)
	}
	g.rndAt -= 8
	r := binary.BigEndian.Uint64(g.rnd[g.rndAt:])
	g.mu.Unlock()

	dst = append(dst, prefix...)
	dst = append(dst, '_')
	for i := 9; i >= 0; i-- {
		dst = append(dst, crockford[(uint64(ms)>>(uint(i)*5))&31])
	}
	for i := 3; i >= 0; i-- {
		dst = append(dst, crockford[(seq>>(uint(i)*5))&31])
	}
	for i := 7; i >= 0; i-- {
		dst = append(dst, crockford[(r>>(uint(i)*5))&31])
	}
	return dst
}

// Observe makes every later ID sort after id, which a generator in a new
// process must be told of: with a virtual clock restored to the instant it
// stopped at, or a wall clock that stepped back, the time alone would let a
// new ID sort before one already stored.
func (g *IDGen) Observe(id string) {
	i := len(id) - 22
	if i < 1 || id[i-1] != '_' {
		return
	}
	var ms int64
	var seq uint32
	for j := 0; j < 10; j++ {
		v := strings.IndexByte(crockford, id[i+j])
		if v < 0 {
			return
		}
		ms = ms<<5 | int64(v)
	}
	for j := 10; j < 14; j++ {
		v := strings.IndexByte(crockford, id[i+j])
		if v < 0 {
			return
		}
		seq = seq<<5 | uint32(v)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if ms > g.lastMs || (ms == g.lastMs && seq >= g.seq) {
		// The next ID at this millisecond takes the following sequence.
		g.lastMs, g.seq = ms, seq
	}
}

// Ms converts a time to epoch milliseconds, the unit of every time field.
func Ms(t time.Time) int64 { return t.UnixMilli() }

// IDFloor returns the smallest ID with the given prefix that could have
// been made at or after t, so a scan can start at a point in time.
func IDFloor(prefix string, t time.Time) string {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	buf := make([]byte, 0, len(prefix)+11)
	buf = append(buf, prefix...)
	buf = append(buf, '_')
	for i := 9; i >= 0; i-- {
		buf = append(buf, crockford[(uint64(ms)>>(uint(i)*5))&31])
	}
	return string(buf)
}

// WellFormedID reports whether id has the shape IDGen makes: a lower-case
// prefix, an underscore and 22 characters of the ID alphabet. A list's
// cursor is an ID, so a cursor of another shape is refused rather than
// read as "after everything" (an empty page).
func WellFormedID(id string) bool {
	i := len(id) - 22
	if i < 2 || id[i-1] != '_' {
		return false
	}
	for j := 0; j < i-1; j++ {
		if id[j] < 'a' || id[j] > 'z' {
			return false
		}
	}
	for j := i; j < len(id); j++ {
		if strings.IndexByte(crockford, id[j]) < 0 {
			return false
		}
	}
	return true
}
