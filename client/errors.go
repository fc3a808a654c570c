package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error types the server reports in Error.Type.
const (
	TypeAuthentication = "authentication_error"
	TypeAuthorization  = "authorization_error"
	TypeInvalidRequest = "invalid_request_error"
	TypeValidation     = "validation_error"
	TypeNotFound       = "not_found_error"
	TypeConflict       = "conflict_error"
	TypeRateLimit      = "rate_limit_error"
	TypeService        = "service_error"
)

// Error is an error response of the API:
//
//	{"error": {"type", "code", "message", "param"}, "requestId"}
//
// Get it with errors.As. Type is the broad class (TypeNotFound, ...), Code
// the specific reason (card_not_found, parameter_invalid, ...), Param the
// request field or header at fault when there is one.
type Error struct {
	StatusCode int
	Type       string
	Code       string
	Message    string
	Param      string
	// RequestID identifies the request in the server's log.
	RequestID string
	// RetryAfter is how long to wait before retrying a rate-limited
	// request; zero otherwise.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("ledgersim: %d %s/%s: %s", e.StatusCode, e.Type, e.Code, e.Message)
	if e.Param != "" {
		s += " (param " + e.Param + ")"
	}
	if e.RequestID != "" {
		s += " [" + e.RequestID + "]"
	}
	return s
}

// Is matches another *Error by whichever of Type and Code it sets, so that
// errors.Is(err, &client.Error{Code: "card_not_found"}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Type == "" || t.Type == e.Type) && (t.Code == "" || t.Code == e.Code) &&
		(t.StatusCode == 0 || t.StatusCode == e.StatusCode)
}

// AsError returns the API error in err's chain, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// IsNotFound reports whether err is the API's not_found_error.
func IsNotFound(err error) bool {
	e, ok := AsError(err)
	return ok && e.Type == TypeNotFound
}

// HasCode reports whether err is an API error with the given code.
func HasCode(err error, code string) bool {
	e, ok := AsError(err)
	return ok && e.Code == code
}

func parseError(res *http.Response, raw []byte) error {
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
		RequestID string `json:"requestId"`
	}
	e := &Error{StatusCode: res.StatusCode, RequestID: res.Header.Get("Request-Id")}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Type, e.Code, e.Message, e.Param = body.Error.Type, body.Error.Code, body.Error.Message, body.Error.Param
		if body.RequestID != "" {
			e.RequestID = body.RequestID
		}
	} else {
		// Not the API's shape (a proxy in between, say): keep the status.
		e.Type, e.Code = TypeService, "unexpected_response"
		e.Message = http.StatusText(res.StatusCode)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
