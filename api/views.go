package api

import (
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

// Views are the public shapes of records. Internal fields (sealed PANs,
// hashes, counters) are never rendered.

type listView struct {
	Object  string  `json:"object"`
	Data    any     `json:"data"`
	HasMore bool    `json:"hasMore"`
	Cursor  *string `json:"cursor"`
}

func pageView[T any, V any](p ledger.Page[T], view func(*T) V) listView {
	data := make([]V, 0, len(p.Items))
	for i := range p.Items {
		data = append(data, view(&p.Items[i]))
	}
	lv := listView{Object: "list", Data: data, HasMore: p.HasMore}
	if p.HasMore {
		c := p.Cursor
		lv.Cursor = &c
	}
	return lv
}

type userView struct {
	Object            string         `json:"object"`
	ID                string         `json:"id"`
	FirstName         string         `json:"firstName"`
	LastName          string         `json:"lastName"`
	Email             string         `json:"email"`
	Status            string         `json:"status"`
	ApplicationStatus string         `json:"applicationStatus"`
	Metadata          map[string]any `json:"metadata,omitempty"`
	CreatedAt         int64          `json:"createdAt"`
	UpdatedAt         int64          `json:"updatedAt"`
	ApprovedAt        int64          `json:"approvedAt,omitempty"`
	RejectedAt        int64          `json:"rejectedAt,omitempty"`
}

func viewUser(u *model.User) userView {
	cu := *u
	cu.Canonicalize() // a list reads records as stored, perhaps in the old words
	u = &cu
	return userView{Object: "user", ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		Status: u.Status, ApplicationStatus: u.ApplicationStatus, Metadata: u.Metadata, CreatedAt: u.CreatedAt,
		UpdatedAt: u.UpdatedAt, ApprovedAt: u.ApprovedAt, RejectedAt: u.RejectedAt}
}

// balanceView is a user's balance: ledgersim's own fields (available,
// pending, settled, deposited) beside the platform's balance model. The
// account is funded: deposits are the collateral of a credit line with a
// 100% advance rate, so
//
//	creditLimit    = deposited                        (every deposit, at face value)
//	pendingCharges = pending                          (open authorization holds)
//	postedCharges  = deposited - settled              (cleared purchases less refunds)
//	balanceDue     = postedCharges                    (the simulator has no repayment)
//	spendingPower  = creditLimit - pendingCharges - postedCharges = available
//
// A charge is paid from the deposit when it clears, so settled already
// excludes it; the platform counts the same charge as owed against the
// credit line. Both views give the same spending power.
type balanceView struct {
	Object         string `json:"object"`
	UserID         string `json:"userId"`
	Available      int64  `json:"available"`
	Pending        int64  `json:"pending"`
	Settled        int64  `json:"settled"`
	Deposited      int64  `json:"deposited"`
	CreditLimit    int64  `json:"creditLimit"`
	PendingCharges int64  `json:"pendingCharges"`
	PostedCharges  int64  `json:"postedCharges"`
	BalanceDue     int64  `json:"balanceDue"`
	SpendingPower  int64  `json:"spendingPower"`
	Currency       string `json:"currency"`
}

func viewBalance(u *model.User) balanceView {
	posted := u.DepositedCents - u.SettledCents
	return balanceView{Object: "balance", UserID: u.ID, Available: u.AvailableCents(), Pending: u.PendingCents,
		Settled: u.SettledCents, Deposited: u.DepositedCents, CreditLimit: u.DepositedCents, PendingCharges: u.PendingCents,
		PostedCharges: posted, BalanceDue: posted, SpendingPower: u.DepositedCents - u.PendingCents - posted, Currency: "USD"}
}

type agentView struct {
	Object                    string         `json:"object"`
	ID                        string         `json:"id"`
	ExternalID                string         `json:"externalId,omitempty"`
	UserID                    string         `json:"userId"`
	Name                      string         `json:"name"`
	Description               string         `json:"description,omitempty"`
	Status                    string         `json:"status"`
	SpendingLimit             *int64         `json:"spendingLimit"`
	SpendingLimitFrequency    string         `json:"spendingLimitFrequency,omitempty"`
	CurrentSpend              int64          `json:"currentSpend"`
	OnLimitExceeded           string         `json:"onLimitExceeded"`
	MaxCards                  *int64         `json:"maxCards"`
	CardCount                 int64          `json:"cardCount"`
	DefaultCardLimit          *int64         `json:"defaultCardLimit,omitempty"`
	DefaultCardLimitFrequency string         `json:"defaultCardLimitFrequency,omitempty"`
	DefaultPolicyID           string         `json:"defaultPolicyId,omitempty"`
	Metadata                  map[string]any `json:"metadata,omitempty"`
	CreatedAt                 int64          `json:"createdAt"`
	UpdatedAt                 int64          `json:"updatedAt"`
	DeregisteredAt            int64          `json:"deregisteredAt,omitempty"`
}

func viewAgent(a *model.Agent, now time.Time) agentView {
	return agentView{Object: "agent", ID: a.ID, ExternalID: a.ExternalID, UserID: a.UserID, Name: a.Name,
		Description: a.Description, Status: a.Status, SpendingLimit: a.SpendingLimit,
		SpendingLimitFrequency: a.SpendingLimitFrequency, CurrentSpend: authz.AgentSpend(a, now),
		OnLimitExceeded: a.OnLimitExceeded, MaxCards: a.MaxCards, CardCount: a.CardCount,
		DefaultCardLimit: a.DefaultCardLimit, DefaultCardLimitFrequency: a.DefaultCardLimitFrequency,
		DefaultPolicyID: a.DefaultPolicyID, Metadata: a.Metadata, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		DeregisteredAt: a.DeregisteredAt}
}

type registrationView struct {
	agentView
	Created bool   `json:"created"`
	Token   string `json:"token,omitempty"`
	TokenID string `json:"tokenId,omitempty"`
}

type statusChangeView struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus"`
	ExternalID     string `json:"externalId,omitempty"`
	DeregisteredAt int64  `json:"deregisteredAt,omitempty"`
}

