package statement

import (
	"cmp"
	"slices"

	"github.com/ledgersim/ledgersim/mcc"
	"github.com/ledgersim/ledgersim/model"
)

// Summary is a statement without its lines: what a list of statements
// shows. Amounts are cents, times epoch seconds.
type Summary struct {
	Object      string `json:"object"`
	ID          string `json:"id"`
	UserID      string `json:"userId"`
	Type        string `json:"type"`
	PeriodStart int64  `json:"periodStart"`
	PeriodEnd   int64  `json:"periodEnd"`
	Currency    string `json:"currency"`
	// OpeningBalance and ClosingBalance are what was owed at the period's
	// start and end.
	OpeningBalance int64 `json:"openingBalance"`
	ClosingBalance int64 `json:"closingBalance"`
	// CreditLimit is what had been deposited by the period's end.
	CreditLimit int64 `json:"creditLimit"`
	// PendingCharges are the authorizations still open at the period's end.
	PendingCharges int64 `json:"pendingCharges"`
	// AvailableCredit is CreditLimit - ClosingBalance - PendingCharges.
	AvailableCredit int64 `json:"availableCredit"`
	TotalSpent      int64 `json:"totalSpent"`
	TotalRefunds    int64 `json:"totalRefunds"`
	TotalFees       int64 `json:"totalFees"`
	// TotalWithdrawals is what left the deposits in the period; it lowers
	// the credit limit and leaves the balance owed as it was.
	TotalWithdrawals int64 `json:"totalWithdrawals"`
	TransactionCount int   `json:"transactionCount"`
	CreatedAt        int64 `json:"createdAt"`
}

// Statement is a full statement: its summary, every line and the totals
// by merchant and by category.
type Statement struct {
	Summary
	Transactions      []Line          `json:"transactions"`
	SummaryByMerchant []MerchantTotal `json:"summaryByMerchant"`
	SummaryByCategory []CategoryTotal `json:"summaryByCategory"`
	// Withdrawals made in the period, oldest first.
	Withdrawals []WithdrawalLine `json:"withdrawals"`
}

// WithdrawalLine is one withdrawal on a statement; CreatedAt is epoch
// seconds.
type WithdrawalLine struct {
	ID               string `json:"id"`
	Amount           int64  `json:"amount"`
	ChainID          int    `json:"chainId"`
	RecipientAddress string `json:"recipientAddress"`
	TransactionHash  string `json:"transactionHash,omitempty"`
	Status           string `json:"status"`
	CreatedAt        int64  `json:"createdAt"`
}

// Line is one transaction on a statement. Amount is positive; Type says
// whether it was charged (purchase) or credited (refund).
type Line struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	Status               string `json:"status"`
	Amount               int64  `json:"amount"`
	Currency             string `json:"currency"`
	MerchantName         string `json:"merchantName"`
	MerchantCategoryCode string `json:"merchantCategoryCode"`
	Category             string `json:"category"`
	CardID               string `json:"cardId"`
	AgentID              string `json:"agentId"`
	// AuthorizedAt is absent for a refund and a force post, which were
	// never authorized.
	AuthorizedAt *int64 `json:"authorizedAt"`
	PostedAt     int64  `json:"postedAt"`
}

// MerchantTotal sums a merchant's lines; TotalAmount is charged less
// refunded.
type MerchantTotal struct {
	MerchantName     string `json:"merchantName"`
	TransactionCount int    `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
}

// CategoryTotal sums a merchant category's lines, as MerchantTotal does.
type CategoryTotal struct {
	Category         string `json:"category"`
	CategoryCode     string `json:"categoryCode"`
	TransactionCount int    `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
}

// Uncategorized names the category of a line without a merchant category
// code the simulator knows.
const Uncategorized = "Uncategorized"

