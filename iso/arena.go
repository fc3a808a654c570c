package iso

import "unsafe"

// The fast decoder's strings alias the frame, which lives in a pooled job
// buffer that the next request overwrites. A Handler may keep any string
// of its Request (the ledger stores STAN, RRN, merchant and terminal IDs in
// its records), and Go strings must never change, so before a Request is
// handed to the Handler its strings are copied out of the frame with
// Request.detach.
//
// Copying each value into its own allocation would cost a dozen
// allocations per request, most of what the fast path saves. Instead the
// values are copied into large chunks (strArena) and sliced out of them as
// strings. A chunk is only ever appended to, never rewritten, so every
// string cut from it stays valid and unchanged for as long as anything
// refers to it, and the garbage collector frees the chunk once nothing
// does. The cost is that one kept string keeps its whole chunk alive; for
// the ledger, which keeps a few fields of nearly every request, that is
// about the bytes it keeps anyway.
//
// The PAN and the CVV2 go to a separate chunk. Nothing keeps them once the
// decision is made, so their chunks become garbage quickly instead of
// being held for the life of the ledger's records next to the STANs and
// RRNs, which would keep card data in memory indefinitely.

// arenaChunkBytes is the size of a string arena chunk: at roughly 150
// bytes of field text per request, one allocation per hundred requests.
const arenaChunkBytes = 16 << 10

// arenaValueBytesMax is the most text of one request copied into a chunk;
// more than that (the Request's fields add up to about 250 bytes at most,
// so only a misuse could get there) gets its own allocation, so it cannot
// waste most of a chunk.
const arenaValueBytesMax = 512

// strArena hands out immutable strings copied into shared chunks. It is not
// safe for concurrent use; the server keeps them in a sync.Pool.
type strArena struct {
	buf []byte
}

// stringArenas is what Server.detach takes from its pool: one arena for
// values the Handler may keep, one for card data.
type stringArenas struct {
	kept, card strArena
}

// detach replaces every string of r by a copy that does not alias the
// frame it was decoded from. MTI is left alone: for the message types that
// reach a Handler it is one of mtiString's constants. Raw keeps aliasing
// the frame, as documented.
func (r *Request) detach(a *stringArenas) {
	card := [...]*string{&r.PAN, &r.CVV2}
	kept := [...]*string{
		&r.ProcessingCode, &r.TransmissionDateTime, &r.STAN, &r.LocalTime, &r.LocalDate,
		&r.Expiry, &r.MCC, &r.POSEntryMode, &r.AcquirerID, &r.RRN, &r.AuthCode, &r.TerminalID,
		&r.MerchantID, &r.MerchantName, &r.MerchantCity, &r.MerchantCountry, &r.CurrencyCode,
		&r.NetworkCode, &r.OriginalData,
	}
	a.card.copyIn(card[:])
	a.kept.copyIn(kept[:])
}

// copyIn replaces each *p with a copy cut from the arena. All of them are
// copied into one reserved run, so the chunk check happens once per
// request rather than once per field.
func (a *strArena) copyIn(ps []*string) {
	total := 0
	for _, p := range ps {
		total += len(*p)
	}
	var run []byte
	switch {
	case total == 0:
		return
	case total > arenaValueBytesMax:
		run = make([]byte, total) // too big to share a chunk
	default:
		if cap(a.buf)-len(a.buf) < total {
			// Start a new chunk; the old one is left to the strings
			// cut from it and is never written again.
			a.buf = make([]byte, 0, arenaChunkBytes)
		}
		n := len(a.buf)
		a.buf = a.buf[:n+total]
		run = a.buf[n : n+total : n+total]
	}
	off := 0
	for _, p := range ps {
		if s := *p; s != "" {
			n := copy(run[off:], s)
			*p = unsafe.String(&run[off], n)
			off += n
		}
	}
}
