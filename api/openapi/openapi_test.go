package openapi_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/api"
	"github.com/ledgersim/ledgersim/api/openapi"
	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

var update = flag.Bool("update", false, "rewrite openapi.json from build_test.go")

func TestDocumentIsBuilt(t *testing.T) {
	want, err := build()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("openapi.json", want, 0o644))
		return
	}
	if !bytes.Equal(want, openapi.Document()) {
		t.Fatal("openapi.json is not the output of build_test.go; run go test ./api/openapi -run TestDocumentIsBuilt -update")
	}
}

func load(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document())
	require.NoError(t, err)
	return doc
}

func TestDocumentIsValid(t *testing.T) {
	doc := load(t)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.True(t, doc.IsOpenAPI31OrLater())
	require.NoError(t, doc.Validate(context.Background()))
}

// managementRoute tells the routes the document must describe from the
// browser pages that are not part of the management API (the hosted KYC
// page, a dashboard).
func managementRoute(pattern string) bool {
	switch pattern {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(pattern, "/v1/")
}

// TestEveryRouteIsDocumented compares the router's routes with the
// document's operations both ways, so a new route fails here until it is
// documented.
func TestEveryRouteIsDocumented(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: dir})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}})
	require.NoError(t, err)
	a, err := api.New(api.Config{Ledger: l, APIKeyHash: apikey.Hash("lk_test_openapi_routes_0123456789")})
	require.NoError(t, err)

	var served []string
	for _, r := range a.Routes() {
		if managementRoute(r.Pattern) {
			served = append(served, r.Method+" "+r.Pattern)
		}
	}
	var documented []string
	for path, item := range load(t).Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	require.NotEmpty(t, served)
	require.Equal(t, served, documented, "the router's routes and the document's operations differ")
}
