package ledger

import (
	"fmt"

	"github.com/ledgersim/ledgersim/vault"
)

// Kind classifies an Error for the edge that reports it.
type Kind int

// Error kinds. The API maps each to an HTTP status and error type.
const (
	KindInvalid   Kind = iota + 1 // the request is wrong (400)
	KindNotFound                  // no such resource (404)
	KindConflict                  // the resource's state forbids it (409)
	KindForbidden                 // not allowed for this caller or resource (403)
	KindLimited                   // too many requests (429)
)

// Error is a refusal the caller can act on. It never carries card data.
type Error struct {
	Kind    Kind
	Code    string // the platform's error code, e.g. "user_not_found"
	Message string
	Param   string // the offending field, when there is one
	// RetryAfterSeconds is set on KindLimited.
	RetryAfterSeconds int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

func notFound(code, what, id string) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: fmt.Sprintf("No %s with id '%s'.", what, SafeID(id))}
}

// SafeID is an ID as it may be echoed in an error: a caller that sends a
// card number where an ID belongs must not find it in the error (or in a
// log of it), so anything that looks like a PAN is masked.
func SafeID(id string) string {
	digits := 0
	for i := 0; i < len(id); i++ {
		if id[i] >= '0' && id[i] <= '9' {
			digits++
		}
	}
	if digits >= 12 {
		return vault.Mask(id)
	}
	if len(id) > 64 {
		return id[:64] + "..."
	}
	return id
}

func conflict(code, msg string) *Error { return &Error{Kind: KindConflict, Code: code, Message: msg} }

func invalid(code, param, msg string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Param: param, Message: msg}
}
