package oascheck

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const userJSON = `{"object":"user","id":"user_1","firstName":"A","lastName":"B","email":"a@example.com","status":"pending","applicationStatus":"notStarted","createdAt":1,"updatedAt":1}`

const errJSON = `{"error":{"type":"not_found_error","code":"not_found","message":"No such endpoint."},"requestId":"req_1"}`

func exchange(t *testing.T, method, path, reqBody string, status int, resBody string, header ...string) Exchange {
	req, err := http.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(reqBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Api-Key", "lk_test_x")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	h := http.Header{"Content-Type": {"application/json"}}
	return Exchange{Request: req, RequestBody: []byte(reqBody), Status: status, Header: h, ResponseBody: []byte(resBody)}
}

// TestCheckCatchesDrift shows each kind of disagreement the checker
// reports, and that agreeing exchanges pass.
func TestCheckCatchesDrift(t *testing.T) {
	c, err := New()
	require.NoError(t, err)
	okUser := `{"firstName":"A","lastName":"B","email":"a@example.com"}`
	tests := []struct {
		name string
		ex   Exchange
		want string // empty: passes
	}{
		{"agreeing exchange", exchange(t, "POST", "/v1/users", okUser, 201, userJSON), ""},
		{"refused bad request", exchange(t, "POST", "/v1/users", `{"firstName":"A"}`, 400,
			`{"error":{"type":"validation_error","code":"parameter_missing","message":"m","param":"lastName"},"requestId":"r"}`), ""},
		{"accepted a request the document refuses", exchange(t, "POST", "/v1/users", `{"firstName":"A","nickname":"x"}`, 201, userJSON),
			"a request the document refuses"},
		{"undocumented response field", exchange(t, "POST", "/v1/users", okUser, 201, strings.Replace(userJSON, `"id"`, `"extra":1,"id"`, 1)),
			"not what the document describes"},
		{"missing response field", exchange(t, "POST", "/v1/users", okUser, 201, strings.Replace(userJSON, `"email":"a@example.com",`, "", 1)),
			"not what the document describes"},
		{"undocumented status", exchange(t, "POST", "/v1/users", okUser, 202, userJSON), "not what the document describes"},
		{"error not in the error shape", exchange(t, "GET", "/v1/users/x", "", 404, `{"message":"nope"}`), "not what the document describes"},
		{"no Api-Key yet accepted", exchange(t, "GET", "/v1/users/x", "", 200, userJSON, "Api-Key", ""), "a request the document refuses"},
		{"undocumented path answered", exchange(t, "GET", "/v1/nothing", "", 200, `{}`), "is not in the document"},
		{"undocumented path refused", exchange(t, "GET", "/v1/nothing", "", 404, errJSON), ""},
		{"405 in the error shape", exchange(t, "PUT", "/v1/users", "", 405, errJSON), ""},
		{"pages outside the API are not checked", exchange(t, "GET", "/kyc/abc", "", 200, "<html>"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "no Api-Key yet accepted" {
				tc.ex.Request.Header.Del("Api-Key")
			}
			err := c.Check(tc.ex)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestCoverageListsWhatWasNotExercised(t *testing.T) {
	c, err := New()
	require.NoError(t, err)
	cov := NewCoverage()
	all, err := cov.Missing()
	require.NoError(t, err)
	require.Contains(t, all, "POST /v1/users")
	require.Contains(t, all, "GET /v1/users/{id}")

	op, err := c.check(exchange(t, "GET", "/v1/users/user_1", "", 200, userJSON))
	require.NoError(t, err)
	require.Equal(t, "GET /v1/users/{id}", op)
	cov.add(op)
	left, err := cov.Missing()
	require.NoError(t, err)
	require.Len(t, left, len(all)-1)
	require.NotContains(t, left, "GET /v1/users/{id}")
}
