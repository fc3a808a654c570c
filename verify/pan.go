package verify

import (
	"strings"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/vault"
)

// checkCardPAN: the card's sealed PAN opens with the vault key bound to
// the card's ID, is Luhn-valid, hashes to the stored PANHash and agrees
// with the stored BIN and last four; and no two cards share a PANHash,
// since the PAN → card index (and so every ISO message) finds one card per
// hash. hashOwner maps each hash seen so far to its first card.
//
// The PAN lives only in this function's frame: nothing about it but the
// card ID and what failed goes into the report.
func (s *state) checkCardPAN(id string, c *model.Card, hashOwner map[string]string) {
	r := &s.pan
	if first, dup := hashOwner[c.PANHash]; dup {
		r.breach("card %s: PANHash shared with card %s", id, first)
	} else {
		hashOwner[c.PANHash] = id
	}
	if c.ID != id {
		r.breach("card %s: stored under another card's key", id)
		return
	}
	pan, err := s.v.Open(id, c.PANEnc)
	switch {
	case err != nil:
		r.breach("card %s: sealed PAN does not open with the card key", id)
	case !vault.Luhn(pan):
		r.breach("card %s: PAN is not Luhn-valid", id)
	case s.v.Hash(pan) != c.PANHash:
		r.breach("card %s: PANHash is not the keyed hash of its PAN", id)
	case !strings.HasPrefix(pan, c.BIN) || !strings.HasSuffix(pan, c.Last4) || len(c.Last4) != 4:
		r.breach("card %s: stored BIN or last four do not match its PAN", id)
	}
}

// checkOrigIndex: every durable original key (xos/<STAN>|<DE 7>|<card>,
// xor/<RRN>|<approval code>|<card>) names an existing approved purchase
// whose own STAN and DE 7 (or RRN and approval code) and card are the
// key's. A clearing or
// reversal found through a wrong key would act on another transaction.
func (s *state) checkOrigIndex() error {
	idx := []struct {
		name   string
		prefix []byte
		keyOf  func(t *model.Transaction) string
	}{
		{"xos/", keyspace.OrigSTANPrefix, func(t *model.Transaction) string { return t.STAN + "|" + t.TxnTime + "|" + t.CardID }},
		{"xor/", keyspace.OrigRRNPrefix, func(t *model.Transaction) string { return t.RRN + "|" + t.AuthorizationCode + "|" + t.CardID }},
	}
	for _, ix := range idx {
		err := scanKeys(s.db, ix.prefix, func(k string, v []byte) {
			s.pan.Checked++
			// The key holds network references, not IDs; it is named by
			// the transaction it points to.
			id := string(v)
			t := s.txns[id]
			switch {
			case t == nil:
				s.pan.breach("original index %s: points to transaction %s, which does not exist", ix.name, id)
			case t.Kind != model.KindPurchase || (t.ResponseCode != authz.CodeApproved && t.ResponseCode != authz.CodePartialApproval) || t.Status == model.TxnDeclined:
				s.pan.breach("original index %s: points to transaction %s, not an approved purchase", ix.name, id)
			case ix.keyOf(t) != k:
				s.pan.breach("original index %s: points to transaction %s, whose network references differ", ix.name, id)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}
