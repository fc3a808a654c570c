// Package metrics defines ledgersim's Prometheus metrics and the observers
// that feed them: the ISO 8583 listener (messages by MTI and response code,
// decision latency, in-flight requests, connections, frame errors), the
// store (commit latency and batch size), the matcher (intent outcomes) and
// the HTTP API (requests by route and status).
//
// Nothing here is global: New registers on the registry it is given, and
// the server passes that registry to /metrics. Observers on hot paths use
// children resolved once at start, so recording allocates nothing.
//
// A Metrics is safe for concurrent use.
package metrics
