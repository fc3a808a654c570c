// Package oascheck validates real HTTP exchanges with ledgersim against its
// OpenAPI document (api/openapi), so that the API's tests keep the document
// honest: wrap a test's http.Client transport with Transport and every
// request and response it carries is checked.
//
// An exchange passes when
//   - its response, whatever the request, is one the document lists for the
//     operation (status, content type, body schema; errors included), and
//   - a request the document refuses was refused by the server (4xx): the
//     server may be stricter than the document, never looser.
//
// A request to a path the document does not describe must be answered 404
// or 405 in the error shape. Paths outside the management API (the hosted
// KYC page, a dashboard) are not checked.
//
// TransportCovering also records each operation answered with a success,
// so a suite can require that it exercised every operation (the client's
// tests do).
package oascheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ledgersim/ledgersim/api/openapi"
)

// Checker validates exchanges against the document. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	errSch *openapi3.Schema
}

// load parses the document once per test binary: it is read-only, and
// parsing it for every test server would cost more than the tests.
var load = sync.OnceValues(func() (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Document())
	if err != nil {
		return nil, fmt.Errorf("oascheck: loading the document: %w", err)
	}
	// Match on the path alone: test servers listen on 127.0.0.1 ports the
	// document's server URL cannot name.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("oascheck: %w", err)
	}
	return &Checker{doc: doc, router: r, errSch: doc.Components.Schemas["Error"].Value}, nil
})

// New returns the Checker for the document.
func New() (*Checker, error) { return load() }

// Exchange is one request and its response, with their bodies.
type Exchange struct {
	Request      *http.Request
	RequestBody  []byte
	Status       int
	Header       http.Header
	ResponseBody []byte
}

// managementPath reports whether path is part of the documented API.
func managementPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/v1/")
}

// authenticate accepts any present Api-Key: whether the key is right is
// the server's business, and the response is checked either way.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.In != "header" {
		return nil
	}
	if in.RequestValidationInput.Request.Header.Get(in.SecurityScheme.Name) == "" {
		return errors.New("no " + in.SecurityScheme.Name + " header")
	}
	return nil
}

// Check returns why ex disagrees with the document, or nil.
func (c *Checker) Check(ex Exchange) error {
	_, err := c.check(ex)
	return err
}

// check is Check that also names the exchange's operation ("GET /v1/users/{id}"),
// or "" when the document has none for it.
func (c *Checker) check(ex Exchange) (string, error) {
	ctx := context.Background()
	req := ex.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(ex.RequestBody))
	if !managementPath(req.URL.Path) {
		return "", nil
	}
	what := req.Method + " " + req.URL.Path
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if ex.Status != http.StatusNotFound && ex.Status != http.StatusMethodNotAllowed {
			return "", fmt.Errorf("%s is not in the document, yet the server answered %d", what, ex.Status)
		}
		return "", c.checkError(what, ex)
	}
	op := route.Method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && ex.Status < 400 {
		return op, fmt.Errorf("%s: the server answered %d to a request the document refuses: %v\nrequest body: %s",
			what, ex.Status, reqErr, clip(ex.RequestBody))
	}
	in.Options = &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: authenticate}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.Status, Header: ex.Header,
		Options: in.Options}
	out.SetBodyBytes(ex.ResponseBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return op, fmt.Errorf("%s: the %d response is not what the document describes: %v\nresponse body: %s",
			what, ex.Status, err, clip(ex.ResponseBody))
	}
	return op, nil
}

func (c *Checker) checkError(what string, ex Exchange) error {
	v, err := decodeJSON(ex.ResponseBody)
	if err == nil {
		err = c.errSch.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	if err != nil {
		return fmt.Errorf("%s: the %d response is not in the error shape: %v", what, ex.Status, err)
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 2048 {
		return string(b[:2048]) + "..."
	}
	return string(b)
}

// Transport returns a RoundTripper that sends through base (nil means
// http.DefaultTransport) and reports each exchange the document does not
// describe with t.Errorf. It reads whole bodies into memory, which test
// requests and responses allow.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	return TransportCovering(t, base, nil)
}

// TransportCovering is Transport that also records in cov (when not nil)
// each operation answered with a success.
func TransportCovering(t testing.TB, base http.RoundTripper, cov *Coverage) http.RoundTripper {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, c: c, base: base, cov: cov}
}

type transport struct {
	t    testing.TB
	c    *Checker
	base http.RoundTripper
	cov  *Coverage
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	resBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	op, cerr := tr.c.check(Exchange{Request: req, RequestBody: reqBody, Status: res.StatusCode, Header: res.Header,
		ResponseBody: resBody})
	if cerr != nil {
		tr.t.Errorf("OpenAPI document and server disagree: %v", cerr)
	} else if op != "" && res.StatusCode < 300 && tr.cov != nil {
		tr.cov.add(op)
	}
	return res, nil
}

// Coverage records which of the document's operations were answered with
// a success, so a test suite can show it exercised every one. It is safe
// for concurrent use.
type Coverage struct {
	mu   sync.Mutex
	seen map[string]bool
}

// NewCoverage returns an empty Coverage.
func NewCoverage() *Coverage { return &Coverage{seen: map[string]bool{}} }

func (c *Coverage) add(op string) {
	c.mu.Lock()
	c.seen[op] = true
	c.mu.Unlock()
}

// Missing lists, sorted, the document's operations ("GET /v1/users/{id}")
// never answered with a success.
func (c *Coverage) Missing() ([]string, error) {
	ck, err := New()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for path, item := range ck.doc.Paths.Map() {
		for method := range item.Operations() {
			if op := method + " " + path; !c.seen[op] {
				out = append(out, op)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
