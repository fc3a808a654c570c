package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// CreateUserInput is a validated new user.
type CreateUserInput struct {
	FirstName, LastName, Email string
	Metadata                   map[string]any
}

// CreateUser adds a user in KYC state notStarted. An e-mail address may
// belong to one user only.
func (l *Ledger) CreateUser(ctx context.Context, in CreateUserInput) (model.User, error) {
	now := l.clock.Now()
	u := &model.User{
		ID: l.ids.New(model.PrefixUser, now), FirstName: in.FirstName, LastName: in.LastName, Email: in.Email,
		Status: model.UserPending, ApplicationStatus: model.AppNotStarted, Metadata: in.Metadata,
		CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now),
	}
	ek := emailKey(in.Email)
	// Reserve the address first so that two concurrent creations with one
	// address cannot both succeed.
	l.dir.mu.Lock()
	if _, taken := l.dir.userByEmail[ek]; taken {
		l.dir.mu.Unlock()
		return model.User{}, &Error{Kind: KindConflict, Code: "email_already_exists", Param: "email", Message: "A user with this email already exists."}
	}
	l.dir.userByEmail[ek] = u.ID
	l.dir.mu.Unlock()

	s := l.shardOf(u.ID)
	s.mu.Lock()
	c := l.begin(now)
	c.kind(RecUser)
	c.putUser(u)
	err := c.apply(ctx, *u)
	if err == nil {
		s.users[u.ID] = u
	}
	s.mu.Unlock()
	if err != nil {
		l.dir.mu.Lock()
		delete(l.dir.userByEmail, ek)
		l.dir.mu.Unlock()
		return model.User{}, err
	}
	return *u, c.wait()
}

// GetUser returns a user.
func (l *Ledger) GetUser(id string) (model.User, error) {
	s := l.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return model.User{}, notFound("user_not_found", "user", id)
	}
	return *u, nil
}

// ListUsers pages through users, newest first.
func (l *Ledger) ListUsers(p ListParams) (Page[model.User], error) {
	// The store orders the page; memory has the current balance, which
	// the stored record (whose hot part lives in its balance key, written
	// at checkpoints) may not.
	page, err := listRecords(l.db, keyspace.UsersPrefix, p, nil, nil, func(u *model.User) string { return u.ID })
	for i := range page.Items {
		if cur, gerr := l.GetUser(page.Items[i].ID); gerr == nil {
			page.Items[i] = cur
		}
	}
	return page, err
}

// StartVerification begins KYC for a user and returns the user with the
// secret token of the hosted verification page. With KYCAuto the user is
// approved at once.
func (l *Ledger) StartVerification(ctx context.Context, userID string) (model.User, error) {
	now := l.clock.Now()
	s := l.shardOf(userID)
	s.mu.Lock()
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		return model.User{}, notFound("user_not_found", "user", userID)
	}
	nu := *u
	if nu.VerificationToken == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		nu.VerificationToken = hex.EncodeToString(b[:])
	}
	if nu.ApplicationStatus == model.AppNotStarted {
		nu.ApplicationStatus = model.AppPending
	}
	c := l.begin(now)
	c.kind(RecKYC)
	if l.cfg.KYCAuto && nu.Status == model.UserPending {
		l.decide(c, &nu, true)
	}
	nu.UpdatedAt = model.Ms(now)
	c.putUser(&nu)
	err := c.apply(ctx, nu)
	if err == nil {
		*u = nu
	}
	s.mu.Unlock()
	if err != nil {
		return model.User{}, err
	}
	return nu, c.wait()
}

// UserByVerificationToken finds the user whose hosted KYC page the token
// opens. Tokens are compared by hash so a timing difference reveals nothing.
func (l *Ledger) UserByVerificationToken(token string) (model.User, bool) {
	if token == "" {
		return model.User{}, false
	}
	want := sha256.Sum256([]byte(token))
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for _, u := range s.users {
			if u.VerificationToken != "" && sha256.Sum256([]byte(u.VerificationToken)) == want {
				out := *u
				s.mu.Unlock()
				return out, true
			}
		}
		s.mu.Unlock()
	}
	return model.User{}, false
}

