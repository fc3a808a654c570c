// Package seed turns a load-test state file into the cards and funding
// accounts of the comparison's peer hosts, so that every target of
// bench/cmd/compare holds the same cards: the same PANs, expiry dates,
// CVV2s, per-card limits and balances that ledgersim was provisioned with.
package seed

import (
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/loadtest"
)

// DefaultBalanceCents is each account's starting balance when none is
// given: the deposit loadtest.Provision makes for every user by default
// (1,000,000 USDC tokens of 100 cents each).
const DefaultBalanceCents = 1_000_000 * 100

// Card is one card as a peer host keeps it.
type Card struct {
	PAN            string
	CVV            string
	Expiry         string // YYMM, as DE 14 carries it
	MaxAmountCents int64  // the per-card limit: a purchase above it gets 61
	AccountID      string // the funding account (ledgersim's user)
	Status         string // StatusActive, StatusFrozen or StatusClosed
}

// Card statuses.
const (
	StatusActive = "active"
	StatusFrozen = "frozen"
	StatusClosed = "closed"
)

// String keeps %v from printing the card's credentials.
func (c Card) String() string { return "card " + loadtest.MaskPAN(c.PAN) }

// GoString keeps %#v from printing them either.
func (c Card) GoString() string { return c.String() }

// Account is a funding account: ledgersim's user, whose balance all of
// the user's cards spend from.
type Account struct {
	ID           string
	BalanceCents int64
}

// Seed is everything a peer host starts with.
type Seed struct {
	Accounts []Account
	Cards    []Card
}

// FromState builds the seed for a state file's cards. Cards of the same
// user (Card.UserID) share one account, as they share the user's balance
// in ledgersim; a card without a user (synthetic cards) gets an account of
// its own. Every account starts with balanceCents, which must be
// positive. Every card is active.
func FromState(st *loadtest.State, balanceCents int64) (*Seed, error) {
	if st == nil || len(st.Cards) == 0 {
		return nil, errors.New("seed: the state has no cards")
	}
	if balanceCents <= 0 {
		return nil, fmt.Errorf("seed: balance %d must be positive", balanceCents)
	}
	s := &Seed{Cards: make([]Card, 0, len(st.Cards))}
	seenAccount := map[string]bool{}
	seenPAN := make(map[string]bool, len(st.Cards))
	for i, c := range st.Cards {
		if len(c.ExpYear) != 4 || len(c.ExpMonth) != 2 {
			return nil, fmt.Errorf("seed: card %d (%s): bad expiry", i, loadtest.MaskPAN(c.PAN))
		}
		if seenPAN[c.PAN] {
			return nil, fmt.Errorf("seed: card %d (%s): PAN given twice", i, loadtest.MaskPAN(c.PAN))
		}
		seenPAN[c.PAN] = true
		acct := c.UserID
		if acct == "" {
			acct = fmt.Sprintf("acct_%d", i)
		}
		if !seenAccount[acct] {
			seenAccount[acct] = true
			s.Accounts = append(s.Accounts, Account{ID: acct, BalanceCents: balanceCents})
		}
		s.Cards = append(s.Cards, Card{
			PAN:            c.PAN,
			CVV:            c.CVV,
			Expiry:         c.ExpYear[2:4] + c.ExpMonth,
			MaxAmountCents: c.MaxAmountCents,
			AccountID:      acct,
			Status:         StatusActive,
		})
	}
	return s, nil
}

// Load reads a state file written by loadtest.State.Save (checking every
// card as loadtest.LoadState does) and builds its seed.
func Load(path string, balanceCents int64) (*Seed, error) {
	st, err := loadtest.LoadState(path)
	if err != nil {
		return nil, err
	}
	return FromState(st, balanceCents)
}
