// Package openapi holds the OpenAPI 3.1 document of ledgersim's management
// API, openapi.json, which the server serves at GET /v1/openapi.json.
//
// The document is built by this package's tests from build_test.go (run
// `go test ./api/openapi -run TestDocumentIsBuilt -update` after changing
// it) and checked three ways: kin-openapi loads and validates it; every
// route the API's router serves under /v1 (and /healthz, /readyz,
// /metrics) is in it and nothing else is; and every request and response
// the API and server tests exchange is validated against it
// (internal/oascheck), so the document cannot drift from what the server
// does. The client package's tests get a success from every operation the
// document lists, so no part of it goes unchecked.
package openapi
