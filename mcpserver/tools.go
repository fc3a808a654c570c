package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgersim/ledgersim/client"
)

// The arguments of each tool. Every field but action is optional in the
// schema; which ones an action needs is the API's to say.

type page struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"page size, 1 to 100"`
	Cursor string `json:"cursor,omitempty" jsonschema:"cursor of the previous page"`
}

func (p page) params() client.ListParams { return client.ListParams{Limit: p.Limit, Cursor: p.Cursor} }

type statusArgs struct {
	Action string `json:"action,omitempty" jsonschema:"get (the default)"`
	UserID string `json:"userId" jsonschema:"the user whose spending status to read"`
}

type cardArgs struct {
	Action                string `json:"action" jsonschema:"create, list, get, details, activate, freeze, unfreeze, close or update"`
	AgentID               string `json:"agentId,omitempty" jsonschema:"the agent (create, list)"`
	CardID                string `json:"cardId,omitempty" jsonschema:"the card (get, details, activate, freeze, unfreeze, close, update)"`
	Status                string `json:"status,omitempty" jsonschema:"active (default) or notActivated: the card declines until activated (create)"`
	Purpose               string `json:"purpose,omitempty" jsonschema:"what the card is for (create)"`
	Type                  string `json:"type,omitempty" jsonschema:"single (default) or multi"`
	CredentialExposure    string `json:"credentialExposure,omitempty" jsonschema:"extensionOnly (default), rawPan or never"`
	AcknowledgeRawPanRisk bool   `json:"acknowledgeRawPanRisk,omitempty" jsonschema:"required with credentialExposure rawPan"`
	MaxAmount             *int64 `json:"maxAmount,omitempty" jsonschema:"largest single authorization, cents"`
	LimitPerAuth          *int64 `json:"limitPerAuth,omitempty" jsonschema:"per-authorization limit, cents"`
	LimitPerDay           *int64 `json:"limitPerDay,omitempty" jsonschema:"daily limit, cents"`
	LimitPerMonth         *int64 `json:"limitPerMonth,omitempty" jsonschema:"monthly limit, cents"`
	MerchantHint          string `json:"merchantHint,omitempty" jsonschema:"the merchant the card is meant for"`
	MaxAuthCount          *int64 `json:"maxAuthCount,omitempty" jsonschema:"how many authorizations the card allows"`
	TTLDays               *int64 `json:"ttlDays,omitempty" jsonschema:"days until the card closes itself"`
	PolicyID              string `json:"policyId,omitempty" jsonschema:"the card's spending policy (create, update); without it the agent's default applies"`
	Summary               string `json:"summary,omitempty" jsonschema:"what the details are read for (details)"`
	ExpectedAmount        *int64 `json:"expectedAmount,omitempty" jsonschema:"the amount about to be spent, cents (details)"`
	MerchantText          string `json:"merchantText,omitempty" jsonschema:"the merchant about to be paid (details)"`
	Reason                string `json:"reason,omitempty" jsonschema:"one-time, subscription or preauth (details)"`
	page
}

type intentArgs struct {
	Action           string `json:"action" jsonschema:"create, list, get or cancel"`
	CardID           string `json:"cardId,omitempty" jsonschema:"the card (create, list)"`
	ID               string `json:"id,omitempty" jsonschema:"the intent's id as the API gave it, int_... (get, cancel)"`
	IntentID         string `json:"intentId,omitempty" jsonschema:"your own id for the intent (create)"`
	Summary          string `json:"summary,omitempty" jsonschema:"what will be bought (create)"`
	ExpectedAmount   *int64 `json:"expectedAmount,omitempty" jsonschema:"cents"`
	ExpectedMerchant string `json:"expectedMerchant,omitempty"`
	Tolerance        *int64 `json:"tolerance,omitempty" jsonschema:"how far the amount may differ and still match, cents"`
	TTLMinutes       *int64 `json:"ttlMinutes,omitempty" jsonschema:"how long the intent waits, 1 to 1440"`
	Status           string `json:"status,omitempty" jsonschema:"filter for list: pending, matched, mismatched, expired, canceled"`
}

type txnArgs struct {
	Action           string   `json:"action" jsonschema:"list, get, update, simulate_authorization, simulate_increment, simulate_authorization_advice, simulate_clearing, simulate_reversal, simulate_financial, simulate_force_capture, simulate_refund or simulate_refund_reversal"`
	TransactionID    string   `json:"transactionId,omitempty" jsonschema:"the transaction (get, update, simulate_increment, simulate_authorization_advice, simulate_clearing, simulate_reversal); the purchase to refund (simulate_refund; leave it out and give cardId for an unlinked refund); the refund to take back (simulate_refund_reversal)"`
	CardID           string   `json:"cardId,omitempty" jsonschema:"filter for list; the card for simulate_authorization, simulate_financial, simulate_force_capture, and simulate_refund without transactionId (an unlinked refund)"`
	AgentID          string   `json:"agentId,omitempty" jsonschema:"filter for list"`
	UserID           string   `json:"userId,omitempty" jsonschema:"filter for list"`
	Status           string   `json:"status,omitempty" jsonschema:"filter for list"`
	Amount           *int64   `json:"amount,omitempty" jsonschema:"cents (simulate_*): the purchase, the increment, the new amount of an advice, the capture, the refund, or how much to reverse (all of it when left out)"`
	AllowPartial     bool     `json:"allowPartial,omitempty" jsonschema:"the terminal takes a partial approval: a purchase above what is left is approved for what is left, response code 10 (simulate_authorization, simulate_financial)"`
	MerchantName     string   `json:"merchantName,omitempty" jsonschema:"simulate_authorization, simulate_financial, simulate_force_capture"`
	MerchantID       string   `json:"merchantId,omitempty" jsonschema:"simulate_authorization, simulate_financial, simulate_force_capture"`
	MerchantCategory string   `json:"merchantCategory,omitempty" jsonschema:"4-digit MCC (simulate_authorization, simulate_financial, simulate_force_capture)"`
	MerchantCity     string   `json:"merchantCity,omitempty"`
	MerchantCountry  string   `json:"merchantCountry,omitempty"`
	Currency         string   `json:"currency,omitempty" jsonschema:"ISO 4217 code, USD by default (simulate_authorization, simulate_financial)"`
	Notes            *string  `json:"notes,omitempty" jsonschema:"update"`
	Category         *string  `json:"category,omitempty" jsonschema:"update"`
	Tags             []string `json:"tags,omitempty" jsonschema:"update"`
	page
}

type onboardingArgs struct {
	Action    string `json:"action" jsonschema:"create_user, start_verification, status or simulate_kyc"`
	UserID    string `json:"userId,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Email     string `json:"email,omitempty"`
	Decision  string `json:"decision,omitempty" jsonschema:"simulate_kyc: the application status to move to: approved, denied (or rejected), pending, needsInformation, needsVerification, manualReview, locked or canceled"`
}