type tokenView struct {
	Object      string `json:"object"`
	ID          string `json:"id"`
	AgentID     string `json:"agentId"`
	TokenPrefix string `json:"tokenPrefix"`
	IsActive    bool   `json:"isActive"`
	Name        string `json:"name,omitempty"`
	Token       string `json:"token,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
	ExpiresAt   *int64 `json:"expiresAt"`
	LastUsedAt  *int64 `json:"lastUsedAt"`
	RevokedAt   *int64 `json:"revokedAt"`
}

func optMs(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func viewToken(t *model.AgentToken, now time.Time) tokenView {
	return tokenView{Object: "agent_token", ID: t.ID, AgentID: t.AgentID, TokenPrefix: t.TokenPrefix,
		IsActive: t.Active(model.Ms(now)), Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: optMs(t.ExpiresAt),
		LastUsedAt: optMs(t.LastUsedAt), RevokedAt: optMs(t.RevokedAt)}
}

type limitsView struct {
	PerAuth  *int64 `json:"perAuth"`
	PerDay   *int64 `json:"perDay"`
	PerMonth *int64 `json:"perMonth"`
	// The limits of an agent's defaultCardLimit with the frequencies
	// perWeek, perYear and allTime; shown only when set.
	PerWeek *int64 `json:"perWeek,omitempty"`
	PerYear *int64 `json:"perYear,omitempty"`
	AllTime *int64 `json:"allTime,omitempty"`
}

type cardView struct {
	Object                   string     `json:"object"`
	ID                       string     `json:"id"`
	AgentID                  string     `json:"agentId"`
	UserID                   string     `json:"userId"`
	Type                     string     `json:"type"`
	Purpose                  string     `json:"purpose"`
	Status                   string     `json:"status"`
	Last4                    string     `json:"last4"`
	CreatedAt                int64      `json:"createdAt"`
	UpdatedAt                int64      `json:"updatedAt"`
	CredentialExposure       string     `json:"credentialExposure"`
	ExpirationMonth          string     `json:"expirationMonth"`
	ExpirationYear           string     `json:"expirationYear"`
	Limits                   limitsView `json:"limits"`
	MaxAmount                *int64     `json:"maxAmount"`
	MerchantHint             *string    `json:"merchantHint"`
	MaxAuthCount             *int64     `json:"maxAuthCount"`
	TTLDays                  *int64     `json:"ttlDays"`
	AttestationWindowMinutes int64      `json:"attestationWindowMinutes"`
	OnDrift                  *string    `json:"onDrift"`
	AuthCount                int64      `json:"authCount"`
	ClosedAt                 int64      `json:"closedAt,omitempty"`
	// ExpiredAt is when the end of the card's lifetime was recorded
	// (card.expired); it froze or closed the card then.
	ExpiredAt int64 `json:"expiredAt,omitempty"`
	// ActivatedAt is when a card issued notActivated was activated.
	ActivatedAt int64 `json:"activatedAt,omitempty"`
	// PolicyID and the card's own controls (which override its policy's).
	PolicyID string `json:"policyId,omitempty"`
	model.Controls
	// ExpiresAt is when the card's lifetime (ttlDays or expiry date) ends;
	// from then on every authorization declines 54 while status may still
	// read active.
	ExpiresAt int64 `json:"expiresAt"`
	IsExpired bool  `json:"isExpired"`
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// viewCard renders a card as of the ledger's clock now.
func (a *API) viewCard(c *model.Card) cardView {
	exp := authz.ExpiresAt(c)
	return cardView{ExpiresAt: exp, IsExpired: model.Ms(a.l.Clock().Now()) >= exp, Object: "card", ID: c.ID, AgentID: c.AgentID, UserID: c.UserID, Type: c.Type, Purpose: c.Purpose,
		Status: c.Status, Last4: c.Last4, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		CredentialExposure: c.CredentialExposure, ExpirationMonth: c.ExpMonth, ExpirationYear: c.ExpYear,
		Limits: limitsView{PerAuth: c.Limits.PerAuth, PerDay: c.Limits.PerDay, PerMonth: c.Limits.PerMonth,
			PerWeek: c.Limits.PerWeek, PerYear: c.Limits.PerYear, AllTime: c.Limits.AllTime},
		MaxAmount: c.MaxAmount, MerchantHint: optStr(c.MerchantHint), MaxAuthCount: c.MaxAuthCount, TTLDays: c.TTLDays,
		AttestationWindowMinutes: c.AttestationWindowMinutes, OnDrift: optStr(c.OnDrift), AuthCount: c.Usage.AuthCount,
		ClosedAt: c.ClosedAt, ExpiredAt: c.ExpiredAt, ActivatedAt: c.ActivatedAt, PolicyID: c.PolicyID, Controls: c.Controls}
}

type accessEventView struct {
	Object           string         `json:"object"`
	ID               string         `json:"id"`
	CardID           string         `json:"cardId"`
	AgentID          string         `json:"agentId"`
	Actor            string         `json:"actor"`
	ExposureMode     string         `json:"exposureMode"`
	Summary          string         `json:"summary"`
	ExpectedAmount   *int64         `json:"expectedAmount,omitempty"`
	ExpectedCurrency string         `json:"expectedCurrency,omitempty"`
	MerchantText     string         `json:"merchantText,omitempty"`
	Reason           string         `json:"reason,omitempty"`
	ClientContext    map[string]any `json:"clientContext,omitempty"`
	IntentID         string         `json:"intentId,omitempty"`
	CreatedAt        int64          `json:"createdAt"`
}

func viewAccessEvent(e *model.AccessEvent) accessEventView {
	return accessEventView{Object: "access_event", ID: e.ID, CardID: e.CardID, AgentID: e.AgentID, Actor: e.Actor,
		ExposureMode: e.ExposureMode, Summary: e.Summary, ExpectedAmount: e.ExpectedAmount,
		ExpectedCurrency: e.ExpectedCurrency, MerchantText: e.MerchantText, Reason: e.Reason,
		ClientContext: e.ClientContext, IntentID: e.IntentID, CreatedAt: e.CreatedAt}
}
