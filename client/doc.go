// Package client is a Go client for ledgersim's management API: users and
// KYC, funding, agents and their tokens, cards and card details, intents,
// transactions and receipts, the simulate endpoints, the event log and
// webhook endpoints.
//
// It is written by hand against the OpenAPI document the server serves at
// GET /v1/openapi.json (kept in api/openapi/openapi.json), one method per
// operation, named after it; the client's tests check every exchange
// against that document. Requests and responses are typed; amounts are
// int64 cents and times epoch milliseconds, exactly as on the wire.
//
//	c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:8080", APIKey: key})
//	user, err := c.CreateUser(ctx, client.CreateUserParams{FirstName: "Ada", LastName: "L", Email: "ada@example.com"},
//		client.WithIdempotencyKey(client.NewIdempotencyKey()))
//
// Lists come a page at a time (ListUsers, ...) or as an iterator that
// follows the cursor (Users, ...):
//
//	for u, err := range c.Users(ctx, client.ListParams{}) { ... }
//
// A refusal is an *Error carrying the platform's type, code, message and
// param, and the request's id; errors.As or AsError get it.
//
// VerifyWebhook and WebhookHandler check a delivery's signature with the
// webhook/signature package, so a receiver needs nothing else.
//
// A Client is safe for concurrent use. It never puts the API key, a card
// number or a CVV in an error.
package client