type challengeArgs struct {
	Action string `json:"action,omitempty" jsonschema:"list"`
	CardID string `json:"cardId,omitempty"`
}

type fundingArgs struct {
	Action string `json:"action" jsonschema:"balance, crypto, deposit, ach or wire"`
	UserID string `json:"userId,omitempty"`
	Chain  string `json:"chain,omitempty" jsonschema:"base (default), ethereum, solana, ..."`
	Asset  string `json:"asset,omitempty" jsonschema:"USDC (default) or USDT"`
	Amount string `json:"amount,omitempty" jsonschema:"token units, such as 25.00 (deposit)"`
}

type usersArgs struct {
	Action    string `json:"action" jsonschema:"list, get, create or cards"`
	UserID    string `json:"userId,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Email     string `json:"email,omitempty"`
	page
}

type agentsArgs struct {
	Action                 string `json:"action" jsonschema:"list, get, register, update, suspend, activate, deregister, create_token, list_tokens or revoke_token"`
	AgentID                string `json:"agentId,omitempty"`
	UserID                 string `json:"userId,omitempty" jsonschema:"register; filter for list"`
	Name                   string `json:"name,omitempty"`
	ExternalID             string `json:"externalId,omitempty"`
	Description            string `json:"description,omitempty"`
	SpendingLimit          *int64 `json:"spendingLimit,omitempty" jsonschema:"cents"`
	SpendingLimitFrequency string `json:"spendingLimitFrequency,omitempty"`
	TokenID                string `json:"tokenId,omitempty" jsonschema:"revoke_token"`
	TokenName              string `json:"tokenName,omitempty" jsonschema:"create_token"`
	page
}

type policyArgs struct {
	Action             string   `json:"action,omitempty" jsonschema:"list (the default), get, create, update, card or agent"`
	PolicyID           string   `json:"policyId,omitempty" jsonschema:"the policy (get, update)"`
	CardID             string   `json:"cardId,omitempty" jsonschema:"the card whose live policy state to read (card)"`
	AgentID            string   `json:"agentId,omitempty" jsonschema:"the agent whose spending state to read (agent)"`
	Name               string   `json:"name,omitempty" jsonschema:"unique in the organization (create, update)"`
	Description        string   `json:"description,omitempty"`
	LimitPerAuth       *int64   `json:"limitPerAuth,omitempty" jsonschema:"cents"`
	LimitPerDay        *int64   `json:"limitPerDay,omitempty" jsonschema:"cents"`
	LimitPerMonth      *int64   `json:"limitPerMonth,omitempty" jsonschema:"cents"`
	MaxAmount          *int64   `json:"maxAmount,omitempty" jsonschema:"cents"`
	CumulativeMax      *int64   `json:"cumulativeMax,omitempty" jsonschema:"what a card may ever spend, cents"`
	MaxAuthCount       *int64   `json:"maxAuthCount,omitempty"`
	CooldownMinutes    *int64   `json:"cooldownMinutes,omitempty" jsonschema:"least time between two purchases"`
	TTLMinutes         *int64   `json:"ttlMinutes,omitempty" jsonschema:"a card's life from its creation"`
	OnExpiry           string   `json:"onExpiry,omitempty" jsonschema:"freeze or close"`
	ActiveHoursStart   *int64   `json:"activeHoursStart,omitempty" jsonschema:"hour 0 to 23, with activeHoursEnd"`
	ActiveHoursEnd     *int64   `json:"activeHoursEnd,omitempty" jsonschema:"hour 0 to 23, with activeHoursStart"`
	ActiveTimezone     string   `json:"activeTimezone,omitempty" jsonschema:"IANA name, such as America/New_York"`
	ActiveDays         []int64  `json:"activeDays,omitempty" jsonschema:"0 = Sunday ... 6 = Saturday"`
	AllowedMCCs        []string `json:"allowedMccs,omitempty" jsonschema:"the only merchant categories approved"`
	BlockedMCCs        []string `json:"blockedMccs,omitempty" jsonschema:"merchant categories declined with blocked_mcc"`
	MerchantHint       string   `json:"merchantHint,omitempty"`
	OnDrift            string   `json:"onDrift,omitempty" jsonschema:"freeze or alert"`
	RequireAttestation *bool    `json:"requireAttestation,omitempty"`
	IntentTolerance    *float64 `json:"intentTolerance,omitempty" jsonschema:"0 to 1, a fraction of the declared amount"`
	CredentialExposure string   `json:"credentialExposure,omitempty" jsonschema:"never, extensionOnly or rawPan"`
	RequireApproval    *bool    `json:"requireApproval,omitempty" jsonschema:"every intent on the policy's cards waits for a person's approval"`
	Clear              []string `json:"clear,omitempty" jsonschema:"fields to remove from the policy, by name (update)"`
	page
}

func (in policyArgs) fields() client.PolicyFields {
	return client.PolicyFields{Name: in.Name, Description: in.Description, LimitPerAuth: in.LimitPerAuth, LimitPerDay: in.LimitPerDay,
		LimitPerMonth: in.LimitPerMonth, MaxAmount: in.MaxAmount, MaxAuthCount: in.MaxAuthCount, MerchantHint: in.MerchantHint,
		OnDrift: in.OnDrift, CredentialExposure: in.CredentialExposure,
		Controls: client.Controls{CumulativeMax: in.CumulativeMax, CooldownMinutes: in.CooldownMinutes, TTLMinutes: in.TTLMinutes,
			OnExpiry: in.OnExpiry, ActiveHoursStart: in.ActiveHoursStart, ActiveHoursEnd: in.ActiveHoursEnd, ActiveTimezone: in.ActiveTimezone,
			ActiveDays: in.ActiveDays, AllowedMCCs: in.AllowedMCCs, BlockedMCCs: in.BlockedMCCs, RequireAttestation: in.RequireAttestation,
			IntentTolerance: in.IntentTolerance, RequireApproval: in.RequireApproval}}
}

type riskArgs struct {
	Action  string         `json:"action,omitempty" jsonschema:"get (the default), update or preset"`
	AgentID string         `json:"agentId,omitempty" jsonschema:"an agent's settings instead of the organization's (get, update)"`
	CardID  string         `json:"cardId,omitempty" jsonschema:"a card's settings instead of the organization's (get, update)"`
	Preset  string         `json:"preset,omitempty" jsonschema:"permissive, moderate, strict or paranoid (preset)"`
	DryRun  *bool          `json:"dryRun,omitempty" jsonschema:"detect and record without acting (update, preset)"`
	Rules   map[string]any `json:"rules,omitempty" jsonschema:"rule objects by name with the fields to change (update), such as {\"velocityLimit\": {\"maxPerHour\": 5, \"action\": \"freeze_card\"}}"`
}

type webhooksArgs struct {
	Action    string   `json:"action" jsonschema:"list, get, create, update, delete, rotate_secret, test, deliveries or events"`
	WebhookID string   `json:"webhookId,omitempty"`
	URL       string   `json:"url,omitempty"`
	Events    []string `json:"events,omitempty" jsonschema:"event types to deliver; empty means all"`
	Status    string   `json:"status,omitempty" jsonschema:"enabled or disabled (update)"`
	Type      string   `json:"type,omitempty" jsonschema:"event type filter (events)"`
	page
}

// status is ledger_status's answer.
type status struct {
	UserID             string `json:"userId"`
	VerificationStatus string `json:"verificationStatus"`
	Balance            int64  `json:"balance"`
	Pending            int64  `json:"pending"`
	Currency           string `json:"currency"`
	CanSpend           bool   `json:"canSpend"`
}

func need(v, param string) error {
	if v == "" {
		return missing(param)
	}
	return nil
}

func (t *tools) register(s *mcp.Server) {
	c := t.c
	add(s, t, "ledger_status", "A user's verification status, balance and whether they can spend.",
		func(in statusArgs) string { return orGet(in.Action) },
		actions[statusArgs]{"get": func(ctx context.Context, in statusArgs) (any, error) {
			if err := need(in.UserID, "userId"); err != nil {
				return nil, err
			}
			b, err := c.GetBalance(ctx, in.UserID)
			if err != nil {
				return nil, err
			}
			st := status{UserID: b.UserID, Balance: b.Available, Pending: b.Pending, Currency: b.Currency}
			if t.agent {
				// An agent token cannot read users; agents exist only for
				// users whose verification was approved.
				st.VerificationStatus = "approved"
			} else {
				u, err := c.GetUser(ctx, in.UserID)
				if err != nil {
					return nil, err
				}
				st.VerificationStatus = u.Status
			}
			st.CanSpend = st.VerificationStatus == "approved" && b.Available > 0
			return st, nil
		}})

	add(s, t, "ledger_card", "Virtual cards: issue (active, or not yet activated), list, read, read the credentials with an attestation, activate, freeze, unfreeze, close, change limits.",
		func(in cardArgs) string { return in.Action },
		actions[cardArgs]{
			"create": func(ctx context.Context, in cardArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				p := client.CreateCardParams{Purpose: in.Purpose, Type: in.Type, CredentialExposure: in.CredentialExposure,
					AcknowledgeRawPanRisk: in.AcknowledgeRawPanRisk, Limits: limits(in), MaxAmount: in.MaxAmount,
					MerchantHint: in.MerchantHint, MaxAuthCount: in.MaxAuthCount, TTLDays: in.TTLDays, PolicyID: in.PolicyID,
					Status: in.Status}
				return c.CreateCard(ctx, in.AgentID, p)
			},
			"list": func(ctx context.Context, in cardArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				return c.ListAgentCards(ctx, in.AgentID, in.params())
			},
			"get": func(ctx context.Context, in cardArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				return c.GetCard(ctx, in.CardID)
			},
			"details": func(ctx context.Context, in cardArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				return c.CardDetails(ctx, in.CardID, client.CardDetailsParams{Summary: in.Summary, ExpectedAmount: in.ExpectedAmount,
					MerchantText: in.MerchantText, Reason: in.Reason})
			},
			"activate": cardAction(c.ActivateCard),
			"freeze":   cardAction(c.FreezeCard),
			"unfreeze": cardAction(c.UnfreezeCard),
			"close":    cardAction(c.CloseCard),
			"update": func(ctx context.Context, in cardArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				p := client.UpdateCardParams{Limits: limits(in), MaxAmount: in.MaxAmount, MaxAuthCount: in.MaxAuthCount}
				if in.MerchantHint != "" {
					p.MerchantHint = &in.MerchantHint
				}
				if in.PolicyID != "" {
					p.PolicyID = &in.PolicyID
				}
				return c.UpdateCard(ctx, in.CardID, p)
			},
		})

	add(s, t, "ledger_intent", "Declare what a card is about to be used for, and see how the authorization matched it.",
		func(in intentArgs) string { return in.Action },
		actions[intentArgs]{
			"create": func(ctx context.Context, in intentArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				return c.CreateIntent(ctx, in.CardID, client.CreateIntentParams{IntentID: in.IntentID, Summary: in.Summary,
					ExpectedAmount: in.ExpectedAmount, ExpectedMerchant: in.ExpectedMerchant, Tolerance: in.Tolerance, TTLMinutes: in.TTLMinutes})
			},
			"list": func(ctx context.Context, in intentArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				return c.ListIntents(ctx, in.CardID, in.Status)
			},
			"get": func(ctx context.Context, in intentArgs) (any, error) {
				if err := need(in.ID, "id"); err != nil {
					return nil, err
				}
				return c.GetIntent(ctx, in.ID)
			},
			"cancel": func(ctx context.Context, in intentArgs) (any, error) {
				if err := need(in.ID, "id"); err != nil {
					return nil, err
				}
				return c.CancelIntent(ctx, in.ID)
			},
		})

	add(s, t, "ledger_transactions", "Transactions: list, read, annotate; and the card network's side (simulate an authorization, possibly partially approved; an incremental authorization; an advice that changes an authorization's amount; a clearing; a reversal; a single-message purchase; a force capture without authorization; a refund, linked to a purchase or not; a refund's reversal; these need the API key).",
		func(in txnArgs) string { return in.Action },
		actions[txnArgs]{
			"list": func(ctx context.Context, in txnArgs) (any, error) {
				return c.ListTransactions(ctx, client.ListTransactionsParams{ListParams: in.params(), CardID: in.CardID,
					AgentID: in.AgentID, UserID: in.UserID, Status: in.Status})
			},
			"get": func(ctx context.Context, in txnArgs) (any, error) {
				if err := need(in.TransactionID, "transactionId"); err != nil {
					return nil, err
				}
				return c.GetTransaction(ctx, in.TransactionID)
			},
			"update": func(ctx context.Context, in txnArgs) (any, error) {
				if err := need(in.TransactionID, "transactionId"); err != nil {
					return nil, err
				}
				p := client.UpdateTransactionParams{Notes: in.Notes, Category: in.Category}
				p.Tags = in.Tags
				return c.UpdateTransaction(ctx, in.TransactionID, p)
			},
			"simulate_authorization": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateAuthorization(ctx, authParams(in))
			},
			"simulate_financial": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateFinancial(ctx, authParams(in))
			},
			"simulate_increment": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateIncrement(ctx, in.TransactionID, *in.Amount)
			},
			"simulate_authorization_advice": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateAuthorizationAdvice(ctx, in.TransactionID, *in.Amount)
			},
			"simulate_force_capture": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateForceCapture(ctx, client.SimulateForceCaptureParams{CardID: in.CardID, Amount: *in.Amount,
					MerchantName: in.MerchantName, MerchantID: in.MerchantID, MerchantCity: in.MerchantCity,
					MerchantCountry: in.MerchantCountry, MerchantCategory: in.MerchantCategory})
			},
			"simulate_refund_reversal": func(ctx context.Context, in txnArgs) (any, error) {
				return c.SimulateRefundReversal(ctx, in.TransactionID)
			},
			"simulate_clearing": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				return c.SimulateClearing(ctx, in.TransactionID, *in.Amount)
			},
			"simulate_reversal": func(ctx context.Context, in txnArgs) (any, error) {
				return c.SimulateReversal(ctx, in.TransactionID, in.Amount)
			},
			"simulate_refund": func(ctx context.Context, in txnArgs) (any, error) {
				if in.Amount == nil {
					return nil, missing("amount")
				}
				if in.TransactionID != "" && in.CardID != "" {
					// The API's own answer to a body with both.
					return nil, errors.New("400 validation_error/parameter_invalid: Send 'transactionId' (a refund of that purchase) or 'cardId' (an unlinked refund), not both. (param cardId)")
				}
				if in.CardID != "" {
					return c.SimulateUnlinkedRefund(ctx, in.CardID, *in.Amount)
				}
				return c.SimulateRefund(ctx, in.TransactionID, *in.Amount)
			},
		})

	add(s, t, "ledger_onboarding", "Users and identity verification: create a user, start verification (returns the verificationUrl), read its status, decide it as the provider would.",
		func(in onboardingArgs) string { return in.Action },
		actions[onboardingArgs]{
			"create_user": func(ctx context.Context, in onboardingArgs) (any, error) {
				return c.CreateUser(ctx, client.CreateUserParams{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email})
			},
			"start_verification": func(ctx context.Context, in onboardingArgs) (any, error) {
				return c.StartVerification(ctx, in.UserID)
			},
			"status": func(ctx context.Context, in onboardingArgs) (any, error) {
				if err := need(in.UserID, "userId"); err != nil {
					return nil, err
				}
				return c.GetVerification(ctx, in.UserID)
			},
			"simulate_kyc": func(ctx context.Context, in onboardingArgs) (any, error) {
				return c.SimulateKYC(ctx, in.UserID, in.Decision)
			},
		})

	add(s, t, "ledger_challenges", "3-D Secure one-time passcodes sent for a card's purchases.",
		func(in challengeArgs) string { return orList(in.Action) },
		actions[challengeArgs]{"list": func(context.Context, challengeArgs) (any, error) {
			return nil, notAvailable("ledger_challenges", "the simulated card network does not run 3-D Secure, so there are no challenges to read")
		}})

	add(s, t, "ledger_funding", "A user's balance, and where to deposit: a USDC address per chain (crypto; needs the API key), or a simulated deposit (deposit; needs the API key).",
		func(in fundingArgs) string { return in.Action },
		actions[fundingArgs]{
			"balance": func(ctx context.Context, in fundingArgs) (any, error) {
				if err := need(in.UserID, "userId"); err != nil {
					return nil, err
				}
				return c.GetBalance(ctx, in.UserID)
			},
			"crypto": func(ctx context.Context, in fundingArgs) (any, error) {
				if err := need(in.UserID, "userId"); err != nil {
					return nil, err
				}
				f, err := c.GetFunding(ctx, in.UserID)
				if err != nil {
					return nil, err
				}
				chain, asset := orDefault(in.Chain, "base"), orDefault(in.Asset, "USDC")
				var known []string
				for _, a := range f.Addresses {
					if a.Chain == chain && a.Asset == asset {
						return a, nil
					}
					known = append(known, a.Asset+" on "+a.Chain)
				}
				return nil, fmt.Errorf("400 validation_error/parameter_invalid: No %s deposit address on chain '%s'; this user has %v. (param chain)", asset, chain, known)
			},
			"deposit": func(ctx context.Context, in fundingArgs) (any, error) {
				return c.SimulateDeposit(ctx, client.SimulateDepositParams{UserID: in.UserID, Asset: orDefault(in.Asset, "USDC"),
					Chain: orDefault(in.Chain, "base"), Amount: in.Amount})
			},
			"ach": func(context.Context, fundingArgs) (any, error) {
				return nil, notAvailable("ledger_funding ach", "ACH funding is coming soon on the platform; fund with crypto (action crypto, or deposit to simulate one)")
			},
			"wire": func(context.Context, fundingArgs) (any, error) {
				return nil, notAvailable("ledger_funding wire", "wire funding is coming soon on the platform; fund with crypto (action crypto, or deposit to simulate one)")
			},
		})

	if t.agent {
		return
	}

	add(s, t, "ledger_users", "The organization's users.",
		func(in usersArgs) string { return in.Action },
		actions[usersArgs]{
			"list": func(ctx context.Context, in usersArgs) (any, error) { return c.ListUsers(ctx, in.params()) },
			"get": func(ctx context.Context, in usersArgs) (any, error) {
				if err := need(in.UserID, "userId"); err != nil {
					return nil, err
				}
				return c.GetUser(ctx, in.UserID)
			},
			"create": func(ctx context.Context, in usersArgs) (any, error) {
				return c.CreateUser(ctx, client.CreateUserParams{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email})
			},
			"cards": func(ctx context.Context, in usersArgs) (any, error) {
				if err := need(in.UserID, "userId"); err != nil {
					return nil, err
				}
				return c.ListUserCards(ctx, in.UserID, in.params())
			},
		})

	add(s, t, "ledger_agents", "Agents and their tokens. A registered agent's token is shown once.",
		func(in agentsArgs) string { return in.Action },
		actions[agentsArgs]{
			"list": func(ctx context.Context, in agentsArgs) (any, error) {
				return c.ListAgents(ctx, client.ListAgentsParams{ListParams: in.params(), UserID: in.UserID})
			},
			"get": agentAction(func(ctx context.Context, id string) (any, error) { return c.GetAgent(ctx, id) }),
			"register": func(ctx context.Context, in agentsArgs) (any, error) {
				return c.RegisterAgent(ctx, client.AgentParams{UserID: in.UserID, Name: in.Name, ExternalID: in.ExternalID,
					Description: in.Description, SpendingLimit: in.SpendingLimit, SpendingLimitFrequency: in.SpendingLimitFrequency})
			},
			"update": func(ctx context.Context, in agentsArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				p := client.UpdateAgentParams{SpendingLimit: in.SpendingLimit}
				if in.Name != "" {
					p.Name = &in.Name
				}
				if in.Description != "" {
					p.Description = &in.Description
				}
				if in.SpendingLimitFrequency != "" {
					p.SpendingLimitFrequency = &in.SpendingLimitFrequency
				}
				return c.UpdateAgent(ctx, in.AgentID, p)
			},
			"suspend":    agentAction(func(ctx context.Context, id string) (any, error) { return c.SuspendAgent(ctx, id) }),
			"activate":   agentAction(func(ctx context.Context, id string) (any, error) { return c.ActivateAgent(ctx, id) }),
			"deregister": agentAction(func(ctx context.Context, id string) (any, error) { return c.DeregisterAgent(ctx, id) }),
			"create_token": func(ctx context.Context, in agentsArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				return c.CreateToken(ctx, in.AgentID, client.CreateTokenParams{Name: in.TokenName})
			},
			"list_tokens": agentAction(func(ctx context.Context, id string) (any, error) { return c.ListTokens(ctx, id) }),
			"revoke_token": func(ctx context.Context, in agentsArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				if err := need(in.TokenID, "tokenId"); err != nil {
					return nil, err
				}
				return c.RevokeToken(ctx, in.AgentID, in.TokenID)
			},
		})

	add(s, t, "ledger_policies", "Spending policies: named templates of controls (limits, merchant categories, cooldown, active hours, lifetime, attestation) that cards follow through their agent's defaultPolicyId or their own policyId; and the live state of a card's or an agent's controls.",
		func(in policyArgs) string { return orList(in.Action) },
		actions[policyArgs]{
			"list": func(ctx context.Context, in policyArgs) (any, error) { return c.ListPolicies(ctx, in.params()) },
			"get": func(ctx context.Context, in policyArgs) (any, error) {
				if err := need(in.PolicyID, "policyId"); err != nil {
					return nil, err
				}
				return c.GetPolicy(ctx, in.PolicyID)
			},
			"create": func(ctx context.Context, in policyArgs) (any, error) { return c.CreatePolicy(ctx, in.fields()) },
			"update": func(ctx context.Context, in policyArgs) (any, error) {
				if err := need(in.PolicyID, "policyId"); err != nil {
					return nil, err
				}
				return c.UpdatePolicy(ctx, in.PolicyID, client.UpdatePolicyParams{Set: in.fields(), Clear: in.Clear})
			},
			"card": func(ctx context.Context, in policyArgs) (any, error) {
				if err := need(in.CardID, "cardId"); err != nil {
					return nil, err
				}
				return c.GetCardPolicy(ctx, in.CardID)
			},
			"agent": func(ctx context.Context, in policyArgs) (any, error) {
				if err := need(in.AgentID, "agentId"); err != nil {
					return nil, err
				}
				return c.GetAgentPolicy(ctx, in.AgentID)
			},
		})

	add(s, t, "ledger_risk", "The risk engine's settings: seven detection rules, each with an action (alert, freeze_card, suspend_agent), set for the organization and overridden per agent or card; the four presets; dryRun.",
		func(in riskArgs) string { return orGet(in.Action) },
		actions[riskArgs]{
			"get": func(ctx context.Context, in riskArgs) (any, error) {
				return c.GetRiskSettings(ctx, client.RiskScope{AgentID: in.AgentID, CardID: in.CardID})
			},
			"update": func(ctx context.Context, in riskArgs) (any, error) {
				patch := make(map[string]any, len(in.Rules)+1)
				for k, v := range in.Rules {
					patch[k] = v
				}
				if in.DryRun != nil {
					patch["dryRun"] = *in.DryRun
				}
				return c.UpdateRiskSettings(ctx, client.RiskScope{AgentID: in.AgentID, CardID: in.CardID}, patch)
			},
			"preset": func(ctx context.Context, in riskArgs) (any, error) {
				return c.ApplyRiskPreset(ctx, in.Preset, in.DryRun)
			},
		})

	add(s, t, "ledger_webhooks", "Webhook endpoints, their delivery log, and the event log.",
		func(in webhooksArgs) string { return in.Action },
		actions[webhooksArgs]{
			"list": func(ctx context.Context, in webhooksArgs) (any, error) { return c.ListWebhooks(ctx, in.params()) },
			"get":  webhookAction(func(ctx context.Context, id string) (any, error) { return c.GetWebhook(ctx, id) }),
			"create": func(ctx context.Context, in webhooksArgs) (any, error) {
				return c.CreateWebhook(ctx, client.CreateWebhookParams{URL: in.URL, Events: in.Events})
			},
			"update": func(ctx context.Context, in webhooksArgs) (any, error) {
				if err := need(in.WebhookID, "webhookId"); err != nil {
					return nil, err
				}
				var p client.UpdateWebhookParams
				if in.URL != "" {
					p.URL = &in.URL
				}
				p.Events = in.Events
				if in.Status != "" {
					p.Status = &in.Status
				}
				return c.UpdateWebhook(ctx, in.WebhookID, p)
			},
			"delete":        webhookAction(func(ctx context.Context, id string) (any, error) { return c.DeleteWebhook(ctx, id) }),
			"rotate_secret": webhookAction(func(ctx context.Context, id string) (any, error) { return c.RotateWebhookSecret(ctx, id) }),
			"test":          webhookAction(func(ctx context.Context, id string) (any, error) { return c.TestWebhook(ctx, id) }),
			"deliveries": func(ctx context.Context, in webhooksArgs) (any, error) {
				if err := need(in.WebhookID, "webhookId"); err != nil {
					return nil, err
				}
				return c.ListWebhookDeliveries(ctx, in.WebhookID, in.params())
			},
			"events": func(ctx context.Context, in webhooksArgs) (any, error) {
				return c.ListEvents(ctx, client.ListEventsParams{ListParams: in.params(), Type: in.Type})
			},
		})
}

// authParams is the body of an authorization or a single-message purchase.
func authParams(in txnArgs) client.SimulateAuthorizationParams {
	return client.SimulateAuthorizationParams{CardID: in.CardID, Amount: *in.Amount, MerchantName: in.MerchantName,
		MerchantID: in.MerchantID, MerchantCategory: in.MerchantCategory, MerchantCity: in.MerchantCity,
		MerchantCountry: in.MerchantCountry, Currency: in.Currency, AllowPartial: in.AllowPartial}
}

func limits(in cardArgs) *client.Limits {
	if in.LimitPerAuth == nil && in.LimitPerDay == nil && in.LimitPerMonth == nil {
		return nil
	}
	return &client.Limits{PerAuth: in.LimitPerAuth, PerDay: in.LimitPerDay, PerMonth: in.LimitPerMonth}
}

func cardAction(f func(context.Context, string, ...client.RequestOption) (*client.CardTransition, error)) func(context.Context, cardArgs) (any, error) {
	return func(ctx context.Context, in cardArgs) (any, error) {
		if err := need(in.CardID, "cardId"); err != nil {
			return nil, err
		}
		return f(ctx, in.CardID)
	}
}

func agentAction(f func(context.Context, string) (any, error)) func(context.Context, agentsArgs) (any, error) {
	return func(ctx context.Context, in agentsArgs) (any, error) {
		if err := need(in.AgentID, "agentId"); err != nil {
			return nil, err
		}
		return f(ctx, in.AgentID)
	}
}

func webhookAction(f func(context.Context, string) (any, error)) func(context.Context, webhooksArgs) (any, error) {
	return func(ctx context.Context, in webhooksArgs) (any, error) {
		if err := need(in.WebhookID, "webhookId"); err != nil {
			return nil, err
		}
		return f(ctx, in.WebhookID)
	}
}

func orGet(a string) string  { return orDefault(a, "get") }
func orList(a string) string { return orDefault(a, "list") }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
