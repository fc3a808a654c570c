package openapi_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/webhook"
)

// This file is the source of openapi.json: build returns the document, and
// TestDocumentIsBuilt checks that the committed file is its output (run it
// with -update to rewrite the file). Writing the document as Go keeps the
// hundred-odd schemas short and lets the enums come from the model's own
// constants.

type S = map[string]any

func str() S         { return S{"type": "string"} }
func strMax(n int) S { return S{"type": "string", "maxLength": n} }
func reqStr(n int) S { return S{"type": "string", "minLength": 1, "maxLength": n} }
func integer() S     { return S{"type": "integer", "format": "int64"} }
func intRange(lo, hi int64) S {
	return S{"type": "integer", "format": "int64", "minimum": lo, "maximum": hi}
}
func boolean() S            { return S{"type": "boolean"} }
func enum(vals ...string) S { return S{"type": "string", "enum": vals} }
func ms() S                 { return S{"type": "integer", "format": "int64", "description": "Epoch milliseconds."} }
func seconds() S            { return S{"type": "integer", "format": "int64", "description": "Epoch seconds."} }
func cents() S              { return S{"type": "integer", "format": "int64", "description": "Cents."} }
func freeObject() S         { return S{"type": "object"} }
func ref(name string) S     { return S{"$ref": "#/components/schemas/" + name} }
func arrayOf(s S) S         { return S{"type": "array", "items": s} }
func describe(s S, d string) S {
	c := S{}
	for k, v := range s {
		c[k] = v
	}
	c["description"] = d
	return c
}