func (l *Ledger) decide(c *change, u *model.User, approve bool) {
	now := model.Ms(c.now)
	if approve {
		u.Status, u.ApplicationStatus, u.ApprovedAt = model.UserApproved, model.AppApproved, now
		c.event(model.EvtUserApproved, map[string]any{"userId": u.ID, "status": u.Status, "applicationStatus": u.ApplicationStatus})
	} else {
		u.Status, u.ApplicationStatus, u.RejectedAt = model.UserDenied, model.AppDenied, now
		c.event(model.EvtUserRejected, map[string]any{"userId": u.ID, "status": u.Status, "applicationStatus": u.ApplicationStatus})
	}
}

// DecideKYC approves or rejects a user's verification. A decision is final:
// repeating it returns the user unchanged, the opposite decision is refused
// (see SetKYCStatus for the other statuses).
func (l *Ledger) DecideKYC(ctx context.Context, userID string, approve bool) (model.User, error) {
	if approve {
		return l.SetKYCStatus(ctx, userID, model.AppApproved)
	}
	return l.SetKYCStatus(ctx, userID, model.AppDenied)
}

// Deposit is a completed crypto deposit credited to a user.
type Deposit struct {
	ID          string `json:"id"`
	UserID      string `json:"userId"`
	Asset       string `json:"asset"`
	Chain       string `json:"chain"`
	ChainID     int    `json:"chainId"`
	Amount      string `json:"amount"` // token units, as given
	AmountCents int64  `json:"amountCents"`
	Address     string `json:"address"`
	Status      string `json:"status"`
	CreatedAt   int64  `json:"createdAt"`
}

// DepositInput is a validated deposit.
type DepositInput struct {
	UserID, Asset, Chain string
	Amount               string // token units, decimal
	AmountCents          int64
}

// MaxBalanceCents bounds a user's deposited total and balance so that no
// sum of balances can overflow int64 (authz declines a credit past it).
const MaxBalanceCents = authz.MaxBalanceCents

// SimulateDeposit credits a deposit to an approved user.
func (l *Ledger) SimulateDeposit(ctx context.Context, in DepositInput) (Deposit, model.User, error) {
	now := l.clock.Now()
	ch, ok := chainByName(in.Chain)
	if !ok {
		return Deposit{}, model.User{}, invalid("parameter_invalid", "chain", "Unknown chain.")
	}
	s := l.shardOf(in.UserID)
	s.mu.Lock()
	u, ok := s.users[in.UserID]
	if !ok {
		s.mu.Unlock()
		return Deposit{}, model.User{}, notFound("user_not_found", "user", in.UserID)
	}
	if u.Status != model.UserApproved {
		s.mu.Unlock()
		return Deposit{}, model.User{}, notVerified(u, "Deposits are credited")
	}
	if u.DepositedCents+in.AmountCents > MaxBalanceCents {
		s.mu.Unlock()
		return Deposit{}, model.User{}, invalid("parameter_invalid", "amount", "The deposit would take the balance past the simulator's maximum.")
	}
	nu := *u
	nu.DepositedCents += in.AmountCents
	nu.SettledCents += in.AmountCents
	nu.UpdatedAt = model.Ms(now)
	d := Deposit{
		ID: l.ids.New("dep", now), UserID: u.ID, Asset: in.Asset, Chain: ch.Name, ChainID: ch.ID,
		Amount: in.Amount, AmountCents: in.AmountCents, Address: depositAddress(u.ID, ch.Name),
		Status: "completed", CreatedAt: model.Ms(now),
	}
	c := l.begin(now)
	c.kind(RecDeposit)
	c.putUser(&nu)
	c.event(model.EvtDepositCompleted, map[string]any{
		"depositId": d.ID, "userId": d.UserID, "asset": d.Asset, "chain": d.Chain, "chainId": d.ChainID,
		"amount": d.AmountCents, "tokenAmount": d.Amount, "currency": "USD", "address": d.Address,
	})
	err := c.apply(ctx, DepositResult{Deposit: d, User: nu})
	if err == nil {
		*u = nu
	}
	s.mu.Unlock()
	if err != nil {
		return Deposit{}, model.User{}, err
	}
	return d, nu, c.wait()
}

// DepositResult is what SimulateDeposit hands to a response renderer.
type DepositResult struct {
	Deposit Deposit
	User    model.User
}
