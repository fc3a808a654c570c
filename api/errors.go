package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/vault"
)

// apiError is an HTTP error in the platform's shape.
type apiError struct {
	Status     int
	Type       string
	Code       string
	Message    string
	Param      string
	RetryAfter int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Error types of the platform.
const (
	typeAuthentication = "authentication_error"
	typeAuthorization  = "authorization_error"
	typeInvalidRequest = "invalid_request_error"
	typeValidation     = "validation_error"
	typeNotFound       = "not_found_error"
	typeConflict       = "conflict_error"
	typeRateLimit      = "rate_limit_error"
	typeService        = "service_error"
)

func errMissing(param string) *apiError {
	return &apiError{Status: 400, Type: typeValidation, Code: "parameter_missing", Param: param, Message: "Missing required parameter '" + param + "'."}
}

func errInvalid(param, msg string) *apiError {
	return &apiError{Status: 400, Type: typeValidation, Code: "parameter_invalid", Param: param, Message: msg}
}

func errNotFound(code, msg string) *apiError {
	return &apiError{Status: 404, Type: typeNotFound, Code: code, Message: msg}
}

var (
	errMissingKey = &apiError{Status: 401, Type: typeAuthentication, Code: "missing_api_key", Message: "Missing Api-Key header."}
	errBadKey     = &apiError{Status: 401, Type: typeAuthentication, Code: "invalid_api_key", Message: "Invalid API key."}
	errAgentScope = &apiError{Status: 403, Type: typeAuthorization, Code: "insufficient_permissions", Message: "Agent tokens cannot call this endpoint; use the organization's API key."}
	errTooLarge   = &apiError{Status: 413, Type: typeInvalidRequest, Code: "body_too_large", Message: "The request body is larger than the limit for this endpoint."}
	errInternal   = &apiError{Status: 500, Type: typeService, Code: "internal_error", Message: "An internal error occurred; the request was not applied."}
)

// fromLedger maps a ledger refusal onto the HTTP error it is reported as.
func fromLedger(err error) (*apiError, bool) {
	var le *ledger.Error
	if !errors.As(err, &le) {
		return nil, false
	}
	e := &apiError{Code: le.Code, Message: le.Message, Param: le.Param, RetryAfter: le.RetryAfterSeconds}
	switch le.Kind {
	case ledger.KindInvalid:
		e.Status, e.Type = 400, typeInvalidRequest
		if le.Param != "" {
			e.Type = typeValidation
		}
	case ledger.KindNotFound:
		e.Status, e.Type = 404, typeNotFound
	case ledger.KindConflict:
		e.Status, e.Type = 409, typeConflict
	case ledger.KindForbidden:
		e.Status, e.Type = 403, typeAuthorization
	case ledger.KindLimited:
		e.Status, e.Type = 429, typeRateLimit
	default:
		e.Status, e.Type = 500, typeService
	}
	return e, true
}

type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param,omitempty"`
	} `json:"error"`
	RequestID  string `json:"requestId"`
	RetryAfter int    `json:"retryAfter,omitempty"`
}

func (rc *reqCtx) writeError(e *apiError) {
	var b errorBody
	// A message or param may echo what the caller sent (a path, a
	// parameter's name, an ID): whatever might be a card number is masked
	// in every error, wherever it came from.
	b.Error.Type, b.Error.Code = e.Type, e.Code
	b.Error.Message, b.Error.Param = vault.MaskDigitRuns(e.Message), vault.MaskDigitRuns(e.Param)
	b.RequestID = rc.requestID
	if e.RetryAfter > 0 {
		rc.fc.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
		b.RetryAfter = e.RetryAfter * 1000
	}
	rc.writeJSON(e.Status, b)
	rc.errCode = e.Code
	_ = http.StatusText // statuses are written as numbers; names live in the docs
}