// nullable lets s be null as well.
func nullable(s S) S {
	c := S{}
	for k, v := range s {
		c[k] = v
	}
	if t, ok := c["type"].(string); ok {
		c["type"] = []string{t, "null"}
		if e, ok := c["enum"].([]string); ok {
			c["enum"] = append(append([]any{}, toAny(e)...), nil)
		}
		return c
	}
	return S{"oneOf": []any{s, S{"type": "null"}}}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

type field struct {
	name     string
	schema   S
	required bool
}

func req(name string, s S) field { return field{name, s, true} }
func opt(name string, s S) field { return field{name, s, false} }

// object is a closed object: a property the document does not name fails
// validation, so a field added to a response without the document fails
// the tests that see it.
func object(fields ...field) S {
	props := S{}
	var required []string
	for _, f := range fields {
		props[f.name] = f.schema
		if f.required {
			required = append(required, f.name)
		}
	}
	o := S{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	return o
}

// body is a request body object: the server refuses unknown fields, and
// treats an explicit null like an absent field, so optional fields accept
// null.
func body(fields ...field) S {
	for i := range fields {
		if !fields[i].required {
			fields[i].schema = nullable(fields[i].schema)
		}
	}
	return object(fields...)
}

func list(item string) S {
	return object(req("object", enum("list")), req("data", arrayOf(ref(item))), req("hasMore", boolean()),
		req("cursor", nullable(describe(str(), "Pass as cursor to get the next page; null on the last page."))))
}

var userFields = []field{
	req("object", enum("user")), req("id", str()), req("firstName", str()), req("lastName", str()), req("email", str()),
	req("status", describe(enum(model.UserStatuses...), "Coarse: approved is the only status that may spend; pending covers every application status short of a decision.")),
	req("applicationStatus", enum(model.ApplicationStatuses...)),
	opt("metadata", freeObject()), req("createdAt", ms()), req("updatedAt", ms()), opt("approvedAt", ms()), opt("rejectedAt", ms()),
}

func agentFields() []field {
	return []field{
		req("object", enum("agent")), req("id", str()), opt("externalId", str()), req("userId", str()), req("name", str()),
		opt("description", str()), req("status", enum(model.AgentActive, model.AgentSuspended, model.AgentDeregistered)),
		req("spendingLimit", nullable(cents())), opt("spendingLimitFrequency", enum(model.Frequencies...)),
		req("currentSpend", cents()), req("onLimitExceeded", enum(model.OnLimitActions...)),
		req("maxCards", nullable(integer())), req("cardCount", integer()), opt("defaultCardLimit", cents()),
		opt("defaultCardLimitFrequency", enum(model.Frequencies...)), opt("defaultPolicyId", str()),
		opt("metadata", freeObject()), req("createdAt", ms()), req("updatedAt", ms()), opt("deregisteredAt", ms()),
	}
}

func statementFields() []field {
	return []field{
		req("object", enum("statement")), req("id", describe(str(), "stmt_..., naming the user and the period.")), req("userId", str()),
		req("type", enum("monthly", "custom")),
		req("periodStart", describe(seconds(), "Epoch seconds; the period includes it.")),
		req("periodEnd", describe(seconds(), "Epoch seconds; the period ends just before it.")),
		req("currency", enum("USD")),
		req("openingBalance", describe(cents(), "Owed at the period's start: purchases posted before it, less refunds.")),
		req("closingBalance", describe(cents(), "openingBalance + totalSpent - totalRefunds + totalFees.")),
		req("creditLimit", describe(cents(), "Deposited by the period's end, less what was withdrawn by then.")),
		req("pendingCharges", describe(cents(), "Authorizations still open at the period's end.")),
		req("availableCredit", describe(cents(), "creditLimit - closingBalance - pendingCharges.")),
		req("totalSpent", describe(cents(), "Purchases posted in the period.")), req("totalRefunds", describe(cents(), "Refunds made in the period.")),
		req("totalFees", describe(cents(), "Always 0: the simulator charges no fees.")),
		req("totalWithdrawals", describe(cents(), "Withdrawn in the period: out of the deposits, not a line, and no change to what is owed.")),
		req("transactionCount", integer()),
		req("createdAt", describe(seconds(), "When the statement was issued: a month's end, or the request for a custom one.")),
	}
}

func txnFields() []field {
	return []field{
		req("object", enum("transaction")), req("id", str()), req("cardId", str()), req("userId", str()), req("agentId", str()),
		req("type", str()), req("amount", cents()),
		req("requestedAmount", describe(cents(), "What the message that made the transaction asked for.")),
		req("authorizedAmount", describe(cents(), "What was authorized: 0 on a decline and a force post.")), req("pendingAmount", cents()),
		opt("reversedAmount", cents()), opt("refundedAmount", cents()), req("currency", str()),
		req("merchantName", str()), opt("merchantId", str()), opt("merchantCity", str()), opt("merchantCountry", str()),
		req("merchantCategory", str()), req("merchantCategoryCode", str()), req("merchantCategoryName", nullable(str())),
		req("status", enum(model.TxnAuthorized, model.TxnCompleted, model.TxnReversed, model.TxnDeclined)),
		req("responseCode", describe(str(), "The ISO 8583 response code: 00 approves.")),
		req("authorizationCode", nullable(str())), opt("declinedReason", nullable(str())), opt("reversalReason", str()),
		opt("forcePost", boolean()), opt("standIn", boolean()), opt("originalTransactionId", str()),
		req("notes", nullable(str())), req("tags", arrayOf(str())), req("category", nullable(str())),
		req("receiptUrl", nullable(str())), req("receipt", ref("Receipt")), req("intentId", nullable(str())),
		opt("attestationStatus", nullable(enum(model.Attested, model.Unattested, model.Stale))),
		opt("accessEventId", nullable(str())), req("source", str()), opt("stan", str()), opt("rrn", str()),
		req("createdAt", ms()), req("updatedAt", ms()), req("authorizedAt", nullable(ms())), req("settledAt", nullable(ms())),
		req("postedAt", nullable(ms())), opt("reversedAt", nullable(ms())),
	}
}

func schemas() (out S) {
	chains := make([]string, len(ledger.Chains))
	for i, c := range ledger.Chains {
		chains[i] = c.Name
	}
	decision := txnFields()
	defer func() {
		// The card's own controls, and the policies' schemas.
		addFields(out["Card"].(S), cardControlFields())
		for k, v := range policySchemas() {
			out[k] = v
		}
		for k, v := range riskSchemas() {
			out[k] = v
		}
	}()
	for i := range decision {
		if decision[i].name == "tags" {
			decision[i].schema = nullable(arrayOf(str()))
		}
	}
	decision = append(decision, req("approved", boolean()))
	registration := append(agentFields(), req("created", boolean()), opt("token", describe(str(), "The agent's first token; shown only in this response.")), opt("tokenId", str()))
	out = S{
		"Error": object(
			req("error", object(
				req("type", enum("authentication_error", "authorization_error", "invalid_request_error", "validation_error",
					"not_found_error", "conflict_error", "rate_limit_error", "service_error")),
				req("code", describe(str(), "The specific reason, such as card_not_found or parameter_invalid.")),
				req("message", str()),
				opt("param", describe(str(), "The request field, query parameter or header at fault.")),
			)),
			req("requestId", str()),
			opt("retryAfter", describe(integer(), "With a rate_limit_error: milliseconds to wait (the Retry-After header has seconds).")),
		),
		"User":     object(userFields...),
		"UserList": list("User"),
		"Verification": object(req("object", enum("verification")), req("userId", str()), req("status", str()),
			req("applicationStatus", str()), opt("verificationUrl", describe(str(), "The hosted KYC page; absent before verification starts."))),
		"Balance": object(req("object", enum("balance")), req("userId", str()), req("available", cents()), req("pending", cents()),
			req("settled", cents()), req("deposited", cents()),
			req("creditLimit", describe(cents(), "Total deposited: deposits back the credit line at a 100% advance rate.")),
			req("pendingCharges", describe(cents(), "Authorized, not yet cleared (open holds).")),
			req("postedCharges", describe(cents(), "Cleared purchases less refunds: deposited minus settled.")),
			req("balanceDue", describe(cents(), "What is owed on the credit line; equals postedCharges, as the simulator has no repayment.")),
			req("spendingPower", describe(cents(), "creditLimit - pendingCharges - postedCharges; equals available.")),
			req("currency", enum("USD"))),
		"Withdrawal": object(req("object", enum("withdrawal")), req("id", str()), req("userId", str()), req("chainId", integer()),
			req("tokenAddress", str()), req("amount", cents()), req("currency", enum("USD")), req("recipientAddress", str()),
			req("status", describe(enum(model.WithdrawalPending, model.WithdrawalSubmitted, model.WithdrawalConfirmed, model.WithdrawalFailed), "submitted when made (its funds leave at once); confirmed or failed (funds returned) by POST /v1/simulate/withdrawal/{id}/resolve. pending is never reached.")),
			opt("transactionHash", str()), req("createdAt", ms()), req("updatedAt", ms()), opt("confirmedAt", ms()),
			opt("failedAt", ms()), opt("failureReason", str())),
		"WithdrawalList": list("Withdrawal"),
		"Dispute": object(req("object", enum("dispute")), req("id", str()), req("transactionId", str()), req("cardId", str()),
			req("agentId", str()), req("userId", str()), req("amount", describe(cents(), "What the purchase had captured less what was refunded when the dispute was opened.")),
			req("currency", enum("USD")), req("reason", enum(model.DisputeReasons...)), opt("description", str()), opt("textEvidence", str()),
			req("evidence", object(req("hasFile", boolean()), opt("textEvidence", str()), opt("name", str()), opt("type", str()),
				opt("mimeType", str()), opt("sizeBytes", integer()), opt("uploadedAt", ms()))),
			req("rainDisputeId", describe(str(), "The card issuer's reference.")),
			req("status", enum(model.DisputePending, model.DisputeInReview, model.DisputeAccepted, model.DisputeRejected, model.DisputeCanceled)),
			req("outcome", nullable(enum(model.DisputeWon, model.DisputeLost))),
			req("creditTransactionId", nullable(describe(str(), "The refund a won dispute credited."))), req("creditAmount", cents()),
			req("createdAt", ms()), req("updatedAt", ms()), req("resolvedAt", nullable(ms())),
			opt("canceledAt", ms())),
		"DisputeList":             list("Dispute"),
		"DisputeEvidenceUploaded": object(req("object", enum("dispute_evidence")), req("message", str()), req("dispute", ref("Dispute"))),
		"FundingAddress":          object(req("asset", enum(ledger.Assets...)), req("chain", enum(chains...)), req("chainId", integer()), req("address", str())),
		"Funding":                 object(req("object", enum("funding")), req("userId", str()), req("addresses", arrayOf(ref("FundingAddress")))),
		"Deposit": object(req("id", str()), req("userId", str()), req("asset", str()), req("chain", str()), req("chainId", integer()),
			req("amount", describe(str(), "Token units, as given.")), req("amountCents", cents()), req("address", str()),
			req("status", str()), req("createdAt", ms())),
		"DepositResult":     object(req("object", enum("deposit")), req("deposit", ref("Deposit")), req("balance", ref("Balance"))),
		"Agent":             object(agentFields()...),
		"AgentList":         list("Agent"),
		"AgentRegistration": object(registration...),
		"AgentStatusChange": object(req("object", enum("agent")), req("id", str()), req("status", str()), req("previousStatus", str()),
			opt("externalId", str()), opt("deregisteredAt", ms())),
		"AgentToken": object(req("object", enum("agent_token")), req("id", str()), req("agentId", str()), req("tokenPrefix", str()),
			req("isActive", boolean()), opt("name", str()), opt("token", describe(str(), "The secret; only in the response that creates it.")),
			req("createdAt", ms()), req("expiresAt", nullable(ms())), req("lastUsedAt", nullable(ms())), req("revokedAt", nullable(ms()))),
		"AgentTokenList":   list("AgentToken"),
		"StatementSummary": object(statementFields()...),
		"StatementList":    list("StatementSummary"),
		"Statement": object(append(statementFields(),
			req("transactions", arrayOf(ref("StatementLine"))),
			req("summaryByMerchant", arrayOf(object(req("merchantName", str()), req("transactionCount", integer()),
				req("totalAmount", describe(cents(), "Charged less refunded."))))),
			req("summaryByCategory", arrayOf(object(req("category", describe(str(), "The merchant category's name, or Uncategorized.")),
				req("categoryCode", describe(str(), "The MCC.")), req("transactionCount", integer()),
				req("totalAmount", describe(cents(), "Charged less refunded."))))),
			req("withdrawals", arrayOf(object(req("id", str()), req("amount", cents()), req("chainId", integer()),
				req("recipientAddress", str()), opt("transactionHash", str()), req("status", str()),
				req("createdAt", seconds())))))...),
		"StatementLine": object(req("id", describe(str(), "The transaction's id.")), req("type", enum(model.KindPurchase, model.KindRefund)),
			req("status", enum(model.TxnCompleted, model.TxnReversed)),
			req("amount", describe(cents(), "Positive; type says whether it was charged or credited. A purchase reversed after it posted shows what its refunds had given back.")),
			req("currency", str()), req("merchantName", str()), req("merchantCategoryCode", str()), req("category", str()),
			req("cardId", str()), req("agentId", str()), req("authorizedAt", nullable(seconds())), req("postedAt", seconds())),
		"Limits": object(req("perAuth", nullable(cents())), req("perDay", nullable(cents())), req("perMonth", nullable(cents())),
			opt("perWeek", describe(cents(), "Per ISO week from Monday 00:00 UTC; from defaultCardLimitFrequency perWeek.")),
			opt("perYear", describe(cents(), "Per UTC calendar year; from defaultCardLimitFrequency perYear.")),
			opt("allTime", describe(cents(), "Over the card's whole life; from defaultCardLimitFrequency allTime."))),
		"Card": object(req("object", enum("card")), req("id", str()), req("agentId", str()), req("userId", str()),
			req("type", enum(model.CardSingle, model.CardMulti)), req("purpose", str()),
			req("status", enum(model.CardActive, model.CardFrozen, model.CardClosed, model.CardNotActivated)),
			req("last4", str()), req("createdAt", ms()), req("updatedAt", ms()),
			req("credentialExposure", enum(model.ExposureNever, model.ExposureExtension, model.ExposureRawPAN)),
			req("expirationMonth", str()), req("expirationYear", str()), req("limits", ref("Limits")),
			req("maxAmount", nullable(cents())), req("merchantHint", nullable(str())), req("maxAuthCount", nullable(integer())),
			req("ttlDays", nullable(integer())), req("attestationWindowMinutes", integer()),
			req("onDrift", nullable(enum(model.DriftFreeze, model.DriftNotify, model.DriftNone))), req("authCount", integer()),
			opt("closedAt", ms()), opt("activatedAt", describe(ms(), "When a card issued notActivated was activated.")), opt("expiredAt", describe(ms(), "When the end of the card's lifetime (ttlMinutes, ttlDays or expiry date) was recorded with card.expired; it froze or closed the card then.")),
			req("expiresAt", describe(ms(), "When the card's lifetime (ttlDays, ttlMinutes, or its expiry month) ends; from then on it declines 54.")),
			req("isExpired", boolean())),
		"CardList":       list("Card"),
		"CardTransition": object(req("object", enum("card")), req("id", str()), req("status", str()), req("previousStatus", str())),
		"CardCredentials": object(req("object", enum("card_credentials")), req("accessEventId", str()), req("exposureMode", str()),
			opt("intentId", str()), opt("pan", describe(str(), "The card number: rawPan cards and redeemed tokens only.")),
			opt("cvv", str()), opt("expirationMonth", str()), opt("expirationYear", str()), req("last4", str()),
			opt("detailsToken", describe(str(), "extensionOnly cards: a single-use token for POST /v1/extension/redeem.")),
			opt("tokenExpiresAt", ms())),
		"AccessEvent": object(req("object", enum("access_event")), req("id", str()), req("cardId", str()), req("agentId", str()),
			req("actor", str()), req("exposureMode", str()), req("summary", str()), opt("expectedAmount", cents()),
			opt("expectedCurrency", str()), opt("merchantText", str()), opt("reason", str()), opt("clientContext", freeObject()),
			opt("intentId", str()), req("createdAt", ms())),
		"AccessEventList": list("AccessEvent"),
		"Receipt": object(req("hasReceipt", boolean()), opt("mimeType", str()), opt("sizeBytes", integer()), opt("fileName", str()),
			opt("url", str()), opt("uploadedAt", ms())),
		"ReceiptLink":     object(req("object", enum("receipt")), req("transactionId", str()), req("url", str()), req("uploadedAt", ms())),
		"Transaction":     object(txnFields()...),
		"TransactionList": list("Transaction"),
		"Decision":        object(decision...),
		"MatchResult": object(req("amountMatch", boolean()), req("merchantMatch", boolean()), req("actualAmount", cents()),
			req("actualMerchant", str())),
		"Intent": object(req("object", enum("intent")), req("id", str()), req("cardId", str()), req("intentId", str()),
			req("summary", str()), opt("expectedAmount", cents()), req("expectedCurrency", str()), opt("expectedMerchant", str()),
			req("tolerance", cents()), req("ttlMinutes", integer()), opt("metadata", freeObject()),
			req("status", enum(model.IntentPending, model.IntentPendingApproval, model.IntentRejected, model.IntentMatched, model.IntentMismatched, model.IntentExpired, model.IntentCanceled)),
			opt("transactionId", str()), opt("matchResult", ref("MatchResult")), opt("accessEventId", str()),
			opt("detailsAccessedAt", ms()), req("expiresAt", ms()), req("createdAt", ms()), req("updatedAt", ms()),
			opt("matchedAt", ms()), opt("mismatchedAt", ms()), opt("expiredAt", ms()), opt("canceledAt", ms()),
			req("approvalRequired", boolean()),
			opt("approvalRequiredBy", describe(enum(model.ApprovalByIntent, model.ApprovalByCard, model.ApprovalByPolicy), "What required the approval: the intent's own requireApproval, the card's, or the card's policy's.")),
			opt("approvedAt", ms()),
			opt("approvedBy", describe(str(), "The display prefix of the API key that approved.")),
			opt("rejectedAt", ms()), opt("rejectedBy", describe(str(), "The display prefix of the API key that rejected.")),
			opt("rejectionReason", str()),
			opt("intentIdGenerated", describe(boolean(), "On the reply that created an intent declared without intentId: intentId is then the intent's id."))),
		"IntentList": object(req("object", enum("list")), req("cardId", str()), req("intents", arrayOf(ref("Intent")))),
		"Clock":      object(req("object", enum("clock")), req("now", ms()), req("virtual", boolean())),
		"Event": object(req("id", str()), req("object", enum("event")), req("type", str()), req("createdAt", ms()),
			req("data", describe(S{}, "The event's payload; its shape depends on type."))),
		"EventList": list("Event"),
		"Webhook": object(req("object", enum("webhook")), req("id", str()), req("url", str()), req("description", str()),
			req("events", arrayOf(str())), req("status", enum(webhook.StatusEnabled, webhook.StatusDisabled)),
			opt("disabledReason", str()), opt("secret", describe(str(), "Only in the responses that create or rotate it.")),
			opt("previousSecretExpiresAt", ms()), req("createdAt", ms()), req("updatedAt", ms())),
		"WebhookList": list("Webhook"),
		"WebhookDelivery": object(req("object", enum("webhook_delivery")), req("id", str()), req("webhookId", str()),
			req("eventId", str()), req("eventType", str()), req("attempt", integer()), req("status", str()),
			req("statusCode", nullable(integer())), req("latencyMs", integer()), req("error", nullable(str())),
			req("attemptedAt", ms()), req("deliveredAt", nullable(ms())), req("nextAttemptAt", nullable(ms()))),
		"WebhookDeliveryList": list("WebhookDelivery"),
		"Deleted":             object(req("object", str()), req("id", str()), req("deleted", boolean())),
		"Status":              object(req("status", str())),
		"Fault": object(req("object", enum("fault")), req("id", str()), opt("cardId", str()), opt("last4", str()),
			opt("mti", enum(faults.MTIs()...)), opt("amountMin", cents()), opt("amountMax", cents()),
			req("action", enum(faults.Actions()...)), opt("delayMs", integer()), opt("responseCode", str()),
			req("percent", intRange(0, 100)), req("count", nullable(describe(integer(), "At most this many requests; null for no limit."))),
			req("matched", describe(integer(), "Requests the rule was applied to.")), req("createdAt", ms())),
		"FaultList": list("Fault"),
	}
	return out
}

// op describes one operation.
type op struct {
	method, path, id, summary, tag string
	// agent: agent tokens may call it (on their own resources); public: no Api-Key.
	agent, public bool
	query         []S
	body          S
	bodyRequired  bool
	// multipart is the schema of a body sent only as multipart/form-data.
	multipart S
	// ok maps a success status to its response schema name.
	ok map[int]string
	// webhooks: answers 503 while webhook delivery is not running.
	webhooks bool
	// faults: answers 503 when fault injection is not running.
	faults bool
}

func pathParam(name string) S {
	return S{"name": name, "in": "path", "required": true, "schema": S{"type": "string", "minLength": 1, "maxLength": 128}}
}

func queryParam(name string, schema S, desc string) S {
	return S{"name": name, "in": "query", "required": false, "schema": schema, "description": desc}
}

var pageParams = []S{
	queryParam("limit", intRange(1, 100), "Page size; default 20."),
	queryParam("cursor", strMax(128), "The cursor of the previous page."),
}

func withPage(extra ...S) []S { return append(append([]S{}, pageParams...), extra...) }

func okStatus(status int, schema string) map[int]string { return map[int]string{status: schema} }

var limitsBody = body(opt("perAuth", intRange(1, 1<<50)), opt("perDay", intRange(1, 1<<50)), opt("perMonth", intRange(1, 1<<50)),
	opt("perWeek", intRange(1, 1<<50)), opt("perYear", intRange(1, 1<<50)), opt("allTime", intRange(1, 1<<50)))

func agentBody(register bool) S {
	fs := []field{
		req("userId", reqStr(64)), req("name", reqStr(200)), opt("externalId", strMax(128)), opt("description", strMax(1000)),
		opt("spendingLimit", intRange(0, 1<<50)), opt("spendingLimitFrequency", enum(model.Frequencies...)),
		opt("onLimitExceeded", enum(model.OnLimitActions...)), opt("maxCards", intRange(0, 100000)),
		opt("defaultCardLimit", intRange(1, 1<<50)), opt("defaultCardLimitFrequency", enum(model.Frequencies...)),
		opt("metadata", freeObject()),
	}
	if register {
		fs = append(fs, opt("defaultPolicyId", strMax(64)))
	}
	return body(fs...)
}

var emptyBody = body()

func operations() []op {
	chains := make([]string, len(ledger.Chains))
	for i, c := range ledger.Chains {
		chains[i] = c.Name
	}
	amountCents := intRange(0, 1<<50)
	return []op{
		{method: "GET", path: "/healthz", id: "health", summary: "Liveness: 200 while the process serves.", tag: "Server", public: true, ok: okStatus(200, "Status")},
		{method: "GET", path: "/readyz", id: "ready", summary: "Readiness: 200 once serving, 503 while starting or stopping.", tag: "Server", public: true, ok: okStatus(200, "Status")},
		{method: "GET", path: "/metrics", id: "metrics", summary: "Prometheus metrics, in the text exposition format.", tag: "Server", public: true},
		{method: "GET", path: "/v1/openapi.json", id: "getOpenAPI", summary: "This document.", tag: "Server", public: true},
		{method: "GET", path: "/v1/iso/spec", id: "getISOSpec", summary: "The ISO 8583 message specification the listener speaks.", tag: "Server"},

		{method: "POST", path: "/v1/users", id: "createUser", summary: "Create a user; pending until KYC approves them.", tag: "Users",
			body:         body(req("firstName", reqStr(100)), req("lastName", reqStr(100)), req("email", reqStr(254)), opt("metadata", freeObject())),
			bodyRequired: true, ok: okStatus(201, "User")},
		{method: "GET", path: "/v1/users", id: "listUsers", summary: "List users, newest first.", tag: "Users", query: pageParams, ok: okStatus(200, "UserList")},
		{method: "GET", path: "/v1/users/{id}", id: "getUser", summary: "Get a user.", tag: "Users", ok: okStatus(200, "User")},
		{method: "GET", path: "/v1/users/{id}/cards", id: "listUserCards", summary: "List a user's cards.", tag: "Cards", query: pageParams, ok: okStatus(200, "CardList")},
		{method: "GET", path: "/v1/users/{id}/funding", id: "getFunding", summary: "A user's deposit addresses.", tag: "Funding", ok: okStatus(200, "Funding")},
		{method: "GET", path: "/v1/users/{id}/statements", id: "listStatements", summary: "A user's monthly statements, newest first: one per calendar month (UTC) that has ended on the server's clock, from the month the user was created in. With periodStart and periodEnd, the custom statement of that range instead.", tag: "Statements",
			query: withPage(queryParam("periodStart", intRange(0, 253402300798), "With periodEnd: the custom statement of [periodStart, periodEnd), epoch seconds, alone in the list (not with cursor)."),
				queryParam("periodEnd", intRange(1, 253402300799), "Epoch seconds, excluded; at most the server's clock.")),
			ok: okStatus(200, "StatementList")},
		{method: "GET", path: "/v1/users/{id}/statements/{statementId}", id: "getStatement", summary: "A statement, monthly or custom, with every transaction line; a PDF with Accept: application/pdf.", tag: "Statements", ok: okStatus(200, "Statement")},
		{method: "POST", path: "/v1/verification/user", id: "startVerification", summary: "Start a user's KYC; returns the hosted page's URL.", tag: "Users",
			body: body(req("userId", reqStr(64))), bodyRequired: true, ok: okStatus(200, "Verification")},
		{method: "GET", path: "/v1/verification/user/{id}", id: "getVerification", summary: "A user's KYC state.", tag: "Users", ok: okStatus(200, "Verification")},
		{method: "POST", path: "/v1/simulate/kyc", id: "simulateKYC", summary: "Move a user's KYC application to a status, as the provider would.", tag: "Simulate",
			body: body(req("userId", reqStr(64)), req("decision", describe(enum(append(slices.Clone(ledger.KYCTargets), model.RejectedAlias)...),
				"The application status to move to; rejected is another name for denied. Only approved may spend. From notStarted, pending, needsInformation, needsVerification and manualReview any status may follow; approved may become needsVerification or locked; locked may become approved, denied or needsVerification; denied and canceled are final (409)."))),
			bodyRequired: true, ok: okStatus(200, "User")},
		{method: "POST", path: "/v1/simulate/deposit", id: "simulateDeposit", summary: "Credit a user as an on-chain deposit would.", tag: "Simulate",
			body: body(req("userId", reqStr(64)), req("asset", enum(ledger.Assets...)), req("chain", enum(chains...)),
				req("amount", S{"type": []string{"number", "string"}, "description": "Token units (1 unit = 100 cents), at most 2 decimal places; a JSON number or a decimal string."})),
			bodyRequired: true, ok: okStatus(201, "DepositResult")},
		{method: "POST", path: "/v1/users/{id}/withdrawals", id: "createWithdrawal", summary: "Withdraw funds to an address: at most what is available; it leaves the deposits (creditLimit) and the settled balance alike, so postedCharges does not count it. Submitted until the simulated chain confirms or fails it.", tag: "Funding",
			body: body(req("chainId", describe(integer(), "137, 8453, 10, 42161 or 43114.")), req("tokenAddress", describe(strMax(42), "0x and 40 hexadecimal digits.")),
				req("amount", describe(intRange(1, ledger.MaxBalanceCents), "Cents.")), req("recipientAddress", describe(strMax(42), "0x and 40 hexadecimal digits."))),
			bodyRequired: true, ok: okStatus(201, "Withdrawal")},
		{method: "GET", path: "/v1/users/{id}/withdrawals", id: "listWithdrawals", summary: "A user's withdrawals, newest first.", tag: "Funding", query: pageParams, ok: okStatus(200, "WithdrawalList")},
		{method: "GET", path: "/v1/users/{id}/withdrawals/{withdrawalId}", id: "getWithdrawal", summary: "One of a user's withdrawals.", tag: "Funding", ok: okStatus(200, "Withdrawal")},
		{method: "POST", path: "/v1/simulate/withdrawal/{id}/resolve", id: "resolveWithdrawal", summary: "Decide a submitted withdrawal as the chain would: confirmed (withdrawal.confirmed), or failed (withdrawal.failed), which returns its amount to the deposits and the settled balance.", tag: "Simulate",
			body: body(req("outcome", enum(ledger.WithdrawalOutcomeConfirmed, ledger.WithdrawalOutcomeFailed)),
				opt("reason", describe(strMax(200), "Only with failed; default transfer_failed."))), bodyRequired: true, ok: okStatus(200, "Withdrawal")},
		{method: "GET", path: "/v1/balances/{userId}", id: "getBalance", summary: "A user's balance in cents.", tag: "Funding", agent: true, ok: okStatus(200, "Balance")},
		{method: "GET", path: "/v1/users/{id}/balance", id: "getUserBalance", summary: "A user's balance in cents (the platform's path; the same object as /v1/balances/{userId}).", tag: "Funding", agent: true, ok: okStatus(200, "Balance")},

		{method: "POST", path: "/v1/agents/register", id: "registerAgent", summary: "Register an agent; returns its first token. With an externalId already registered, returns that agent (200).", tag: "Agents",
			body: agentBody(true), bodyRequired: true, ok: map[int]string{200: "AgentRegistration", 201: "AgentRegistration"}},
		{method: "POST", path: "/v1/agents", id: "createAgent", summary: "Register an agent (the platform's other path).", tag: "Agents",
			body: agentBody(false), bodyRequired: true, ok: map[int]string{200: "AgentRegistration", 201: "AgentRegistration"}},
		{method: "GET", path: "/v1/agents", id: "listAgents", summary: "List agents, newest first.", tag: "Agents",
			query: withPage(queryParam("userId", strMax(64), "Only this user's agents.")), ok: okStatus(200, "AgentList")},
		{method: "GET", path: "/v1/agents/{id}", id: "getAgent", summary: "Get an agent.", tag: "Agents", ok: okStatus(200, "Agent")},
		{method: "PATCH", path: "/v1/agents/{id}", id: "updateAgent", summary: "Change an agent; null clears spendingLimit or metadata.", tag: "Agents",
			body: body(opt("name", strMax(200)), opt("description", strMax(1000)), opt("status", enum(model.AgentActive, model.AgentSuspended)),
				opt("spendingLimit", intRange(0, 1<<50)), opt("spendingLimitFrequency", enum(model.Frequencies...)),
				opt("onLimitExceeded", enum(model.OnLimitActions...)), opt("maxCards", intRange(0, 100000)), opt("metadata", freeObject()),
				opt("defaultPolicyId", describe(strMax(64), "The policy of the agent's cards that have none of their own; null removes it."))),
			ok: okStatus(200, "Agent")},
		{method: "POST", path: "/v1/agents/{id}/suspend", id: "suspendAgent", summary: "Suspend an agent; its cards are frozen.", tag: "Agents", body: emptyBody, ok: okStatus(200, "AgentStatusChange")},
		{method: "POST", path: "/v1/agents/{id}/activate", id: "activateAgent", summary: "Reactivate a suspended agent.", tag: "Agents", body: emptyBody, ok: okStatus(200, "AgentStatusChange")},
		{method: "POST", path: "/v1/agents/{id}/deregister", id: "deregisterAgent", summary: "Deregister an agent for good: its cards close, its tokens are revoked.", tag: "Agents", body: emptyBody, ok: okStatus(200, "AgentStatusChange")},
		{method: "POST", path: "/v1/agents/{id}/tokens", id: "createToken", summary: "Issue a token for an agent; the secret is shown only now.", tag: "Agents",
			body: body(opt("name", strMax(200)), opt("expiresAt", describe(intRange(1, 1<<62), "Epoch milliseconds."))), ok: okStatus(201, "AgentToken")},
		{method: "GET", path: "/v1/agents/{id}/tokens", id: "listTokens", summary: "An agent's tokens (not paged).", tag: "Agents", ok: okStatus(200, "AgentTokenList")},
		{method: "POST", path: "/v1/agents/{id}/tokens/{tokenId}/revoke", id: "revokeToken", summary: "Revoke an agent's token.", tag: "Agents", body: emptyBody, ok: okStatus(200, "AgentToken")},
		{method: "DELETE", path: "/v1/agents/{id}/tokens/{tokenId}", id: "deleteToken", summary: "Revoke an agent's token (the platform's other verb).", tag: "Agents", ok: okStatus(200, "AgentToken")},

		{method: "POST", path: "/v1/agents/{id}/cards", id: "createCard", summary: "Issue a card to an agent.", tag: "Cards", agent: true,
			body: body(req("purpose", reqStr(500)), opt("type", enum(model.CardSingle, model.CardMulti)),
				opt("credentialExposure", enum(model.ExposureNever, model.ExposureExtension, model.ExposureRawPAN)),
				opt("acknowledgeRawPanRisk", boolean()), opt("limits", limitsBody), opt("maxAmount", intRange(1, 1<<50)),
				opt("merchantHint", strMax(200)), opt("maxAuthCount", intRange(1, 1_000_000_000)), opt("ttlDays", intRange(1, 3650)),
				opt("attestationWindowMinutes", intRange(1, 60)), opt("onDrift", enum(model.DriftFreeze, model.DriftNotify, model.DriftNone)),
				opt("status", describe(enum(model.CardActive, model.CardNotActivated), "active (default), or notActivated: the card declines 62 card_not_activated until POST /v1/cards/{id}/activate."))),
			bodyRequired: true, ok: okStatus(201, "Card")},
		{method: "GET", path: "/v1/agents/{id}/cards", id: "listAgentCards", summary: "List an agent's cards.", tag: "Cards", agent: true, query: pageParams, ok: okStatus(200, "CardList")},
		{method: "GET", path: "/v1/cards/{id}", id: "getCard", summary: "Get a card.", tag: "Cards", agent: true, ok: okStatus(200, "Card")},
		{method: "PATCH", path: "/v1/cards/{id}", id: "updateCard", summary: "Change a card's controls; null clears maxAuthCount. API key only.", tag: "Cards",
			body: body(opt("limits", limitsBody), opt("merchantHint", strMax(200)), opt("onDrift", enum(model.DriftFreeze, model.DriftNotify, model.DriftNone)),
				opt("maxAuthCount", intRange(1, 1_000_000_000)), opt("maxAmount", intRange(1, 1<<50)), opt("status", enum(model.CardActive, model.CardFrozen))),
			ok: okStatus(200, "Card")},
		{method: "POST", path: "/v1/cards/{id}/freeze", id: "freezeCard", summary: "Freeze a card.", tag: "Cards", agent: true, body: emptyBody, ok: okStatus(200, "CardTransition")},
		{method: "POST", path: "/v1/cards/{id}/unfreeze", id: "unfreezeCard", summary: "Unfreeze a card. API key only.", tag: "Cards", body: emptyBody, ok: okStatus(200, "CardTransition")},
		{method: "POST", path: "/v1/cards/{id}/activate", id: "activateCard", summary: "Activate a notActivated card (PATCH status active does the same). API key only.", tag: "Cards", body: emptyBody, ok: okStatus(200, "CardTransition")},
		{method: "POST", path: "/v1/cards/{id}/close", id: "closeCard", summary: "Close a card for good.", tag: "Cards", agent: true, body: emptyBody, ok: okStatus(200, "CardTransition")},
		{method: "POST", path: "/v1/cards/{id}/details", id: "getCardDetails", summary: "Read a card's credentials with an attestation of what they are for.", tag: "Cards", agent: true,
			body: body(req("summary", reqStr(1000)), opt("expectedAmount", amountCents), opt("expectedCurrency", enum("USD")),
				opt("merchantText", strMax(200)), opt("reason", enum("one-time", "subscription", "preauth")), opt("clientContext", freeObject())),
			bodyRequired: true, ok: okStatus(200, "CardCredentials")},
		{method: "GET", path: "/v1/cards/{id}/access-events", id: "listAccessEvents", summary: "List the reads of a card's details.", tag: "Cards", agent: true, query: pageParams, ok: okStatus(200, "AccessEventList")},

		{method: "POST", path: "/v1/simulate/authorization", id: "simulateAuthorization", summary: "An authorization through the ISO 8583 decision path. A decline is a 201 with approved false.", tag: "Simulate",
			body: body(req("cardId", reqStr(64)), req("amount", describe(amountCents, "Cents; 0 is an account verification.")),
				opt("merchantName", strMax(25)), opt("merchantId", strMax(15)), opt("merchantCity", strMax(13)), opt("merchantCountry", strMax(2)),
				opt("merchantCategory", describe(strMax(4), "A 4-digit MCC.")), opt("currency", describe(strMax(3), "ISO 4217: USD (default), EUR, GBP, CAD or 840.")),
				opt("allowPartial", describe(boolean(), "The terminal takes a partial approval (ISO DE 48 sub-element 61): a purchase above what is left is approved for what is left, responseCode 10, with requestedAmount and authorizedAmount."))),
			bodyRequired: true, ok: okStatus(201, "Decision")},
		{method: "POST", path: "/v1/simulate/financial", id: "simulateFinancial", summary: "A single-message purchase (ISO 0200): authorized and completed in one. A decline is a 201 with approved false.", tag: "Simulate",
			body: body(req("cardId", reqStr(64)), req("amount", amountCents),
				opt("merchantName", strMax(25)), opt("merchantId", strMax(15)), opt("merchantCity", strMax(13)), opt("merchantCountry", strMax(2)),
				opt("merchantCategory", describe(strMax(4), "A 4-digit MCC.")), opt("currency", describe(strMax(3), "ISO 4217: USD (default), EUR, GBP, CAD or 840.")),
				opt("allowPartial", describe(boolean(), "The terminal takes a partial approval."))),
			bodyRequired: true, ok: okStatus(201, "Decision")},
		{method: "POST", path: "/v1/simulate/increment", id: "simulateIncrement", summary: "An incremental authorization (ISO 0100 with DE 90): amount more on an open authorization, every rule checked for it; on approval its hold and amounts grow and no transaction is made. A decline is a 200 with approved false; 409 when the transaction is not an open authorization.", tag: "Simulate",
			body: body(req("transactionId", reqStr(64)), req("amount", intRange(1, 1<<50))), bodyRequired: true, ok: okStatus(200, "Decision")},
		{method: "POST", path: "/v1/simulate/authorization-advice", id: "simulateAuthorizationAdvice", summary: "An authorization advice that changes the amount (ISO 0120 with DE 90): the open authorization's amount becomes amount, up or down, adding or releasing hold; nothing is declined on policy. 409 when the transaction is not an open authorization.", tag: "Simulate",
			body: body(req("transactionId", reqStr(64)), req("amount", intRange(1, 1<<50))), bodyRequired: true, ok: okStatus(200, "Decision")},
		{method: "POST", path: "/v1/simulate/force-capture", id: "simulateForceCapture", summary: "A completed purchase without an authorization (a force post): the balance is debited, nothing is decided.", tag: "Simulate",
			body: body(req("cardId", reqStr(64)), req("amount", intRange(1, 1<<50)),
				opt("merchantName", strMax(25)), opt("merchantId", strMax(15)), opt("merchantCity", strMax(13)), opt("merchantCountry", strMax(2)),
				opt("merchantCategory", describe(strMax(4), "A 4-digit MCC."))),
			bodyRequired: true, ok: okStatus(201, "Decision")},
		{method: "POST", path: "/v1/simulate/refund-reversal", id: "simulateRefundReversal", summary: "Take a refund back (a return reversal): the credit is debited again. A refund reversed already is answered as it stands.", tag: "Simulate",
			body: body(req("transactionId", reqStr(64))), bodyRequired: true, ok: okStatus(200, "Decision")},
		{method: "POST", path: "/v1/simulate/clearing", id: "simulateClearing", summary: "Capture an authorization.", tag: "Simulate",
			body: body(req("transactionId", reqStr(64)), req("amount", amountCents)), bodyRequired: true, ok: okStatus(200, "Decision")},
		{method: "POST", path: "/v1/simulate/reversal", id: "simulateReversal", summary: "Reverse an authorization, wholly or by amount.", tag: "Simulate",
			body: body(req("transactionId", reqStr(64)), opt("amount", describe(amountCents, "The amount released.")),
				opt("remainingAmount", describe(amountCents, "The amount left authorized, as DE 95 says it; not with amount."))),
			bodyRequired: true, ok: okStatus(200, "Decision")},
		{method: "POST", path: "/v1/simulate/refund", id: "simulateRefund", summary: "Refund part or all of a completed transaction (transactionId), or credit a card with no purchase named (cardId, an unlinked refund).", tag: "Simulate",
			body: body(opt("transactionId", describe(reqStr(64), "The completed purchase refunded; not with cardId.")),
				opt("cardId", describe(reqStr(64), "An unlinked refund to this card; not with transactionId.")), req("amount", intRange(1, 1<<50)),
				opt("merchantName", strMax(25)), opt("merchantId", strMax(15)), opt("merchantCity", strMax(13)), opt("merchantCountry", strMax(2)),
				opt("merchantCategory", describe(strMax(4), "A 4-digit MCC."))),
			bodyRequired: true, ok: okStatus(201, "Decision")},
		{method: "POST", path: "/v1/simulate/clock/advance", id: "advanceClock", summary: "Move the virtual clock forward and apply what comes due. 409 on the real clock.", tag: "Simulate",
			body: body(req("minutes", intRange(1, 366*24*60))), bodyRequired: true, ok: okStatus(200, "Clock")},
		{method: "GET", path: "/v1/simulate/clock", id: "getClock", summary: "The server's clock.", tag: "Simulate", ok: okStatus(200, "Clock")},
		{method: "POST", path: "/v1/simulate/faults", id: "createFault", summary: "Add a fault-injection rule: matching ISO 8583 requests get a delayed, missing, doubled or refused reply, or a decline with responseCode. The REST simulate endpoints are never faulted. Rules live in memory (start with --faults FILE to keep them across restarts).", tag: "Simulate", faults: true,
			body: body(opt("cardId", strMax(64)), opt("last4", describe(strMax(64), "The PAN's last four digits.")), opt("mti", describe(strMax(64), "One of "+strings.Join(faults.MTIs(), ", ")+".")),
				opt("amountMin", describe(integer(), "Cents; the request's DE 4 at least this.")), opt("amountMax", describe(integer(), "Cents; the request's DE 4 at most this.")),
				req("action", describe(reqStr(64), "One of "+strings.Join(faults.Actions(), ", ")+".")),
				opt("delayMs", describe(integer(), "With delay: 1 to 600000.")), opt("responseCode", describe(strMax(64), "With respond: two digits or upper-case letters, not 00 or 10.")),
				opt("percent", describe(integer(), "0 to 100; default 100.")), opt("count", describe(integer(), "At least 1; default no limit."))),
			bodyRequired: true, ok: okStatus(201, "Fault")},
		{method: "GET", path: "/v1/simulate/faults", id: "listFaults", summary: "The fault-injection rules in force, in the order they are tried, each with its matched count.", tag: "Simulate", faults: true, ok: okStatus(200, "FaultList")},
		{method: "DELETE", path: "/v1/simulate/faults/{id}", id: "deleteFault", summary: "Remove a fault-injection rule.", tag: "Simulate", faults: true, ok: okStatus(200, "Deleted")},
		{method: "GET", path: "/v1/transactions", id: "listTransactions", summary: "List transactions, newest first; an agent token sees its own.", tag: "Transactions", agent: true,
			query: withPage(queryParam("cardId", strMax(64), "Only this card's."), queryParam("userId", strMax(64), "Only this user's."),
				queryParam("agentId", strMax(64), "Only this agent's."),
				queryParam("status", enum(model.TxnAuthorized, "pending", model.TxnCompleted, model.TxnReversed, model.TxnDeclined), "Only this status; pending is authorized.")),
			ok: okStatus(200, "TransactionList")},
		{method: "GET", path: "/v1/transactions/{id}", id: "getTransaction", summary: "Get a transaction.", tag: "Transactions", agent: true, ok: okStatus(200, "Transaction")},
		{method: "PATCH", path: "/v1/transactions/{id}", id: "updateTransaction", summary: "Annotate a transaction; null clears a field.", tag: "Transactions", agent: true,
			body: body(opt("notes", strMax(2000)), opt("tags", S{"type": "array", "items": strMax(64), "maxItems": 50}), opt("category", strMax(100))),
			ok:   okStatus(200, "Transaction")},
		{method: "PUT", path: "/v1/transactions/{id}/receipt", id: "putReceipt", summary: "Attach a receipt: a URL (JSON) or a PDF, PNG or JPEG file of at most 10 MiB (multipart, field file).", tag: "Transactions", agent: true,
			body: body(req("url", reqStr(2048))), bodyRequired: true, ok: okStatus(200, "Transaction")},
		{method: "GET", path: "/v1/transactions/{id}/receipt", id: "getReceipt", summary: "A transaction's receipt: the file, or its URL as JSON.", tag: "Transactions", agent: true},
		{method: "DELETE", path: "/v1/transactions/{id}/receipt", id: "deleteReceipt", summary: "Remove a transaction's receipt.", tag: "Transactions", agent: true, ok: okStatus(200, "Transaction")},
		{method: "POST", path: "/v1/transactions/{id}/disputes", id: "createDispute", summary: "Dispute a completed purchase, once: it covers what was captured less what was refunded, and starts pending.", tag: "Disputes", agent: true,
			body: body(opt("reason", describe(enum(model.DisputeReasons...), "Default other.")), opt("description", strMax(5000)),
				opt("textEvidence", strMax(65535))), ok: okStatus(201, "Dispute")},
		{method: "GET", path: "/v1/disputes", id: "listDisputes", summary: "List disputes, newest first; an agent token sees its own.", tag: "Disputes", agent: true,
			query: withPage(queryParam("userId", strMax(64), "Only this user's."), queryParam("transactionId", strMax(64), "Only this transaction's."),
				queryParam("status", enum(model.DisputePending, model.DisputeInReview, model.DisputeAccepted, model.DisputeRejected, model.DisputeCanceled), "Only this status.")),
			ok: okStatus(200, "DisputeList")},
		{method: "GET", path: "/v1/disputes/{id}", id: "getDispute", summary: "Get a dispute and its evidence.", tag: "Disputes", agent: true, ok: okStatus(200, "Dispute")},
		{method: "PUT", path: "/v1/disputes/{id}/evidence", id: "putDisputeEvidence", summary: "Upload a dispute's evidence file (multipart: name, type, evidence; at most 20 MB); the dispute goes in review. A second upload replaces the first.", tag: "Disputes", agent: true,
			multipart: S{"type": "object", "required": []string{"name", "type", "evidence"}, "properties": S{"name": strMax(200), "type": strMax(100),
				"evidence": S{"type": "string", "contentMediaType": "application/octet-stream", "description": "The file, at most 20 MB."}}},
			ok: okStatus(200, "DisputeEvidenceUploaded")},
		{method: "POST", path: "/v1/disputes/{id}/cancel", id: "cancelDispute", summary: "Withdraw a pending dispute (pending → canceled; dispute.canceled): no money moves, and the purchase cannot be disputed again. The platform's pages name no endpoint for this.", tag: "Disputes", agent: true,
			ok: okStatus(200, "Dispute")},
		{method: "POST", path: "/v1/simulate/dispute/{id}/resolve", id: "resolveDispute", summary: "Decide an open dispute as the issuer would: won (accepted) credits the user with a refund of the purchase, lost (rejected) moves no money.", tag: "Simulate",
			body: body(req("outcome", enum(model.DisputeWon, model.DisputeLost))), bodyRequired: true, ok: okStatus(200, "Dispute")},
		{method: "GET", path: "/v1/cards/{id}/transactions", id: "listCardTransactions", summary: "List a card's transactions.", tag: "Transactions", agent: true, query: pageParams, ok: okStatus(200, "TransactionList")},

		{method: "POST", path: "/v1/cards/{id}/intents", id: "createIntent", summary: "Declare what a card is about to be used for. The same intentId with the same fields returns the existing intent (200), with other fields it is a 409; without intentId one is generated.", tag: "Intents", agent: true,
			body: body(opt("intentId", reqStr(128)), req("summary", reqStr(1000)), opt("expectedAmount", amountCents),
				opt("amount", describe(amountCents, "Another spelling of expectedAmount.")), opt("expectedCurrency", enum("USD")),
				opt("expectedMerchant", strMax(200)), opt("merchantText", describe(strMax(200), "Another spelling of expectedMerchant.")),
				opt("metadata", freeObject()), opt("tolerance", intRange(0, 1<<50)), opt("ttlMinutes", intRange(1, 1440)),
				opt("requireApproval", describe(boolean(), "The intent starts pending_approval and holds back the card's credentials until a person approves it. A card or policy with requireApproval makes every intent start so; false here does not waive it."))),
			bodyRequired: true, ok: map[int]string{200: "Intent", 201: "Intent"}},
		{method: "GET", path: "/v1/cards/{id}/intents", id: "listIntents", summary: "A card's intents (not paged).", tag: "Intents", agent: true,
			query: []S{queryParam("status", enum(model.IntentPending, model.IntentPendingApproval, model.IntentRejected, model.IntentMatched, model.IntentMismatched, model.IntentExpired, model.IntentCanceled), "Only this status.")},
			ok:    okStatus(200, "IntentList")},
		{method: "GET", path: "/v1/intents/{id}", id: "getIntent", summary: "Get an intent and its match result.", tag: "Intents", agent: true, ok: okStatus(200, "Intent")},
		{method: "POST", path: "/v1/intents/{id}/cancel", id: "cancelIntent", summary: "Cancel a pending intent, or one waiting for approval.", tag: "Intents", agent: true, body: emptyBody, ok: okStatus(200, "Intent")},
		{method: "POST", path: "/v1/intents/{id}/approve", id: "approveIntent", summary: "Approve an intent waiting for approval: it becomes pending and the card's credentials can be read. API key only.", tag: "Intents", body: emptyBody, ok: okStatus(200, "Intent")},
		{method: "POST", path: "/v1/intents/{id}/reject", id: "rejectIntent", summary: "Reject an intent waiting for approval: the card's credentials are refused until a newer intent is declared. API key only.", tag: "Intents",
			body: body(opt("reason", strMax(1000))), ok: okStatus(200, "Intent")},
		{method: "POST", path: "/v1/extension/redeem", id: "redeemDetailsToken", summary: "The browser extension redeems a single-use details token for the credentials. No Api-Key: the token is the credential.", tag: "Cards", public: true,
			body: body(req("detailsToken", reqStr(64))), bodyRequired: true, ok: okStatus(200, "CardCredentials")},

		{method: "GET", path: "/v1/events", id: "listEvents", summary: "The event log, newest first.", tag: "Webhooks",
			query: withPage(queryParam("type", strMax(64), "Only events of this type.")), ok: okStatus(200, "EventList")},
		{method: "GET", path: "/v1/events/{id}", id: "getEvent", summary: "Get an event.", tag: "Webhooks", ok: okStatus(200, "Event")},
		{method: "POST", path: "/v1/webhooks", id: "createWebhook", summary: "Add a webhook endpoint; the signing secret is shown only now.", tag: "Webhooks", webhooks: true,
			body: body(req("url", reqStr(webhook.MaxURLBytes)), opt("description", strMax(webhook.MaxDescriptionBytes)),
				opt("events", S{"type": "array", "items": strMax(64), "maxItems": 100})),
			bodyRequired: true, ok: okStatus(201, "Webhook")},
		{method: "GET", path: "/v1/webhooks", id: "listWebhooks", summary: "List webhook endpoints.", tag: "Webhooks", webhooks: true, query: pageParams, ok: okStatus(200, "WebhookList")},
		{method: "GET", path: "/v1/webhooks/{id}", id: "getWebhook", summary: "Get a webhook endpoint.", tag: "Webhooks", webhooks: true, ok: okStatus(200, "Webhook")},
		{method: "PATCH", path: "/v1/webhooks/{id}", id: "updateWebhook", summary: "Change a webhook endpoint.", tag: "Webhooks", webhooks: true,
			body: body(opt("url", strMax(webhook.MaxURLBytes)), opt("description", strMax(webhook.MaxDescriptionBytes)),
				opt("events", S{"type": "array", "items": strMax(64), "maxItems": 100}), opt("status", enum(webhook.StatusEnabled, webhook.StatusDisabled))),
			ok: okStatus(200, "Webhook")},
		{method: "DELETE", path: "/v1/webhooks/{id}", id: "deleteWebhook", summary: "Remove a webhook endpoint.", tag: "Webhooks", webhooks: true, ok: okStatus(200, "Deleted")},
		{method: "POST", path: "/v1/webhooks/{id}/rotate-secret", id: "rotateWebhookSecret", summary: "Replace the signing secret; the old one signs too for a while.", tag: "Webhooks", webhooks: true, body: emptyBody, ok: okStatus(200, "Webhook")},
		{method: "POST", path: "/v1/webhooks/{id}/test", id: "testWebhook", summary: "Queue a webhook.test event for the endpoint.", tag: "Webhooks", webhooks: true, body: emptyBody, ok: okStatus(202, "Event")},
		{method: "GET", path: "/v1/webhooks/{id}/deliveries", id: "listWebhookDeliveries", summary: "An endpoint's delivery log, newest first.", tag: "Webhooks", webhooks: true, query: pageParams, ok: okStatus(200, "WebhookDeliveryList")},
	}
}

func jsonContent(schema S) S { return S{"application/json": S{"schema": schema}} }

func errResp(desc string) S { return S{"description": desc, "content": jsonContent(ref("Error"))} }

// responses are every error the API answers with, each in the Error shape.
var errorResponses = S{
	"BadRequest":   errResp("The request is malformed or a parameter is invalid; error.param names it."),
	"Unauthorized": errResp("The Api-Key header is missing or not a valid key or token."),
	"Forbidden":    errResp("An agent token called an endpoint for the API key, or the action is not permitted."),
	"NotFound":     errResp("No such resource (or, for an agent token, not one of its own), or no such endpoint."),
	"Conflict":     errResp("The resource's state does not allow it, or the Idempotency-Key was used for another request."),
	"TooLarge":     errResp("The body is larger than the endpoint's limit."),
	"RateLimited":  errResp("Too many requests; wait Retry-After seconds."),
	"Internal":     errResp("An internal error; the request was not applied."),
	"Unavailable":  errResp("The service is not available on this server."),
}

func operation(o op) S {
	params := []any{}
	for _, seg := range strings.Split(o.path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, pathParam(strings.Trim(seg, "{}")))
		}
	}
	for _, q := range o.query {
		params = append(params, q)
	}
	if o.method == "POST" && !o.public {
		params = append(params, S{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Retrying with the same key and body replays the first response (with Idempotent-Replayed: true); the same key with another request is a 409.",
			"schema":      strMax(255)})
	}
	resps := S{}
	for status, schema := range o.ok {
		resps[itoa(status)] = S{"description": "OK", "content": jsonContent(ref(schema))}
	}
	errs := map[string]string{"400": "BadRequest", "404": "NotFound", "500": "Internal"}
	if !o.public {
		errs["401"], errs["403"], errs["429"] = "Unauthorized", "Forbidden", "RateLimited"
	}
	if o.method != "GET" {
		errs["409"], errs["413"] = "Conflict", "TooLarge"
	}
	if o.webhooks || o.faults {
		errs["503"] = "Unavailable"
	}
	switch o.id {
	case "health":
		errs = map[string]string{}
	case "ready":
		errs = map[string]string{"503": "Unavailable"}
	case "getOpenAPI":
		errs = map[string]string{}
		resps["200"] = S{"description": "The OpenAPI 3.1 document.", "content": jsonContent(freeObject())}
	case "getISOSpec":
		resps["200"] = S{"description": "The field specification, as JSON.", "content": jsonContent(freeObject())}
	case "metrics":
		errs = map[string]string{"404": "NotFound"}
		resps["200"] = S{"description": "Prometheus text exposition.", "content": S{"text/plain": S{"schema": str()}}}
	case "getReceipt":
		resps["200"] = S{"description": "The uploaded file, or the linked URL.", "content": S{
			"application/json": S{"schema": ref("ReceiptLink")},
			"application/pdf":  S{"schema": S{"type": "string", "contentMediaType": "application/pdf"}},
			"image/png":        S{"schema": S{"type": "string", "contentMediaType": "image/png"}},
			"image/jpeg":       S{"schema": S{"type": "string", "contentMediaType": "image/jpeg"}},
		}}
	case "getStatement":
		resps["200"] = S{"description": "The statement: JSON, or a PDF when Accept prefers application/pdf.", "content": S{
			"application/json": S{"schema": ref("Statement")},
			"application/pdf":  S{"schema": S{"type": "string", "contentMediaType": "application/pdf"}},
		}}
	case "advanceClock":
		errs["409"] = "Conflict"
	}
	for status, name := range errs {
		resps[status] = S{"$ref": "#/components/responses/" + name}
	}
	out := S{"operationId": o.id, "summary": o.summary, "tags": []string{o.tag}, "responses": resps}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if o.public {
		out["security"] = []any{}
	} else if o.agent {
		out["description"] = "An agent token may call this for its own agent's resources; another agent's are reported as not found."
	} else {
		out["description"] = "The organization's API key only; an agent token gets 403."
	}
	if o.body != nil {
		content := jsonContent(o.body)
		if o.id == "putReceipt" {
			content["multipart/form-data"] = S{"schema": S{"type": "object", "required": []string{"file"},
				"properties": S{"file": S{"type": "string", "contentMediaType": "application/octet-stream"}}}}
		}
		out["requestBody"] = S{"required": o.bodyRequired, "content": content}
	}
	if o.multipart != nil {
		out["requestBody"] = S{"required": true, "content": S{"multipart/form-data": S{"schema": o.multipart}}}
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// build returns the document.
func build() ([]byte, error) {
	paths := S{}
	for _, o := range append(append(operations(), policyOperations()...), riskOperations()...) {
		switch o.id {
		case "createCard", "updateCard":
			addFields(o.body, nullableFields(cardControlFields()))
		}
		item, _ := paths[o.path].(S)
		if item == nil {
			item = S{}
			paths[o.path] = item
		}
		item[strings.ToLower(o.method)] = operation(o)
	}
	doc := S{
		"openapi": "3.1.0",
		"info": S{
			"title":   "ledgersim management API",
			"version": "1",
			"description": "Users and KYC, funding, agents and tokens, cards and card details, intents, transactions and receipts, " +
				"the simulate endpoints of the card network, the event log and webhooks. Amounts are integer cents and times " +
				"epoch milliseconds. Every error has the shape {\"error\": {\"type\", \"code\", \"message\", \"param\"}, \"requestId\"}.",
		},
		"servers":  []any{S{"url": "http://localhost:8080", "description": "ledgersim serve, by default"}},
		"security": []any{S{"ApiKey": []any{}}},
		"tags": []any{
			S{"name": "Users"}, S{"name": "Funding"}, S{"name": "Agents"}, S{"name": "Cards"}, S{"name": "Policies"}, S{"name": "Risk"}, S{"name": "Intents"},
			S{"name": "Transactions"}, S{"name": "Disputes"}, S{"name": "Statements"}, S{"name": "Simulate"}, S{"name": "Webhooks"}, S{"name": "Server"},
		},
		"paths": paths,
		"components": S{
			"securitySchemes": S{"ApiKey": S{"type": "apiKey", "in": "header", "name": "Api-Key",
				"description": "The organization's API key (lk_test_...) or an agent token (at_test_...)."}},
			"schemas":   schemas(),
			"responses": errorResponses,
		},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}
