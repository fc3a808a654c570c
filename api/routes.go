package api

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ledgersim/ledgersim/api/openapi"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

func (a *API) register() {
	r := a.routes
	pub := func(method, pattern string, h func(*reqCtx) error) {
		r.add(method, pattern, scopeAdmin, h).public = true
	}
	pub("GET", "/healthz", a.healthz)
	pub("GET", "/readyz", a.readyz)
	pub("GET", "/metrics", a.metrics)
	pub("GET", "/kyc/{token}", a.kycPage)
	pub("POST", "/kyc/{token}", a.kycSubmit)

	// Users, KYC, funding, balances.
	r.add("POST", "/v1/users", scopeAdmin, a.createUser)
	r.add("GET", "/v1/users", scopeAdmin, a.listUsers)
	r.add("GET", "/v1/users/{id}", scopeAdmin, a.getUser)
	r.add("GET", "/v1/users/{id}/cards", scopeAdmin, a.listUserCards)
	r.add("GET", "/v1/users/{id}/funding", scopeAdmin, a.funding)
	r.add("POST", "/v1/verification/user", scopeAdmin, a.startVerification)
	r.add("GET", "/v1/verification/user/{id}", scopeAdmin, a.getVerification)
	r.add("POST", "/v1/simulate/kyc", scopeAdmin, a.simulateKYC)
	r.add("POST", "/v1/simulate/deposit", scopeAdmin, a.simulateDeposit)
	r.add("GET", "/v1/balances/{userId}", scopeAgent, a.balance)
	r.add("GET", "/v1/users/{id}/balance", scopeAgent, a.balance)
	r.add("POST", "/v1/users/{id}/withdrawals", scopeAdmin, a.createWithdrawal)
	r.add("GET", "/v1/users/{id}/withdrawals", scopeAdmin, a.listWithdrawals)
	r.add("GET", "/v1/users/{id}/withdrawals/{withdrawalId}", scopeAdmin, a.getWithdrawal)
	r.add("POST", "/v1/simulate/withdrawal/{id}/resolve", scopeAdmin, a.resolveWithdrawal)
	r.add("GET", "/v1/users/{id}/statements", scopeAdmin, a.listStatements)
	r.add("GET", "/v1/users/{id}/statements/{statementId}", scopeAdmin, a.getStatement)

	// Agents and tokens.
	r.add("POST", "/v1/agents/register", scopeAdmin, a.registerAgent)
	r.add("POST", "/v1/agents", scopeAdmin, a.createAgent)
	r.add("GET", "/v1/agents", scopeAdmin, a.listAgents)
	r.add("GET", "/v1/agents/{id}", scopeAdmin, a.getAgent)
	r.add("PATCH", "/v1/agents/{id}", scopeAdmin, a.updateAgent)
	r.add("POST", "/v1/agents/{id}/suspend", scopeAdmin, a.suspendAgent)
	r.add("POST", "/v1/agents/{id}/activate", scopeAdmin, a.activateAgent)
	r.add("POST", "/v1/agents/{id}/deregister", scopeAdmin, a.deregisterAgent)
	r.add("POST", "/v1/agents/{id}/tokens", scopeAdmin, a.createToken)
	r.add("GET", "/v1/agents/{id}/tokens", scopeAdmin, a.listTokens)
	r.add("POST", "/v1/agents/{id}/tokens/{tokenId}/revoke", scopeAdmin, a.revokeToken)
	r.add("DELETE", "/v1/agents/{id}/tokens/{tokenId}", scopeAdmin, a.revokeToken)

	// Cards. Agent tokens reach their own cards; unfreezing and changing
	// limits stay with the API key, so an agent cannot loosen its own
	// controls.
	r.add("POST", "/v1/agents/{id}/cards", scopeAgent, a.createCard)
	r.add("GET", "/v1/agents/{id}/cards", scopeAgent, a.listAgentCards)
	r.add("GET", "/v1/cards/{id}", scopeAgent, a.getCard)
	r.add("PATCH", "/v1/cards/{id}", scopeAdmin, a.updateCard)
	r.add("POST", "/v1/cards/{id}/freeze", scopeAgent, a.freezeCard)
	r.add("POST", "/v1/cards/{id}/unfreeze", scopeAdmin, a.unfreezeCard)
	r.add("POST", "/v1/cards/{id}/activate", scopeAdmin, a.activateCard)
	r.add("POST", "/v1/cards/{id}/close", scopeAgent, a.closeCard)
	r.add("POST", "/v1/cards/{id}/details", scopeAgent, a.cardDetails)
	r.add("GET", "/v1/cards/{id}/access-events", scopeAgent, a.listAccessEvents)
	r.add("GET", "/v1/cards/{id}/policy", scopeAgent, a.cardPolicy)
	r.add("GET", "/v1/agents/{id}/policy", scopeAgent, a.agentPolicy)

	// Policies: the organization's templates of spending controls.
	r.add("POST", "/v1/policies", scopeAdmin, a.createPolicy)
	r.add("GET", "/v1/policies", scopeAdmin, a.listPolicies)
	r.add("GET", "/v1/policies/{id}", scopeAdmin, a.getPolicy)
	r.add("PATCH", "/v1/policies/{id}", scopeAdmin, a.updatePolicy)

	// The risk engine's settings: the organization's, or with ?agentId= or
	// ?cardId= an agent's or a card's own, which override what they inherit.
	r.add("GET", "/v1/settings/risk", scopeAdmin, a.getRisk)
	r.add("PATCH", "/v1/settings/risk", scopeAdmin, a.updateRisk)
	r.add("POST", "/v1/settings/risk/preset", scopeAdmin, a.applyRiskPreset)

	// Transactions, receipts and the simulate endpoints of the card network.
	r.add("POST", "/v1/simulate/authorization", scopeAdmin, a.simulateAuthorization)
	r.add("POST", "/v1/simulate/clearing", scopeAdmin, a.simulateClearing)
	r.add("POST", "/v1/simulate/reversal", scopeAdmin, a.simulateReversal)
	r.add("POST", "/v1/simulate/refund", scopeAdmin, a.simulateRefund)
	r.add("POST", "/v1/simulate/financial", scopeAdmin, a.simulateFinancial)
	r.add("POST", "/v1/simulate/increment", scopeAdmin, a.simulateIncrement)
	r.add("POST", "/v1/simulate/authorization-advice", scopeAdmin, a.simulateAuthorizationAdvice)
	r.add("POST", "/v1/simulate/force-capture", scopeAdmin, a.simulateForceCapture)
	r.add("POST", "/v1/simulate/refund-reversal", scopeAdmin, a.simulateRefundReversal)
	r.add("POST", "/v1/simulate/clock/advance", scopeAdmin, a.advanceClock)
	r.add("GET", "/v1/simulate/clock", scopeAdmin, a.getClock)
	r.add("POST", "/v1/simulate/faults", scopeAdmin, a.createFault)
	r.add("GET", "/v1/simulate/faults", scopeAdmin, a.listFaults)
	r.add("DELETE", "/v1/simulate/faults/{id}", scopeAdmin, a.deleteFault)
	r.add("GET", "/v1/transactions", scopeAgent, a.listTxns)
	r.add("GET", "/v1/transactions/{id}", scopeAgent, a.getTxn)
	r.add("PATCH", "/v1/transactions/{id}", scopeAgent, a.updateTxn)
	r.add("PUT", "/v1/transactions/{id}/receipt", scopeAgent, a.putReceipt).upload = true
	r.add("GET", "/v1/transactions/{id}/receipt", scopeAgent, a.getReceipt)
	r.add("DELETE", "/v1/transactions/{id}/receipt", scopeAgent, a.deleteReceipt)
	r.add("GET", "/v1/cards/{id}/transactions", scopeAgent, a.listCardTxns)

	// Disputes. An agent token disputes and follows its own agent's
	// purchases; the issuer's decision is simulated with the API key.
	r.add("POST", "/v1/transactions/{id}/disputes", scopeAgent, a.createDispute)
	r.add("GET", "/v1/disputes", scopeAgent, a.listDisputes)
	r.add("GET", "/v1/disputes/{id}", scopeAgent, a.getDispute)
	r.add("PUT", "/v1/disputes/{id}/evidence", scopeAgent, a.putDisputeEvidence).uploadBytes = ledger.MaxDisputeEvidenceBytes
	r.add("POST", "/v1/disputes/{id}/cancel", scopeAgent, a.cancelDispute)
	r.add("POST", "/v1/simulate/dispute/{id}/resolve", scopeAdmin, a.resolveDispute)

	// Intents and the browser extension's side of extensionOnly cards. The
	// extension presents only the single-use details token it was handed.
	r.add("POST", "/v1/cards/{id}/intents", scopeAgent, a.createIntent)
	r.add("GET", "/v1/cards/{id}/intents", scopeAgent, a.listIntents)
	r.add("GET", "/v1/intents/{id}", scopeAgent, a.getIntent)
	r.add("POST", "/v1/intents/{id}/cancel", scopeAgent, a.cancelIntent)
	// Approval is a person's decision, taken with the organization's key:
	// an agent cannot approve its own intents.
	r.add("POST", "/v1/intents/{id}/approve", scopeAdmin, a.approveIntent)
	r.add("POST", "/v1/intents/{id}/reject", scopeAdmin, a.rejectIntent)
	pub("POST", "/v1/extension/redeem", a.redeemDetailsToken)

	r.add("GET", "/v1/iso/spec", scopeAdmin, a.isoSpec)
	pub("GET", "/v1/openapi.json", a.openAPI)
	a.registerWebhookRoutes()
}

