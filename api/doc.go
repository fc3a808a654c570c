// Package api is ledgersim's management REST API on fasthttp: the platform's
// /v1 routes for users and KYC, funding and balances, agents and their
// tokens, cards and card details, plus the simulate endpoints, the hosted KYC
// page, /healthz and /readyz.
//
// Every request is authenticated by its Api-Key header (the organization's
// API key, or an agent token with the narrower scope of the platform's
// matrix), decoded strictly (unknown fields, wrong types and out-of-range
// values are 400s that name the field), and answered in JSON: amounts in
// cents, times in epoch milliseconds, errors as
//
//	{"error": {"type", "code", "message", "param"}, "requestId": "req_..."}
//
// Every POST honours Idempotency-Key: the first response is stored in the
// same batch as the change it reports, so a retry replays it exactly.
//
// An API is safe for concurrent use; fasthttp calls Handler from many
// goroutines.
package api
