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

// SafeID is an ID as it may be echoed in an error. One rule for every kind
// of ID: it is shown as given, cut at 64 bytes, with every run of 12 or more
// digits masked (vault.MaskDigitRuns), so that a caller who sends a card
// number where an ID belongs does not find it in the error (or in a log of
// it). IDs this server makes never hold such a run, so they are shown whole.
func SafeID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return vault.MaskDigitRuns(id)
}

func conflict(code, msg string) *Error { return &Error{Kind: KindConflict, Code: code, Message: msg} }

func invalid(code, param, msg string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Param: param, Message: msg}
}
