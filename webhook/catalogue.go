package webhook

import "github.com/ledgersim/ledgersim/model"

// EventTest is the type of the event POST /v1/webhooks/{id}/test sends. It
// goes to that one endpoint whatever its subscription and is not kept in the
// event log.
const EventTest = "webhook.test"

// EventTypes lists every event type an endpoint can subscribe to: the
// ledger's, in catalogue order.
var EventTypes = model.EventTypes

var knownTypes = func() map[string]bool {
	m := make(map[string]bool, len(EventTypes))
	for _, t := range EventTypes {
		m[t] = true
	}
	return m
}()

// KnownEventType reports whether t is in EventTypes.
func KnownEventType(t string) bool { return knownTypes[t] }
