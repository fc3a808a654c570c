package webhook

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ledgersim/ledgersim/internal/jsonenc"
)

// Endpoint statuses.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// DisabledGone is the DisabledReason of an endpoint whose receiver answered
// 410 Gone.
const DisabledGone = "gone"

// Endpoint is a registered receiver. Secret is the signing key; it is shown
// to the API caller only when it is created (and when rotated), and must
// never be logged: Endpoint's String and LogValue leave it out.
type Endpoint struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"` // empty: every event
	Status      string   `json:"status"`
	// DisabledReason says why the dispatcher disabled the endpoint
	// (DisabledGone), empty when it was disabled by the API or is enabled.
	DisabledReason string `json:"disabledReason,omitempty"`
	Secret         string `json:"secret"`
	// PreviousSecret signs too until PreviousSecretExpiresAt (epoch ms).
	PreviousSecret          string `json:"previousSecret,omitempty"`
	PreviousSecretExpiresAt int64  `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               int64  `json:"createdAt"`
	UpdatedAt               int64  `json:"updatedAt"`
	// PausedUntil (epoch ms) holds back the endpoint's deliveries after a
	// failed attempt (see the ordering rule in the package docs). It is
	// dispatch state, kept in the record so that a restart honours it.
	PausedUntil int64 `json:"pausedUntil,omitempty"`
}

// String names the endpoint without its secrets or URL.
func (e Endpoint) String() string { return fmt.Sprintf("webhook endpoint %s (%s)", e.ID, e.Status) }

// LogValue keeps the secrets and the URL (which may carry a token) out of
// structured logs.
func (e Endpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", e.ID), slog.String("status", e.Status))
}

// Subscribed reports whether the endpoint wants events of type typ.
func (e *Endpoint) Subscribed(typ string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, t := range e.Events {
		if t == typ {
			return true
		}
	}
	return false
}

// SigningSecrets are the secrets that sign a delivery made at t: the
// current one, then the previous one while its overlap lasts.
func (e *Endpoint) SigningSecrets(t time.Time) []string {
	if e.PreviousSecret != "" && t.UnixMilli() < e.PreviousSecretExpiresAt {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// queued is a delivery still to make: one event for one endpoint.
type queued struct {
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// Body is the event envelope exactly as it is POSTed on every attempt.
	Body          json.RawMessage `json:"body"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt int64           `json:"nextAttemptAt"` // epoch ms
	EnqueuedAt    int64           `json:"enqueuedAt"`

	// busy marks a record held in memory whose attempt is in flight or
	// waiting to be recorded; done marks one the recorder removed. Neither
	// is stored.
	busy bool
	done bool
}

// Delivery statuses.
const (
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one attempt, as the delivery log keeps it.
type Delivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// Attempt is 1 for the first attempt of this event to this endpoint.
	Attempt int `json:"attempt"`
	// Status is succeeded (a 2xx) or failed.
	Status string `json:"status"`
	// StatusCode is the receiver's HTTP status, 0 when there was no
	// response (timeout, connection refused).
	StatusCode int   `json:"statusCode"`
	LatencyMs  int64 `json:"latencyMs"`
	// Error describes a failure; it never holds the body, the secret or
	// the URL's query.
	Error       string `json:"error,omitempty"`
	AttemptedAt int64  `json:"attemptedAt"`
	// DeliveredAt is set when the attempt succeeded.
	DeliveredAt int64 `json:"deliveredAt,omitempty"`
	// NextAttemptAt is when the event will be tried again; 0 when this
	// attempt succeeded or was the last.
	NextAttemptAt int64 `json:"nextAttemptAt,omitempty"`
}