// listQuery are the query parameters of every paged list.
var listQuery = []string{"limit", "cursor"}

// routeQuery names the query parameters each route reads, keyed by method
// and pattern; a route not listed takes none. A parameter not named here is
// refused (400 parameter_unknown) before the handler runs, as an unknown
// body field is: a misspelt filter (cardID for cardId) must not return
// every record as if there were no filter.
var routeQuery = map[string][]string{
	"GET /v1/users":                    listQuery,
	"GET /v1/users/{id}/cards":         listQuery,
	"GET /v1/users/{id}/withdrawals":   listQuery,
	"GET /v1/users/{id}/statements":    append([]string{"periodStart", "periodEnd"}, listQuery...),
	"GET /v1/agents":                   append([]string{"userId"}, listQuery...),
	"GET /v1/agents/{id}/cards":        listQuery,
	"GET /v1/cards/{id}/access-events": listQuery,
	"GET /v1/cards/{id}/intents":       {"status"},
	"GET /v1/transactions":             append([]string{"cardId", "userId", "agentId", "status"}, listQuery...),
	"GET /v1/disputes":                 append([]string{"userId", "transactionId", "status"}, listQuery...),
	"GET /v1/cards/{id}/transactions":  listQuery,
	"GET /v1/events":                   append([]string{"type"}, listQuery...),
	"GET /v1/webhooks":                 listQuery,
	"GET /v1/policies":                 listQuery,
	"GET /v1/settings/risk":            {"agentId", "cardId"},
	"PATCH /v1/settings/risk":          {"agentId", "cardId"},
	"GET /v1/webhooks/{id}/deliveries": listQuery,
}

