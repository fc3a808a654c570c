package openapi

import _ "embed"

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI document as JSON. The caller must not
// modify it.
func Document() []byte { return document }
