package openapi_test

import (
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
)

// The policies' part of the document: their schemas, the controls a card
// shares with them, and their operations.

func controlFields() []field {
	mccs := S{"type": "array", "items": S{"type": "string", "pattern": "^[0-9]{4}$"}, "maxItems": 500}
	return []field{
		opt("cumulativeMax", describe(intRange(1, 1<<50), "Cents the card may ever spend (lifetime).")),
		opt("cooldownMinutes", describe(intRange(0, 525600), "Least time between two approved purchases.")),
		opt("ttlMinutes", describe(intRange(1, 5256000), "The card expires this long after its creation.")),
		opt("onExpiry", describe(enum(model.ExpiryFreeze, model.ExpiryClose), "What an expired card becomes; freeze when unset.")),
		opt("activeHoursStart", describe(intRange(0, 23), "First hour (in activeTimezone) in which the card approves; set with activeHoursEnd.")),
		opt("activeHoursEnd", describe(intRange(0, 23), "The hour from which it no longer approves; across midnight when not after activeHoursStart.")),
		opt("activeTimezone", describe(strMax(64), "IANA time zone name (America/New_York); UTC when unset. Daylight saving follows the zone's wall clock.")),
		opt("activeDays", describe(S{"type": "array", "items": intRange(0, 6), "maxItems": 7}, "Days on which the card approves, 0 = Sunday; every day when unset.")),
		opt("allowedMccs", describe(mccs, "When not empty, the only merchant categories approved.")),
		opt("blockedMccs", describe(mccs, "Merchant categories declined with blocked_mcc (ISO 57).")),
		opt("requireAttestation", describe(boolean(), "Declines a purchase without a credential access within the attestation window.")),
		opt("intentTolerance", describe(S{"type": "number", "minimum": 0, "maximum": 1}, "With requireAttestation: how far, as a fraction of the declared amount, the purchase may differ from it.")),
		opt("requireApproval", describe(boolean(), "Every intent declared on the card starts pending_approval (as an intent's own requireApproval does) and holds back the card's credentials until a person approves it; an intent cannot waive it. A card's own false overrides its policy's true.")),
	}
}

func policyBodyFields(patch bool) []field {
	name := req("name", reqStr(200))
	if patch {
		name = opt("name", reqStr(200))
	}
	return append([]field{name, opt("description", strMax(1000)),
		opt("limitPerAuth", intRange(1, 1<<50)), opt("limitPerDay", intRange(1, 1<<50)), opt("limitPerMonth", intRange(1, 1<<50)),
		opt("maxAmount", intRange(1, 1<<50)), opt("maxAuthCount", intRange(1, 1_000_000_000)), opt("merchantHint", strMax(200)),
		opt("onDrift", enum(model.DriftFreeze, model.DriftNotify, model.DriftNone)),
		opt("credentialExposure", enum(model.ExposureNever, model.ExposureExtension, model.ExposureRawPAN)),
	}, controlFields()...)
}

// cardControlFields are the card's own controls as the card object shows
// them (absent when unset).
func cardControlFields() []field {
	return append([]field{opt("policyId", str())}, controlFields()...)
}

