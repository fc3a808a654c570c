// Package api is ledgersim's management REST API on fasthttp: the platform's
// /v1 routes for users and KYC, funding and balances, statements (JSON or
// PDF, computed by package statement), agents and their tokens, cards and
// card details, plus the simulate endpoints, the hosted KYC
// page, /healthz and /readyz, and its own OpenAPI document at
// /v1/openapi.json (package api/openapi).
//
// Every request is authenticated by its Api-Key header (the organization's
// API key, or an agent token with the narrower scope of the platform's
// matrix), decoded strictly (unknown fields, wrong types and out-of-range
// values are 400s that name the field), and answered in JSON: amounts in
// cents, times in epoch milliseconds (statements in seconds, the platform's
// unit for them), errors as
//
//	{"error": {"type", "code", "message", "param"}, "requestId": "req_..."}
//
// Every POST honours Idempotency-Key (API.idempotent; every POST goes
// through it): the first successful response is stored in the same batch as
// the change it reports (sealed by the vault, since some carry card data),
// so a retry, even after a crash, replays it exactly with the header
// Idempotent-Replayed: true and performs nothing; the same key with another
// body or route is a 409 idempotency_key_reused. A success that changed
// nothing is stored before it is sent; an error changed nothing and is not
// stored, so a retry runs again. A change made under a key without a
// response to store is refused by the ledger, so a route cannot forget it.
//
// An API is safe for concurrent use; fasthttp calls Handler from many
// goroutines.
package api