// posting is what a transaction did to the balance owed: charge cents
// (negative for a credit) at ms. ok is false for a transaction that moved
// no money: a decline, an authorization not cleared, one reversed before
// it cleared, an account verification.
func posting(t *model.Transaction) (ms, charge int64, ok bool) {
	if t.SettledAt == 0 {
		return 0, 0, false
	}
	switch {
	case t.Kind == model.KindPurchase && t.Status == model.TxnCompleted:
		return t.SettledAt, t.AmountCents, true
	case t.Kind == model.KindPurchase && t.Status == model.TxnReversed:
		// Reversed after it cleared: the reversal gave back all but what
		// its refunds had already credited (ledger.reverseLocked).
		return t.SettledAt, t.RefundedCents, true
	case t.Kind == model.KindRefund && t.Status == model.TxnCompleted:
		return t.SettledAt, -t.AmountCents, true
	}
	return 0, 0, false
}

// pendingAt is what t held of the user's balance at the instant ms.
func pendingAt(t *model.Transaction, ms int64) int64 {
	if t.Kind != model.KindPurchase || t.AuthorizedAt == 0 || t.AuthorizedAt >= ms {
		return 0
	}
	if t.Status == model.TxnAuthorized {
		return t.HoldCents
	}
	closed := t.SettledAt
	if closed == 0 {
		closed = t.ReversedAt
	}
	if closed == 0 || closed < ms {
		return 0
	}
	// Open then: its hold was what was authorized (a partial reversal
	// before it closed is not dated, and counts from the start).
	return t.AuthorizedAmountCents
}

// Builder computes statements for periods of one user from that user's
// transactions, fed once each in any order.
type Builder struct {
	userID  string
	periods []Period
	acc     []accum
	lines   bool
}

type accum struct {
	opening, spent, refunds, pending int64
	count                            int
	lines                            []Line
	withdrawn                        int64
	withdrawals                      []WithdrawalLine
}

// NewBuilder starts statements of userID for periods; withLines keeps
// each period's lines (for full statements; a list needs only totals).
func NewBuilder(userID string, periods []Period, withLines bool) *Builder {
	return &Builder{userID: userID, periods: periods, acc: make([]accum, len(periods)), lines: withLines}
}

// Lines is how many lines the builder holds so far, to bound a statement.
func (b *Builder) Lines() int {
	n := 0
	for i := range b.acc {
		n += len(b.acc[i].lines)
	}
	return n
}

// Add takes one of the user's transactions into every period it touches.
func (b *Builder) Add(t *model.Transaction) {
	ms, charge, posted := posting(t)
	for i, p := range b.periods {
		a := &b.acc[i]
		a.pending += pendingAt(t, p.End*1000)
		if !posted {
			continue
		}
		switch {
		case ms < p.Start*1000:
			a.opening += charge
			continue
		case ms >= p.End*1000:
			continue
		}
		a.count++
		if charge >= 0 {
			a.spent += charge
		} else {
			a.refunds -= charge
		}
		if b.lines {
			a.lines = append(a.lines, line(t, ms, charge))
		}
	}
}

// AddWithdrawal takes one of the user's withdrawals into the period it was
// made in. A withdrawal is not a line: it moves deposits, not what is owed.
// A failed one returned its funds, and is left out.
func (b *Builder) AddWithdrawal(w *model.Withdrawal) {
	if w.Status == model.WithdrawalFailed {
		return
	}
	for i, p := range b.periods {
		if w.CreatedAt < p.Start*1000 || w.CreatedAt >= p.End*1000 {
			continue
		}
		a := &b.acc[i]
		a.withdrawn += w.AmountCents
		if b.lines {
			a.withdrawals = append(a.withdrawals, WithdrawalLine{ID: w.ID, Amount: w.AmountCents, ChainID: w.ChainID,
				RecipientAddress: w.RecipientAddress, TransactionHash: w.TransactionHash, Status: w.Status, CreatedAt: w.CreatedAt / 1000})
		}
	}
}

