package moovhost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/bench/seed"
)

// Memory is the ledger a Go team writes first: cards, accounts and
// authorizations in Go maps under one mutex. Nothing is written anywhere:
// a crash loses every hold, every balance change and every authorization,
// and a restart starts again from the seed. That is the point of the
// comparison: it measures what the ISO 8583 stack and the rules cost on
// their own, without durability.
type Memory struct {
	now func() time.Time

	mu       sync.Mutex
	cards    map[string]*card
	auths    map[string]*auth // by RRN (DE 37)
	authSeq  uint32
	accounts int
}

type card struct {
	rules CardRules
	pan   string
	cvv   string
	acct  *account
}

type account struct {
	balanceCents int64
	heldCents    int64
}

// Authorization states.
const (
	stateDeclined uint8 = iota
	stateHeld           // an approved purchase with an open hold
	stateCleared
	stateReversed
	stateRefunded // an approved credit
)

type auth struct {
	stan        string
	card        *card // nil for an unknown PAN
	amountCents int64
	holdCents   int64
	code        string
	authCode    string
	state       uint8
}

// NewMemory builds a Memory ledger holding the seed's cards and accounts.
// now is the clock of expiry checks; nil means time.Now.
func NewMemory(s *seed.Seed, now func() time.Time) (*Memory, error) {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, cards: make(map[string]*card, len(s.Cards)), auths: map[string]*auth{}}
	accts := make(map[string]*account, len(s.Accounts))
	for _, a := range s.Accounts {
		if _, dup := accts[a.ID]; dup {
			return nil, fmt.Errorf("moovhost: account %s given twice", a.ID)
		}
		accts[a.ID] = &account{balanceCents: a.BalanceCents}
	}
	for _, c := range s.Cards {
		a := accts[c.AccountID]
		if a == nil {
			return nil, fmt.Errorf("moovhost: %s: unknown account %s", c, c.AccountID)
		}
		if _, dup := m.cards[c.PAN]; dup {
			return nil, fmt.Errorf("moovhost: %s given twice", c)
		}
		m.cards[c.PAN] = &card{
			rules: CardRules{Status: c.Status, Expiry: c.Expiry, MaxAmountCents: c.MaxAmountCents},
			pan:   c.PAN, cvv: c.CVV, acct: a,
		}
	}
	m.accounts = len(accts)
	return m, nil
}

// newAuthCode returns a six-digit approval code. It runs under mu.
func (m *Memory) newAuthCode() string {
	m.authSeq++
	return fmt.Sprintf("%06d", m.authSeq%1_000_000)
}

// Authorize implements Ledger.
func (m *Memory) Authorize(_ context.Context, r *Request) Answer {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.auths[r.RRN]; ok {
		if a.stan == r.STAN {
			return Answer{Code: a.code, AuthCode: a.authCode}
		}
		return Answer{Code: CodeDuplicate}
	}
	a := &auth{stan: r.STAN, amountCents: r.AmountCents}
	c := m.cards[r.PAN]
	switch {
	case c == nil:
		a.code = CodeInvalidCard
	case r.Refund():
		a.card = c
		if a.code = DecideRefund(r); a.code == CodeApproved {
			c.acct.balanceCents += r.AmountCents
			a.state = stateRefunded
		}
	default:
		a.card = c
		mismatch := r.HasCVV && r.CVV != c.cvv
		a.code = DecidePurchase(c.rules, mismatch, c.acct.balanceCents-c.acct.heldCents, r, now)
		if a.code == CodeApproved {
			c.acct.heldCents += r.AmountCents
			a.holdCents, a.state = r.AmountCents, stateHeld
		}
	}
	if a.code == CodeApproved {
		a.authCode = m.newAuthCode()
	}
	m.auths[r.RRN] = a
	return Answer{Code: a.code, AuthCode: a.authCode}
}

// original finds the approval a clearing or reversal refers to. It runs
// under mu.
func (m *Memory) original(r *Request) *auth {
	a := m.auths[r.RRN]
	if a == nil || a.card == nil || a.code != CodeApproved || a.authCode != r.AuthCode || a.card.pan != r.PAN {
		return nil
	}
	return a
}

// Capture implements Ledger.
func (m *Memory) Capture(_ context.Context, r *Request) Answer {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.original(r)
	if a == nil || a.state != stateHeld {
		return Answer{Code: CodeNoOriginal}
	}
	if r.AmountCents <= 0 || r.AmountCents > CaptureLimit(a.amountCents) {
		return Answer{Code: CodeInvalidAmount}
	}
	acct := a.card.acct
	acct.heldCents -= a.holdCents
	acct.balanceCents -= r.AmountCents
	a.holdCents, a.state = 0, stateCleared
	return Answer{Code: CodeApproved}
}

// Reverse implements Ledger.
func (m *Memory) Reverse(_ context.Context, r *Request) Answer {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.original(r)
	switch {
	case a == nil:
		return Answer{Code: CodeNoOriginal}
	case a.state == stateReversed:
		return Answer{Code: CodeApproved} // already reversed: a repeat
	case a.state != stateHeld:
		return Answer{Code: CodeNoOriginal}
	}
	remain := int64(0)
	if r.HasReplacement {
		remain = r.ReplacementCents
	}
	if remain < 0 || remain > a.holdCents {
		return Answer{Code: CodeInvalidAmount}
	}
	a.card.acct.heldCents -= a.holdCents - remain
	a.holdCents = remain
	if remain == 0 {
		a.state = stateReversed
	}
	return Answer{Code: CodeApproved}
}

// Balance returns the balance and holds of the account of the card with
// pan, for tests and checks.
func (m *Memory) Balance(pan string) (balanceCents, heldCents int64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cards[pan]
	if c == nil {
		return 0, 0, false
	}
	return c.acct.balanceCents, c.acct.heldCents, true
}

// Size reports how many cards, accounts and authorizations the ledger
// holds.
func (m *Memory) Size() (cards, accounts, auths int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cards), m.accounts, len(m.auths)
}
