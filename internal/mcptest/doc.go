// Package mcptest holds what the MCP server's tests share across its two
// transports: the expected tool sets, calls that decode or expect an error,
// and an agent's whole purchase through the tools.
package mcptest
