package api

import (
	"regexp"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

// evmAddress is an EVM address: 0x and 40 hex digits.
var evmAddress = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)

type withdrawalView struct {
	Object           string `json:"object"`
	ID               string `json:"id"`
	UserID           string `json:"userId"`
	ChainID          int    `json:"chainId"`
	TokenAddress     string `json:"tokenAddress"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	RecipientAddress string `json:"recipientAddress"`
	Status           string `json:"status"`
	TransactionHash  string `json:"transactionHash,omitempty"`
	CreatedAt        int64  `json:"createdAt"`
	UpdatedAt        int64  `json:"updatedAt"`
	ConfirmedAt      int64  `json:"confirmedAt,omitempty"`
	FailedAt         int64  `json:"failedAt,omitempty"`
	FailureReason    string `json:"failureReason,omitempty"`
}

func viewWithdrawal(w *model.Withdrawal) withdrawalView {
	return withdrawalView{Object: "withdrawal", ID: w.ID, UserID: w.UserID, ChainID: w.ChainID, TokenAddress: w.TokenAddress,
		Amount: w.AmountCents, Currency: "USD", RecipientAddress: w.RecipientAddress, Status: w.Status,
		TransactionHash: w.TransactionHash, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, ConfirmedAt: w.ConfirmedAt,
		FailedAt: w.FailedAt, FailureReason: w.FailureReason}
}

// createWithdrawal answers POST /v1/users/{id}/withdrawals.
func (a *API) createWithdrawal(rc *reqCtx) error {
	userID := rc.param("id")
	if _, err := a.l.GetUser(userID); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	chainID := f.int("chainId", true, 1, 1<<31)
	token := f.str("tokenAddress", true, 42)
	amount := f.int("amount", true, 1, ledger.MaxBalanceCents)
	// The simulator has no registered address to default to, so the
	// recipient is required.
	recipient := f.str("recipientAddress", true, 42)
	if e := f.done(); e != nil {
		return e
	}
	if !evmAddress.MatchString(token) {
		return errInvalid("tokenAddress", "'tokenAddress' must be an address: 0x and 40 hexadecimal digits.")
	}
	if !evmAddress.MatchString(recipient) {
		return errInvalid("recipientAddress", "'recipientAddress' must be an address: 0x and 40 hexadecimal digits.")
	}
	if _, ok := ledger.ChainByID(int(*chainID)); !ok {
		return errInvalid("chainId", "'chainId' must be one of the chains deposits arrive on: 137 (Polygon), 8453 (Base), 10 (Optimism), 42161 (Arbitrum), 43114 (Avalanche).")
	}
	rc.render(201, func(r any) any { w := r.(model.Withdrawal); return viewWithdrawal(&w) })
	w, lerr := a.l.CreateWithdrawal(rc.ctx, userID, ledger.WithdrawalInput{ChainID: int(*chainID), TokenAddress: token,
		AmountCents: *amount, RecipientAddress: recipient})
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, viewWithdrawal(&w))
}

func (a *API) listWithdrawals(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListWithdrawals(rc.param("id"), p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewWithdrawal))
	return nil
}

func (a *API) getWithdrawal(rc *reqCtx) error {
	if _, err := a.l.GetUser(rc.param("id")); err != nil {
		return err
	}
	w, err := a.l.GetWithdrawal(rc.param("id"), rc.param("withdrawalId"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewWithdrawal(&w))
	return nil
}

// resolveWithdrawal answers POST /v1/simulate/withdrawal/{id}/resolve: the
// chain's decision on a submitted withdrawal, confirmed or failed (which
// returns the funds), with an optional failure reason.
func (a *API) resolveWithdrawal(rc *reqCtx) error {
	id := rc.param("id")
	f, err := rc.body()
	if err != nil {
		return err
	}
	outcome := f.enum("outcome", true, []string{ledger.WithdrawalOutcomeConfirmed, ledger.WithdrawalOutcomeFailed})
	reason := f.str("reason", false, 200)
	if e := f.done(); e != nil {
		return e
	}
	if reason != "" && outcome != ledger.WithdrawalOutcomeFailed {
		return errInvalid("reason", "'reason' is given only with the outcome failed.")
	}
	rc.render(200, func(r any) any { w := r.(model.Withdrawal); return viewWithdrawal(&w) })
	w, lerr := a.l.ResolveWithdrawal(rc.ctx, id, outcome, reason)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewWithdrawal(&w))
}
