// Package mcpserver is ledgersim's Model Context Protocol server: the
// platform's ledger_* tools, each an action-taking front of the management
// API, called through the client package. It serves over stdio (one
// credential, from the command line) and over streamable HTTP (each session
// uses the credential of the request that opened it).
//
// An agent token (at_test_...) sees the agent tools: ledger_status,
// ledger_card, ledger_intent, ledger_transactions, ledger_onboarding,
// ledger_challenges and ledger_funding. The organization's API key sees
// those and the admin tools: ledger_users, ledger_agents, ledger_policies,
// ledger_risk and ledger_webhooks. What a tool may do is decided by the API,
// not here: an action an agent token may not take comes back with the API's
// 403, a bad argument with the API's 400, each as the tool's error text.
//
// ledger_policies creates, reads and changes spending policies and reads a
// card's or an agent's live controls; ledger_risk reads and changes the
// risk engine's settings and applies its presets.
//
// Tools for what this version of the API does not have (3-D Secure
// challenges, ACH and wire funding) exist and answer with an error saying
// so; they never invent data.
package mcpserver