// checkQuery refuses a query parameter the route does not read.
func (rc *reqCtx) checkQuery(rt *route) error {
	allowed := routeQuery[rt.method+" "+rt.pattern]
	var unknown string
	rc.fc.QueryArgs().VisitAll(func(k, _ []byte) {
		if unknown != "" {
			return
		}
		for _, a := range allowed {
			if string(k) == a {
				return
			}
		}
		unknown = string(k)
	})
	if unknown == "" {
		return nil
	}
	msg := fmt.Sprintf("Unknown query parameter '%s'.", unknown)
	if len(allowed) > 0 {
		msg += " This endpoint takes: " + strings.Join(allowed, ", ") + "."
	} else {
		msg += " This endpoint takes none."
	}
	return &apiError{Status: 400, Type: typeValidation, Code: "parameter_unknown", Param: unknown, Message: msg}
}

// listLimit reads a list's limit: 1..100, default 20.
func (rc *reqCtx) listLimit() (int, error) {
	raw := rc.fc.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		return 20, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > 100 {
		return 0, errInvalid("limit", "'limit' must be an integer between 1 and 100.")
	}
	return n, nil
}

// listParams reads limit (1..100, default 20) and cursor.
func (rc *reqCtx) listParams() (ledger.ListParams, error) {
	p := ledger.ListParams{Cursor: string(rc.fc.QueryArgs().Peek("cursor"))}
	var err error
	if p.Limit, err = rc.listLimit(); err != nil {
		return p, err
	}
	if p.Cursor != "" && !model.WellFormedID(p.Cursor) {
		return p, errInvalid("cursor", "'cursor' is not a cursor this API returned; pass a list's cursor value unchanged.")
	}
	return p, nil
}

func (rc *reqCtx) query(n string) string { return string(rc.fc.QueryArgs().Peek(n)) }

func (a *API) healthz(rc *reqCtx) error {
	rc.writeJSON(200, map[string]string{"status": "ok"})
	return nil
}

func (a *API) readyz(rc *reqCtx) error {
	if !a.ready.Load() {
		rc.writeJSON(503, map[string]string{"status": "starting"})
		return nil
	}
	rc.writeJSON(200, map[string]string{"status": "ready"})
	return nil
}

func (a *API) metrics(rc *reqCtx) error {
	if a.cfg.Metrics == nil {
		return errNotFound("not_found", "Metrics are not enabled on this server.")
	}
	a.cfg.Metrics(rc.fc)
	return nil
}

// openAPI serves the API's OpenAPI document. It needs no Api-Key: it
// describes the API and holds no data.
func (a *API) openAPI(rc *reqCtx) error {
	rc.writeRaw(200, openapi.Document())
	return nil
}

func (a *API) isoSpec(rc *reqCtx) error {
	if len(a.cfg.ISOSpecJSON) == 0 {
		return errNotFound("not_found", "The ISO 8583 spec is not available on this server.")
	}
	rc.writeRaw(200, a.cfg.ISOSpecJSON)
	return nil
}
