package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// The hot parts of users, cards and agents are written as small delta
// records on every authorization (see keyspace.BalanceKey). Writing the whole
// JSON record each time tripled the bytes an authorization wrote, and the
// WAL's fsync time grows with them.

// Version 1 is the first form; version 2 of the balance and usage deltas
// adds the time of the change (the user's or card's updatedAt), which a
// restart otherwise took back to the last whole record's. Version 3 of
// the usage delta adds the last purchase's time and the card's lifetime
// spend, which its policy's cooldown and cumulative cap read. Version 4
// adds the week and year windows of the card's perWeek and perYear limits.
const (
	deltaVersion  = 1
	deltaVersion2 = 2
	deltaVersion3 = 3
	deltaVersion4 = 4
)

var errBadDelta = errors.New("ledger: malformed delta record")

func encodeBalance(u *model.User) []byte {
	return appendBalance(make([]byte, 0, 1+4*binary.MaxVarintLen64), u)
}

// appendBalance appends a user's balance delta to b.
func appendBalance(b []byte, u *model.User) []byte {
	b = append(b, deltaVersion2)
	b = binary.AppendVarint(b, u.DepositedCents)
	b = binary.AppendVarint(b, u.SettledCents)
	b = binary.AppendVarint(b, u.PendingCents)
	b = binary.AppendVarint(b, u.UpdatedAt)
	return b
}

func decodeBalance(b []byte, u *model.User) error {
	r, v, ok := newVersionedDeltaReader(b)
	if !ok {
		return errBadDelta
	}
	deposited, settled, pending := r.varint(), r.varint(), r.varint()
	var updated int64
	if v == deltaVersion2 {
		updated = r.varint()
	}
	if r.err != nil {
		return r.err
	}
	u.DepositedCents, u.SettledCents, u.PendingCents = deposited, settled, pending
	if updated != 0 {
		u.UpdatedAt = updated
	}
	return nil
}

func encodeSpend(a *model.Agent) []byte { return appendSpend(make([]byte, 0, 32), a) }

// appendSpend appends an agent's spend delta to b.
func appendSpend(b []byte, a *model.Agent) []byte {
	b = append(b, deltaVersion)
	b = binary.AppendVarint(b, a.Spend.WindowStart)
	b = binary.AppendVarint(b, a.Spend.Cents)
	for i := range a.Spend.HourIndex {
		if a.Spend.HourIndex[i] != 0 {
			b = append(b, byte(i))
			b = binary.AppendVarint(b, a.Spend.HourIndex[i])
			b = binary.AppendVarint(b, a.Spend.Hours[i])
		}
	}
	return b
}

func decodeSpend(b []byte, a *model.Agent) error {
	r, ok := newDeltaReader(b)
	if !ok {
		return errBadDelta
	}
	var w model.SpendWindow
	w.WindowStart, w.Cents = r.varint(), r.varint()
	for r.err == nil && len(r.b) > 0 {
		slot := int(r.byte())
		if slot >= len(w.HourIndex) {
			return errBadDelta
		}
		w.HourIndex[slot], w.Hours[slot] = r.varint(), r.varint()
	}
	if r.err != nil {
		return r.err
	}
	a.Spend = w
	return nil
}

// encodeUsage writes a card's usage counters in about a third of the
// bytes of their JSON (every approval writes them).
func encodeUsage(u *model.CardUsage, updatedAt int64) []byte {
	return appendUsage(make([]byte, 0, 130+len(u.LockedMerchant)+len(u.LastAccessEventID)+len(u.RecentAccesses)*binary.MaxVarintLen64), u, updatedAt)
}

