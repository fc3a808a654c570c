package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// ChainByID finds a chain by its EVM chain ID.
func ChainByID(id int) (Chain, bool) {
	for _, c := range Chains {
		if c.ID == id {
			return c, true
		}
	}
	return Chain{}, false
}

// WithdrawalInput is a validated withdrawal request.
type WithdrawalInput struct {
	ChainID          int
	TokenAddress     string
	AmountCents      int64
	RecipientAddress string
}

// CreateWithdrawal sends part of a user's funds to an address. It takes at
// most what is available (settled less the open holds), and takes it from
// the deposits as well as from the settled balance: the credit line
// shrinks by what leaves it, and what the user owes (deposited − settled)
// does not change. The withdrawal is recorded submitted, with its
// withdrawal.submitted event; ResolveWithdrawal then confirms it or fails
// it (which returns the funds).
func (l *Ledger) CreateWithdrawal(ctx context.Context, userID string, in WithdrawalInput) (model.Withdrawal, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	if _, ok := ChainByID(in.ChainID); !ok {
		return model.Withdrawal{}, invalid("parameter_invalid", "chainId", "Unknown chainId.")
	}
	s := l.shardOf(userID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	u, ok := s.users[userID]
	if !ok {
		return model.Withdrawal{}, notFound("user_not_found", "user", userID)
	}
	if u.Status != model.UserApproved {
		return model.Withdrawal{}, notVerified(u, "Withdrawals are made")
	}
	if avail := u.AvailableCents(); in.AmountCents > avail {
		return model.Withdrawal{}, &Error{Kind: KindInvalid, Code: "insufficient_funds", Param: "amount",
			Message: fmt.Sprintf("The withdrawal is more than the %d cents available (deposits less posted and pending charges).", max(avail, 0))}
	}
	nu := *u
	nu.DepositedCents -= in.AmountCents
	nu.SettledCents -= in.AmountCents
	nu.UpdatedAt = nowMs
	id := l.ids.New(model.PrefixWithdrawal, now)
	h := sha256.Sum256([]byte("ledgersim/withdrawal/" + id))
	w := model.Withdrawal{ID: id, UserID: userID, ChainID: in.ChainID, TokenAddress: in.TokenAddress, AmountCents: in.AmountCents,
		RecipientAddress: in.RecipientAddress, Status: model.WithdrawalSubmitted, TransactionHash: "0x" + hex.EncodeToString(h[:]),
		CreatedAt: nowMs, UpdatedAt: nowMs}
	c := l.begin(now)
	c.kind(RecWithdrawal)
	c.putBalance(&nu)
	c.put(keyspace.WithdrawalKey(w.ID), &w)
	c.index(keyspace.WithdrawalByUserKey(userID, w.ID))
	c.event(model.EvtWithdrawalSubmitted, withdrawalEventData(&w))
	if err := c.apply(ctx, w); err != nil {
		return model.Withdrawal{}, err
	}
	*u = nu
	release()
	return w, c.wait()
}

func withdrawalEventData(w *model.Withdrawal) map[string]any {
	m := map[string]any{"withdrawalId": w.ID, "userId": w.UserID, "amount": w.AmountCents, "currency": "USD",
		"chainId": w.ChainID, "tokenAddress": w.TokenAddress, "recipientAddress": w.RecipientAddress,
		"status": w.Status, "transactionHash": w.TransactionHash}
	if w.FailureReason != "" {
		m["failureReason"] = w.FailureReason
	}
	return m
}

// Withdrawal outcomes, as the simulated chain names them.
const (
	WithdrawalOutcomeConfirmed = model.WithdrawalConfirmed
	WithdrawalOutcomeFailed    = model.WithdrawalFailed
)

// ResolveWithdrawal decides a submitted withdrawal as the chain would:
// confirmed (withdrawal.confirmed; the funds stay gone) or failed
// (withdrawal.failed; the amount returns to the deposits and the settled
// balance it left, even past the balance cap, since it was there before).
func (l *Ledger) ResolveWithdrawal(ctx context.Context, id, outcome, reason string) (model.Withdrawal, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	if outcome != WithdrawalOutcomeConfirmed && outcome != WithdrawalOutcomeFailed {
		return model.Withdrawal{}, invalid("parameter_invalid", "outcome", "'outcome' must be confirmed or failed.")
	}
	var w model.Withdrawal
	if err := l.getJSON(keyspace.WithdrawalKey(id), &w); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return w, notFound("withdrawal_not_found", "withdrawal", id)
		}
		return w, err
	}
	s := l.shardOf(w.UserID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	// Read again under the lock: another resolution may have come first.
	if err := l.getJSON(keyspace.WithdrawalKey(id), &w); err != nil {
		return model.Withdrawal{}, err
	}
	if w.Status != model.WithdrawalSubmitted {
		return model.Withdrawal{}, conflict("withdrawal_resolved", "The withdrawal is already "+w.Status+".")
	}
	u, ok := s.users[w.UserID]
	if !ok {
		return model.Withdrawal{}, notFound("user_not_found", "user", w.UserID)
	}
	c := l.begin(now)
	c.kind(RecWithdrawalResolution)
	w.Status, w.UpdatedAt = outcome, nowMs
	nu := *u
	if outcome == WithdrawalOutcomeConfirmed {
		w.ConfirmedAt = nowMs
		c.event(model.EvtWithdrawalConfirmed, withdrawalEventData(&w))
	} else {
		if reason == "" {
			reason = "transfer_failed"
		}
		w.FailedAt, w.FailureReason = nowMs, reason
		nu.DepositedCents += w.AmountCents
		nu.SettledCents += w.AmountCents
		nu.UpdatedAt = nowMs
		c.putBalance(&nu)
		c.event(model.EvtWithdrawalFailed, withdrawalEventData(&w))
	}
	c.put(keyspace.WithdrawalKey(w.ID), &w)
	if err := c.apply(ctx, w); err != nil {
		return model.Withdrawal{}, err
	}
	*u = nu
	release()
	return w, c.wait()
}

// GetWithdrawal returns one of a user's withdrawals.
func (l *Ledger) GetWithdrawal(userID, id string) (model.Withdrawal, error) {
	var w model.Withdrawal
	if err := l.getJSON(keyspace.WithdrawalKey(id), &w); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return w, notFound("withdrawal_not_found", "withdrawal", id)
		}
		return w, err
	}
	if w.UserID != userID {
		return model.Withdrawal{}, notFound("withdrawal_not_found", "withdrawal", id)
	}
	return w, nil
}

// ListWithdrawals pages through a user's withdrawals, newest first.
func (l *Ledger) ListWithdrawals(userID string, p ListParams) (Page[model.Withdrawal], error) {
	if _, err := l.GetUser(userID); err != nil {
		return Page[model.Withdrawal]{}, err
	}
	load := func(id string) (model.Withdrawal, bool, error) {
		w, err := l.GetWithdrawal(userID, id)
		if err != nil {
			var le *Error
			if errors.As(err, &le) {
				return w, false, nil
			}
			return w, false, err
		}
		return w, true, nil
	}
	return listIndexed(l.db, keyspace.WithdrawalByUserKey(userID, ""), p, load, nil)
}
