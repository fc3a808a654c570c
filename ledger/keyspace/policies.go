package keyspace

// Organization-wide records: spending-control policies and the risk
// engine's settings.
const (
	pPolicy = "pol/" // pol/<policyID>: model.Policy
	pRisk   = "rk/"  // rk/<scope>: risk settings of the organization ("org"), an agent or a card
)

// PolicyKey is the key of a policy.
func PolicyKey(id string) []byte { return key(pPolicy, id) }

// RiskKey is the key of the risk settings of a scope: "org", or an agent's
// or a card's ID.
func RiskKey(scope string) []byte { return key(pRisk, scope) }

// PoliciesPrefix and RiskPrefix are the scan prefixes of policies and risk
// settings.
var (
	PoliciesPrefix = []byte(pPolicy)
	RiskPrefix     = []byte(pRisk)
)