func policySchemas() map[string]S {
	nInt := nullable(integer())
	nStr := nullable(str())
	nStrs := nullable(arrayOf(str()))
	return map[string]S{
		"Policy": object(req("object", enum("policy")), req("id", str()), req("name", str()), req("description", nStr),
			req("timeRestrictions", object(req("ttlMinutes", nInt), req("onExpiry", nStr), req("activeHoursStart", nInt),
				req("activeHoursEnd", nInt), req("activeTimezone", nStr), req("activeDays", nullable(arrayOf(integer()))))),
			req("spendingRestrictions", object(req("limitPerAuth", nInt), req("limitPerDay", nInt), req("limitPerMonth", nInt),
				req("maxAmount", nInt), req("cumulativeMax", nInt), req("maxAuthCount", nInt), req("cooldownMinutes", nInt))),
			req("merchantRestrictions", object(req("allowedMccs", nStrs), req("blockedMccs", nStrs), req("merchantHint", nStr), req("onDrift", nStr))),
			req("attestation", object(req("requireAttestation", nullable(boolean())), req("intentTolerance", nullable(S{"type": "number"})),
				req("credentialExposure", nStr), req("requireApproval", nullable(boolean())))),
			req("createdAt", ms()), req("updatedAt", ms())),
		"PolicyList": list("Policy"),
		"CardPolicy": object(req("object", enum("card_policy")), req("cardId", str()),
			req("policyId", describe(nStr, "The policy that applies: the card's own, or its agent's defaultPolicyId.")),
			req("ttl", object(req("minutes", nInt), req("expiresAt", nullable(ms())), req("isExpired", boolean()), req("onExpiry", nStr))),
			req("activeHours", object(req("start", nInt), req("end", nInt), req("timezone", str()), req("activeDays", nullable(arrayOf(integer()))),
				req("isWithinActiveHours", boolean()))),
			req("cumulative", object(req("max", nInt), req("spent", cents()), req("remaining", nInt))),
			req("cooldown", object(req("minutes", nInt), req("lastTransactionAt", nullable(ms())), req("cooldownEndsAt", nullable(ms())),
				req("isInCooldown", boolean()))),
			req("authCount", object(req("max", nInt), req("current", integer()), req("remaining", nInt))),
			req("attestation", object(req("required", boolean()), req("intentTolerance", nullable(S{"type": "number"})), req("windowMinutes", integer()),
				req("approvalRequired", describe(boolean(), "Every intent on the card waits for a person's approval (the card's or its policy's requireApproval).")))),
			req("merchantDrift", object(req("action", nStr), req("merchantHint", nStr), req("pinnedMerchant", nStr))),
			req("merchantCategories", object(req("allowedMccs", nStrs), req("blockedMccs", nStrs))),
			req("computedAt", describe(ms(), "The server's clock when the state was computed."))),
		"AgentPolicy": object(req("object", enum("agent_policy")), req("agentId", str()), req("defaultPolicyId", nStr),
			req("spendingLimit", nullable(cents())), req("spendingLimitFrequency", nullable(enum(model.Frequencies...))),
			req("onLimitExceeded", enum(model.OnLimitActions...)), req("currentSpend", cents()), req("remaining", nullable(cents())),
			req("computedAt", ms())),
	}
}

func policyOperations() []op {
	return []op{
		{method: "POST", path: "/v1/policies", id: "createPolicy", summary: "Create a policy: a named template of spending controls, applied to cards through their policyId or their agent's defaultPolicyId. Names are unique (409).", tag: "Policies",
			body: body(policyBodyFields(false)...), bodyRequired: true, ok: okStatus(201, "Policy")},
		{method: "GET", path: "/v1/policies", id: "listPolicies", summary: "List policies, newest first.", tag: "Policies", query: pageParams, ok: okStatus(200, "PolicyList")},
		{method: "GET", path: "/v1/policies/{id}", id: "getPolicy", summary: "Get a policy.", tag: "Policies", ok: okStatus(200, "Policy")},
		{method: "PATCH", path: "/v1/policies/{id}", id: "updatePolicy", summary: "Change a policy; null clears a field. Its cards decide by it from their next authorization.", tag: "Policies",
			body: body(policyBodyFields(true)...), ok: okStatus(200, "Policy")},
		{method: "GET", path: "/v1/cards/{id}/policy", id: "getCardPolicy", summary: "A card's controls in force (its own over its policy's) and where it stands against each, at the server's clock.", tag: "Policies", agent: true, ok: okStatus(200, "CardPolicy")},
		{method: "GET", path: "/v1/agents/{id}/policy", id: "getAgentPolicy", summary: "An agent's spending limit and what is left of it, at the server's clock.", tag: "Policies", agent: true, ok: okStatus(200, "AgentPolicy")},
	}
}