// Envelope is an event as the API shows it and as it is delivered.
type Envelope struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	CreatedAt int64           `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Page is one page of a list, newest first. Cursor is the ID of the last
// item when HasMore; the next page starts after it.
type Page[T any] struct {
	Items   []T
	HasMore bool
	Cursor  string
}

// Errors of the Service's operations.
var (
	// ErrNotFound: no endpoint has that ID.
	ErrNotFound = errors.New("webhook: no such endpoint")
	// ErrEventNotFound: no event has that ID.
	ErrEventNotFound = errors.New("webhook: no such event")
	// ErrTooMany: Config.MaxEndpoints endpoints exist already.
	ErrTooMany = errors.New("webhook: endpoint limit reached")
	// ErrDisabled: the operation needs an enabled endpoint.
	ErrDisabled = errors.New("webhook: endpoint is disabled")
	// ErrClosed: the Service was closed.
	ErrClosed = errors.New("webhook: service closed")
)

// InputError is a bad value in an operation's input; Param names the field.
type InputError struct {
	Param   string
	Message string
}

func (e *InputError) Error() string { return "webhook: invalid " + e.Param + ": " + e.Message }

// Queue records are stored in a compact binary form rather than JSON: the
// body would otherwise be validated and copied by the JSON encoder on every
// write and by the decoder on every read. The form is a version byte
// (queueRecordV1), the attempts (uvarint), next attempt and enqueue times
// (varint, epoch ms), the webhook ID, event ID and event type (each a
// uvarint length and the bytes), and the body to the end. Records in the
// JSON form of earlier versions (they start with '{') are still read.
const queueRecordV1 = 0x01

// appendRecord appends q's stored form to dst.
func (q *queued) appendRecord(dst []byte) []byte {
	dst = append(dst, queueRecordV1)
	dst = binary.AppendUvarint(dst, uint64(q.Attempts))
	dst = binary.AppendVarint(dst, q.NextAttemptAt)
	dst = binary.AppendVarint(dst, q.EnqueuedAt)
	for _, s := range [...]string{q.WebhookID, q.EventID, q.EventType} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return append(dst, q.Body...)
}

var errQueueRecord = errors.New("webhook: malformed queue record")

// decodeQueued reads a stored queue record (either form) into q. It copies
// what it keeps: v may be reused by the caller.
func decodeQueued(v []byte, q *queued) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, q)
	}
	if len(v) == 0 || v[0] != queueRecordV1 {
		return errQueueRecord
	}
	v = v[1:]
	attempts, n := binary.Uvarint(v)
	if n <= 0 || attempts > 1<<20 {
		return errQueueRecord
	}
	v = v[n:]
	var times [2]int64
	for i := range times {
		t, n := binary.Varint(v)
		if n <= 0 {
			return errQueueRecord
		}
		times[i], v = t, v[n:]
	}
	var strs [3]string
	for i := range strs {
		l, n := binary.Uvarint(v)
		if n <= 0 || l > uint64(len(v)-n) {
			return errQueueRecord
		}
		strs[i], v = string(v[n:n+int(l)]), v[n+int(l):]
	}
	*q = queued{WebhookID: strs[0], EventID: strs[1], EventType: strs[2], Body: bytes.Clone(v),
		Attempts: int(attempts), NextAttemptAt: times[0], EnqueuedAt: times[1]}
	return nil
}

// appendJSON appends d's JSON encoding, byte for byte what json.Marshal
// gives, without reflection: the recorder writes one per attempt.
func (d *Delivery) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, d.ID)
	dst = append(dst, `,"webhookId":`...)
	dst = appendJSONString(dst, d.WebhookID)
	dst = append(dst, `,"eventId":`...)
	dst = appendJSONString(dst, d.EventID)
	dst = append(dst, `,"eventType":`...)
	dst = appendJSONString(dst, d.EventType)
	dst = append(dst, `,"attempt":`...)
	dst = strconv.AppendInt(dst, int64(d.Attempt), 10)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, d.Status)
	dst = append(dst, `,"statusCode":`...)
	dst = strconv.AppendInt(dst, int64(d.StatusCode), 10)
	dst = append(dst, `,"latencyMs":`...)
	dst = strconv.AppendInt(dst, d.LatencyMs, 10)
	if d.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = appendJSONString(dst, d.Error)
	}
	dst = append(dst, `,"attemptedAt":`...)
	dst = strconv.AppendInt(dst, d.AttemptedAt, 10)
	if d.DeliveredAt != 0 {
		dst = append(dst, `,"deliveredAt":`...)
		dst = strconv.AppendInt(dst, d.DeliveredAt, 10)
	}
	if d.NextAttemptAt != 0 {
		dst = append(dst, `,"nextAttemptAt":`...)
		dst = strconv.AppendInt(dst, d.NextAttemptAt, 10)
	}
	return append(dst, '}')
}

var appendJSONString = jsonenc.AppendString