func line(t *model.Transaction, ms, charge int64) Line {
	l := Line{ID: t.ID, Type: t.Kind, Status: t.Status, Amount: charge, Currency: t.Currency, MerchantName: t.MerchantName,
		MerchantCategoryCode: t.MCC, Category: Uncategorized, CardID: t.CardID, AgentID: t.AgentID, PostedAt: ms / 1000}
	if charge < 0 {
		l.Amount = -charge
	}
	if l.Currency == "" {
		l.Currency = "USD"
	}
	if name, ok := mcc.Name(t.MCC); ok {
		l.Category = name
	}
	if t.AuthorizedAt != 0 && t.Kind == model.KindPurchase {
		s := t.AuthorizedAt / 1000
		l.AuthorizedAt = &s
	}
	return l
}

// Summary returns the summary of the i-th period: creditLimit is what had
// been deposited by its end, createdAt when the statement was made.
func (b *Builder) Summary(i int, creditLimit, createdAt int64) Summary {
	p, a := b.periods[i], &b.acc[i]
	closing := a.opening + a.spent - a.refunds
	return Summary{Object: "statement", ID: ID(b.userID, p), UserID: b.userID, Type: p.Type, PeriodStart: p.Start,
		PeriodEnd: p.End, Currency: "USD", OpeningBalance: a.opening, ClosingBalance: closing, CreditLimit: creditLimit,
		PendingCharges: a.pending, AvailableCredit: creditLimit - closing - a.pending, TotalSpent: a.spent,
		TotalRefunds: a.refunds, TotalWithdrawals: a.withdrawn, TransactionCount: a.count, CreatedAt: createdAt}
}

// Statement returns the full statement of the i-th period (the builder
// must keep lines): lines oldest first, totals largest first.
func (b *Builder) Statement(i int, creditLimit, createdAt int64) Statement {
	s := Statement{Summary: b.Summary(i, creditLimit, createdAt), Transactions: b.acc[i].lines, Withdrawals: b.acc[i].withdrawals}
	if s.Transactions == nil {
		s.Transactions = []Line{}
	}
	if s.Withdrawals == nil {
		s.Withdrawals = []WithdrawalLine{}
	}
	slices.SortFunc(s.Withdrawals, func(x, y WithdrawalLine) int {
		return cmp.Or(cmp.Compare(x.CreatedAt, y.CreatedAt), cmp.Compare(x.ID, y.ID))
	})
	slices.SortFunc(s.Transactions, func(x, y Line) int {
		return cmp.Or(cmp.Compare(x.PostedAt, y.PostedAt), cmp.Compare(x.ID, y.ID))
	})
	merchants := map[string]*MerchantTotal{}
	categories := map[string]*CategoryTotal{}
	s.SummaryByMerchant, s.SummaryByCategory = []MerchantTotal{}, []CategoryTotal{}
	for _, l := range s.Transactions {
		signed := l.Amount
		if l.Type == model.KindRefund {
			signed = -signed
		}
		m := merchants[l.MerchantName]
		if m == nil {
			m = &MerchantTotal{MerchantName: l.MerchantName}
			merchants[l.MerchantName] = m
		}
		m.TransactionCount++
		m.TotalAmount += signed
		c := categories[l.MerchantCategoryCode]
		if c == nil {
			c = &CategoryTotal{Category: l.Category, CategoryCode: l.MerchantCategoryCode}
			categories[l.MerchantCategoryCode] = c
		}
		c.TransactionCount++
		c.TotalAmount += signed
	}
	for _, m := range merchants {
		s.SummaryByMerchant = append(s.SummaryByMerchant, *m)
	}
	for _, c := range categories {
		s.SummaryByCategory = append(s.SummaryByCategory, *c)
	}
	slices.SortFunc(s.SummaryByMerchant, func(x, y MerchantTotal) int {
		return cmp.Or(cmp.Compare(y.TotalAmount, x.TotalAmount), cmp.Compare(x.MerchantName, y.MerchantName))
	})
	slices.SortFunc(s.SummaryByCategory, func(x, y CategoryTotal) int {
		return cmp.Or(cmp.Compare(y.TotalAmount, x.TotalAmount), cmp.Compare(x.CategoryCode, y.CategoryCode))
	})
	return s
}