// appendUsage appends a card's usage delta to b.
func appendUsage(b []byte, u *model.CardUsage, updatedAt int64) []byte {
	b = append(b, deltaVersion4)
	b = binary.AppendVarint(b, updatedAt)
	for _, v := range []int64{u.AuthCount, u.DayStart, u.DayCents, u.MonthStart, u.MonthCents, u.LastAccessAt} {
		b = binary.AppendVarint(b, v)
	}
	var flags byte
	if u.Used {
		flags |= 1
	}
	b = append(b, flags)
	for _, str := range []string{u.LockedMerchant, u.LastAccessEventID} {
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	b = binary.AppendUvarint(b, uint64(len(u.RecentAccesses)))
	for _, at := range u.RecentAccesses {
		b = binary.AppendVarint(b, at)
	}
	b = binary.AppendVarint(b, u.LastAuthAt)
	b = binary.AppendVarint(b, u.TotalCents)
	for _, v := range []int64{u.WeekStart, u.WeekCents, u.YearStart, u.YearCents} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// decodeUsage reads what encodeUsage wrote, and the JSON that stores made
// before it. updatedAt is the card's, 0 when the form does not carry it.
func decodeUsage(b []byte, u *model.CardUsage) (updatedAt int64, err error) {
	if len(b) > 0 && b[0] == '{' {
		return 0, json.Unmarshal(b, u)
	}
	var r deltaReader
	v := byte(0)
	if len(b) > 0 {
		v = b[0]
	}
	switch v {
	case deltaVersion:
		r = deltaReader{b: b[1:]}
	case deltaVersion2, deltaVersion3, deltaVersion4:
		r = deltaReader{b: b[1:]}
		updatedAt = r.varint()
	default:
		return 0, errBadDelta
	}
	u.AuthCount, u.DayStart, u.DayCents, u.MonthStart, u.MonthCents, u.LastAccessAt =
		r.varint(), r.varint(), r.varint(), r.varint(), r.varint(), r.varint()
	u.Used = r.byte()&1 != 0
	u.LockedMerchant, u.LastAccessEventID = r.str(), r.str()
	u.RecentAccesses = nil
	if n := r.count(); n > 0 {
		u.RecentAccesses = make([]int64, n)
		for i := range u.RecentAccesses {
			u.RecentAccesses[i] = r.varint()
		}
	}
	u.LastAuthAt, u.TotalCents = 0, 0
	if v >= deltaVersion3 {
		u.LastAuthAt, u.TotalCents = r.varint(), r.varint()
	}
	u.WeekStart, u.WeekCents, u.YearStart, u.YearCents = 0, 0, 0, 0
	if v == deltaVersion4 {
		u.WeekStart, u.WeekCents, u.YearStart, u.YearCents = r.varint(), r.varint(), r.varint(), r.varint()
	}
	if r.err == nil && len(r.b) != 0 {
		return 0, errBadDelta
	}
	return updatedAt, r.err
}

// deltaReader reads a delta record's fields in order. The first malformed
// field sets err; every read after it returns zero, so a decoder reads
// all its fields and checks err once.
type deltaReader struct {
	b   []byte
	err error
}

// newDeltaReader starts after the version byte; ok is false when b does
// not start with this version.
func newDeltaReader(b []byte) (deltaReader, bool) {
	if len(b) == 0 || b[0] != deltaVersion {
		return deltaReader{}, false
	}
	return deltaReader{b: b[1:]}, true
}

// newVersionedDeltaReader is newDeltaReader for the records that have a
// version 2 as well; it says which version b is.
func newVersionedDeltaReader(b []byte) (deltaReader, byte, bool) {
	if len(b) == 0 || (b[0] != deltaVersion && b[0] != deltaVersion2) {
		return deltaReader{}, 0, false
	}
	return deltaReader{b: b[1:]}, b[0], true
}

func (r *deltaReader) fail() { r.err, r.b = errBadDelta, nil }

func (r *deltaReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *deltaReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// count reads a length, which cannot exceed the bytes left (every entry
// or character takes at least one).
func (r *deltaReader) count() int {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func (r *deltaReader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	v := string(r.b[:n])
	r.b = r.b[n:]
	return v
}

// putUser writes a whole user record and its balance delta.
func (c *change) putUser(u *model.User) {
	c.put(keyspace.UserKey(u.ID), u)
	c.putBalance(u)
}

// putBalance writes only a user's balance.
func (c *change) putBalance(u *model.User) {
	var buf [deltaScratchBytes]byte // on the stack: set copies it
	c.set(keyspace.BalanceKey(u.ID), appendBalance(buf[:0], u))
}

// putCard writes a whole card record and its usage delta.
func (c *change) putCard(card *model.Card) {
	// A copy goes to the encoder, which escape analysis cannot see
	// through: the caller's card may then stay on its stack (an
	// authorization's working copy, when only its usage changes).
	cp := *card
	c.put(keyspace.CardKey(card.ID), &cp)
	c.putUsage(card)
}

// putUsage writes only a card's usage counters.
func (c *change) putUsage(card *model.Card) {
	var buf [deltaScratchBytes]byte
	c.set(keyspace.UsageKey(card.ID), appendUsage(buf[:0], &card.Usage, card.UpdatedAt))
}

// putAgent writes a whole agent record and its spend delta.
func (c *change) putAgent(a *model.Agent) {
	cp := *a // as in putCard
	c.put(keyspace.AgentKey(a.ID), &cp)
	c.putSpend(a)
}

// putSpend writes only an agent's spend window.
func (c *change) putSpend(a *model.Agent) {
	var buf [deltaScratchBytes]byte
	c.set(keyspace.SpendKey(a.ID), appendSpend(buf[:0], a))
}

// overlayDeltas lays the delta records over the whole records loaded at
// start.
func (l *Ledger) overlayDeltas() error {
	return OverlayDeltas(l.db,
		func(id string) *model.User { return l.shardOf(id).users[id] },
		func(id string) *model.Card {
			if userID, ok := l.dir.userOfCard[id]; ok {
				return l.shardOf(userID).cards[id]
			}
			return nil
		},
		func(id string) *model.Agent {
			if userID, ok := l.dir.userOfAgent[id]; ok {
				return l.shardOf(userID).agents[id]
			}
			return nil
		})
}

// OverlayDeltas lays the store's delta records (balances, card usage,
// agent spend) over whole records that were read from it, found by the
// lookups (nil when the record is unknown). A delta is always at least as
// new as its record, since every write of a whole record writes its delta
// too. Anything that reads users, cards or agents from the store, rather
// than from a running ledger, must apply it.
func OverlayDeltas(db *store.DB, user func(string) *model.User, card func(string) *model.Card, agent func(string) *model.Agent) error {
	var err error
	scan := func(prefix []byte, apply func(id string, v []byte) error) {
		if err != nil {
			return
		}
		serr := db.Scan(prefix, "", false, func(k, v []byte) bool {
			err = apply(string(k[len(prefix):]), v)
			return err == nil
		})
		if err == nil {
			err = serr
		}
	}
	scan(keyspace.BalancePrefix, func(id string, v []byte) error {
		if u := user(id); u != nil {
			return decodeBalance(v, u)
		}
		return nil
	})
	scan(keyspace.UsagePrefix, func(id string, v []byte) error {
		if c := card(id); c != nil {
			// Decode into a fresh value: decoding over the record's usage
			// would leave a field the delta omits (false, zero) at the
			// record's older value.
			var u model.CardUsage
			updated, err := decodeUsage(v, &u)
			if err != nil {
				return err
			}
			c.Usage = u
			if updated != 0 {
				c.UpdatedAt = updated
			}
		}
		return nil
	})
	scan(keyspace.SpendPrefix, func(id string, v []byte) error {
		if a := agent(id); a != nil {
			return decodeSpend(v, a)
		}
		return nil
	})
	return err
}
