package webhook

import "bytes"

// Key prefixes of the records this package owns. They start with "w" so
// that they cannot collide with the store package's own prefixes.
const (
	pEndpoint = "wh/" // wh/<whkID>: Endpoint
	pQueue    = "wq/" // wq/<whkID>/<evtID>: queued (a delivery still to make)
	pLog      = "wd/" // wd/<whkID>/<whdID>: Delivery (one attempt)
)

func endpointKey(id string) []byte { return []byte(pEndpoint + id) }

func queuePrefix(whkID string) []byte { return []byte(pQueue + whkID + "/") }

func queueKey(whkID, evtID string) []byte { return []byte(pQueue + whkID + "/" + evtID) }

func logPrefix(whkID string) []byte { return []byte(pLog + whkID + "/") }

func logKey(whkID, whdID string) []byte { return []byte(pLog + whkID + "/" + whdID) }

// tail is the part of k after prefix (an ID).
func tail(k, prefix []byte) string { return string(bytes.TrimPrefix(k, prefix)) }