// addFields adds optional properties to an object schema.
func addFields(o S, fs []field) {
	props := o["properties"].(S)
	for _, f := range fs {
		props[f.name] = f.schema
	}
}

// nullableFields makes each field accept null, as request bodies do.
func nullableFields(fs []field) []field {
	out := make([]field, len(fs))
	for i, f := range fs {
		out[i] = field{f.name, nullable(f.schema), f.required}
	}
	return out
}

func riskRule(params ...field) S {
	return object(append([]field{req("enabled", boolean()), req("action", enum(risk.Actions...))}, params...)...)
}

func riskRuleBody(params ...field) S {
	return body(append([]field{opt("enabled", boolean()), opt("action", enum(risk.Actions...))}, params...)...)
}

func riskRules() (rules, bodies []field) {
	type r struct {
		name   string
		params []field
		bodyP  []field
	}
	all := []r{
		{risk.RuleDuplicate, []field{req("windowMinutes", integer())}, []field{opt("windowMinutes", intRange(1, 10080))}},
		{risk.RuleVelocity, []field{req("maxPerHour", integer()), req("maxPerDay", integer())},
			[]field{opt("maxPerHour", intRange(1, 1_000_000)), opt("maxPerDay", intRange(1, 1_000_000))}},
		{risk.RuleSpendSpike, []field{req("multiplier", S{"type": "number"}), req("windowMinutes", integer()), req("baselineDays", integer())},
			[]field{opt("multiplier", S{"type": "number", "minimum": 1, "maximum": 100}), opt("windowMinutes", intRange(1, 10080)), opt("baselineDays", intRange(1, 90))}},
		{risk.RuleUnattested, nil, nil}, {risk.RuleIntent, nil, nil}, {risk.RuleCooldown, nil, nil}, {risk.RuleDrift, nil, nil},
	}
	for _, x := range all {
		rules = append(rules, req(x.name, riskRule(x.params...)))
		bodies = append(bodies, opt(x.name, riskRuleBody(x.bodyP...)))
	}
	return rules, bodies
}

func riskSchemas() map[string]S {
	rules, _ := riskRules()
	return map[string]S{
		"RiskConfig": object(append([]field{req("object", enum("riskConfig")),
			req("scope", describe(enum("organization", "agent", "card"), "Whose settings these are: the organization's, or those in force for an agent or a card (their own rules over what they inherit).")),
			opt("agentId", str()), opt("cardId", str()),
			req("preset", enum(append(append([]string{}, risk.Presets...), risk.PresetCustom)...)),
			req("dryRun", describe(boolean(), "Detect and record risk.alert events saying what would have happened, without acting."))}, rules...)...),
	}
}

func riskOperations() []op {
	_, bodies := riskRules()
	scope := []S{queryParam("agentId", strMax(64), "An agent's settings: its own rules over the organization's."),
		queryParam("cardId", strMax(64), "A card's settings: its own rules over its agent's and the organization's.")}
	return []op{
		{method: "GET", path: "/v1/settings/risk", id: "getRiskSettings", summary: "The risk settings in force for the organization, an agent or a card. Until configured, every rule is disabled.", tag: "Risk", query: scope, ok: okStatus(200, "RiskConfig")},
		{method: "PATCH", path: "/v1/settings/risk", id: "updateRiskSettings", summary: "Change dryRun or any rule; the fields of a rule not given keep their value. With agentId or cardId, the rules given become that scope's own.", tag: "Risk", query: scope,
			body: body(append([]field{opt("dryRun", boolean())}, bodies...)...), ok: okStatus(200, "RiskConfig")},
		{method: "POST", path: "/v1/settings/risk/preset", id: "applyRiskPreset", summary: "Replace the organization's rules with a preset: permissive alerts, moderate balances, strict freezes cards, paranoid suspends agents.", tag: "Risk",
			body: body(req("preset", enum(risk.Presets...)), opt("dryRun", boolean())), bodyRequired: true, ok: okStatus(200, "RiskConfig")},
	}
}
