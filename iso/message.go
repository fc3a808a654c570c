package iso

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Request is one decoded message. It is the only form in which a message
// leaves this package: nothing outside iso/ sees *iso8583.Message.
//
// String fields hold the data element exactly as received unless noted;
// a field that was absent is "". Numeric amounts come with a Has flag because
// zero is a meaningful amount (an account verification).
type Request struct {
	MTI                  string // "0100", "0101", "0120", "0200", "0220", "0400", "0401", "0420", "0421", "0800", ...
	PAN                  string // DE 2
	ProcessingCode       string // DE 3, 6 digits
	AmountCents          int64  // DE 4, in minor units
	HasAmount            bool   // DE 4 was present
	TransmissionDateTime string // DE 7, MMDDhhmmss
	STAN                 string // DE 11
	LocalTime            string // DE 12, hhmmss
	LocalDate            string // DE 13, MMDD
	Expiry               string // DE 14, YYMM
	MCC                  string // DE 18
	POSEntryMode         string // DE 22
	AcquirerID           string // DE 32
	RRN                  string // DE 37
	AuthCode             string // DE 38, present on clearings and reversals that quote the approval
	TerminalID           string // DE 41
	MerchantID           string // DE 42, trailing and leading spaces trimmed
	MerchantName         string // DE 43 positions 1-25, trimmed
	MerchantCity         string // DE 43 positions 26-38, trimmed
	MerchantCountry      string // DE 43 positions 39-40
	CurrencyCode         string // DE 49, e.g. "840"
	CVV2                 string // DE 48 sub-element 92, when present
	HasCVV2              bool   // DE 48 carried sub-element 92
	// PartialOK is DE 48 sub-element 61 with a value starting with "1":
	// the terminal takes an approval for less than it asked.
	PartialOK              bool
	NetworkCode            string // DE 70
	OriginalData           string // DE 90, 42 characters, not interpreted here
	ReplacementAmountCents int64  // DE 95 positions 1-12, in minor units
	HasReplacement         bool   // DE 95 was present

	// Raw is the packed message as received, without its length header, so
	// the handler can hash it to detect duplicates. On the server it aliases
	// a buffer that is reused once the Handler returns: copy it to keep it.
	Raw []byte
}

// Response is what the handler decided; the package builds the reply message
// from it.
type Response struct {
	// Code is DE 39: two characters, digits or upper-case letters
	// (normally one of the profile's codes, e.g. "00" or "51"). Anything
	// else is a handler bug and is answered with "96".
	Code string
	// AuthCode is DE 38, added when it is not empty. It must be exactly six
	// printable ASCII characters, or the reply becomes "96".
	AuthCode string
	// AvailableCents is the available balance for DE 54, sent only when
	// HasBalance is set. A negative balance is sent with the D (debit)
	// sign; magnitudes above 999999999999 are sent as 999999999999.
	AvailableCents int64
	HasBalance     bool
	// Durable, when set, is waited for before the reply is written. A
	// handler whose decision must be durable before it is told returns as
	// soon as the decision is taken and leaves the wait to the server,
	// which waits on the connection's writer, in request order, so the
	// reader goes on deciding while the sync is under way and one sync
	// releases every reply it covers. If Wait fails the reply becomes
	// "96". Wait is called exactly once per Response, from another
	// goroutine than the Handler's; responses of one batch may share a
	// Durable whose Wait can be called more than once (one wait for the
	// whole batch's record).
	Durable interface{ Wait() error }
	// Fault, when set, changes what goes back on the wire for this reply,
	// on purpose (fault injection, to exercise a client's timeout, retry
	// and reversal handling). The decision is made, recorded and waited
	// for (Durable) as usual; only the reply is delayed, left out, sent
	// twice, or replaced by closing the connection. A reply that becomes a
	// "96" because its decision could not be made durable is sent as usual.
	Fault Fault
	// Partial marks a partial approval (Code "10"): DE 4 of the reply
	// carries ApprovedCents instead of the request's amount, and DE 54 an
	// amount of type 57 with RequestedCents, the amount asked for.
	Partial        bool
	ApprovedCents  int64
	RequestedCents int64

	// panicked is set by PerRequest when the handler panicked.
	panicked *handlerPanic
}

// Fault is what happens on the wire instead of sending a reply normally.
type Fault struct {
	Action FaultAction
	// Delay is how long after the request arrived (after the read that
	// brought it returned) its reply leaves, with FaultDelay.
	Delay time.Duration
}

// FaultAction is a kind of Fault.
type FaultAction uint8

// Fault actions.
const (
	FaultNone FaultAction = iota
	// FaultDelay sends the reply Fault.Delay after its request arrived.
	// Replies on a connection keep their order, so the replies behind it
	// wait with it; the connection goes on reading and deciding meanwhile,
	// and replies delayed one after another wait together rather than one
	// after the other.
	FaultDelay
	// FaultNoReply sends no reply.
	FaultNoReply
	// FaultDuplicate sends the reply twice, back to back.
	FaultDuplicate
	// FaultClose closes the connection instead of replying, once the
	// replies before it are written. Requests read after it are still
	// decided and recorded, but their replies are lost with the
	// connection, as they would be with a real issuer's.
	FaultClose
)

// Reply is a decoded reply, as a client sees it (see UnpackResponse).
type Reply struct {
	MTI            string // e.g. "0110"
	STAN           string // DE 11
	RRN            string // DE 37
	Code           string // DE 39
	AuthCode       string // DE 38
	AvailableCents int64  // DE 54, the available-balance (type 02) amount, signed
	HasBalance     bool   // DE 54 carried an available-balance amount
	PAN            string // DE 2
	AmountCents    int64  // DE 4; 0 when absent or not 12 digits (a "30" reply echoes a malformed amount as sent)
	// RequestedCents is DE 54's original-amount (type 57) block, which a
	// partial approval (code 10) carries.
	RequestedCents int64
	HasRequested   bool
}

// FieldError reports a data element that is missing or does not match the
// profile. It names the field and the rule it broke but never carries the
// field's value, so it is safe to log.
type FieldError struct {
	// Field is the data element number; 0 is the MTI, 1 the bitmap, and
	// -1 the message as a whole (for example bytes left over after the
	// last field).
	Field  int
	Reason string
}

func (e *FieldError) Error() string {
	switch e.Field {
	case -1:
		return "iso: message: " + e.Reason
	case 0:
		return "iso: MTI: " + e.Reason
	case 1:
		return "iso: bitmap: " + e.Reason
	default:
		return fmt.Sprintf("iso: DE %d: %s", e.Field, e.Reason)
	}
}

// fieldSet is a set of data element numbers below 192 (three bitmaps).
type fieldSet [3]uint64

func (s *fieldSet) add(n int) {
	if n >= 0 && n < 192 {
		s[n>>6] |= 1 << (uint(n) & 63)
	}
}

func (s *fieldSet) has(n int) bool {
	return n >= 0 && n < 192 && s[n>>6]&(1<<(uint(n)&63)) != 0
}

// echoFields are the data elements a reply copies from its request, in the
// order they are stored in decoded.echo.
var echoFields = [...]int{2, 3, 4, 7, 11, 37, 41, 42, 49}

// echoSlots maps a field number to 1 + its index in echoFields (0 for
// fields that are not echoed), so echoIndex is one load on the decoders'
// per-field path.
var echoSlots = func() (t [129]uint8) {
	for i, id := range echoFields {
		t[id] = uint8(i + 1)
	}
	return t
}()

func echoIndex(id int) int {
	if id < 0 || id >= len(echoSlots) {
		return -1
	}
	return int(echoSlots[id]) - 1
}

// decoded is a Request plus what the reply needs that the handler does not:
// which fields parsed, their exact text for echoing, and the first problem.
type decoded struct {
	req     Request
	present fieldSet
	// echo holds the text of each echo field exactly as received (DE 2
	// without its length prefix), even when it broke a rule, so that a
	// format-error reply still lets the client match it.
	echo [len(echoFields)]string
	err  *FieldError // first format problem; nil when the message is well-formed
}

func (d *decoded) reset(raw []byte) {
	*d = decoded{}
	d.req.Raw = raw
}

func (d *decoded) fail(id int, reason string) {
	if d.err == nil {
		d.err = &FieldError{Field: id, Reason: reason}
	}
}

// validMTI reports whether a frame starts with a 4-digit MTI, the minimum
// needed to answer it at all.
func validMTI(frame []byte) bool {
	return len(frame) >= 4 && isDigits(frame[:4])
}

// mtiString returns the MTI as a string without allocating for the message
// types the profile knows.
func mtiString(b []byte) string {
	switch string(b) {
	case "0100":
		return "0100"
	case "0101":
		return "0101"
	case "0120":
		return "0120"
	case "0200":
		return "0200"
	case "0220":
		return "0220"
	case "0400":
		return "0400"
	case "0401":
		return "0401"
	case "0420":
		return "0420"
	case "0421":
		return "0421"
	case "0800":
		return "0800"
	}
	return string(b)
}

// replyMTI returns the MTI of the reply to a request MTI and whether the
// profile supports that request. For unsupported requests the reply MTI
// has the message function (third digit) raised by one and, as in the
// profile's own table (0101 -> 0110), a repeat origin (odd fourth digit)
// becomes its original. ok is false when no reply can be formed: the third
// digit is odd, i.e. the message already is a response or acknowledgement,
// and answering it could start an endless exchange.
func replyMTI(mti string) (reply string, supported, ok bool) {
	switch mti {
	case "0100", "0101":
		return "0110", true, true
	case "0120":
		return "0130", true, true
	case "0200":
		return "0210", true, true
	case "0220":
		return "0230", true, true
	case "0400", "0401":
		return "0410", true, true
	case "0420", "0421":
		return "0430", true, true
	case "0800":
		return "0810", true, true
	}
	if len(mti) != 4 || !isDigitString(mti) || (mti[2]-'0')%2 == 1 {
		return "", false, false
	}
	b := []byte(mti)
	b[2]++
	if (b[3]-'0')%2 == 1 {
		b[3]--
	}
	return string(b), false, true
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isDigitString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Reasons for the structural problems both decoders report, shared so that
// their FieldErrors compare equal.
const (
	reasonMTI       = "not 4 ASCII digits"
	reasonBitmap    = "malformed"
	reasonUndefined = "not defined in the profile"
	reasonUnpack    = "cannot be unpacked"
	reasonTrailing  = "bytes left over after the last field"
)

// fieldVisitor receives each data element of a message in order: its number,
// the moov-io field holding the unpacked value, and the raw bytes it took in
// the message (length prefix included). It returns a reason when the value
// breaks the profile, or "".
type fieldVisitor func(id int, f field.Field, raw []byte) string

// walkFields unpacks a message field by field with moov-io's codec and calls
// visit for each one, stopping at the first field that cannot be unpacked.
// Unlike iso8583.Message.Unpack it keeps what parsed before a bad field, so a
// format-error reply can still echo DE 11 and DE 37, and it hands out the
// raw bytes, so fixed-length values can be checked exactly as sent. A field
// whose value breaks a rule does not stop the walk: visit has recorded it,
// and the fields after it are still read so the reply can echo them. The
// returned error, if any, is the first problem found.
//
// moov-io's codec is not designed for hostile input; a panic inside it is
// turned into a format error, so no byte sequence can take the server down.
func walkFields(spec *iso8583.MessageSpec, frame []byte, visit fieldVisitor) (ferr *FieldError) {
	defer func() {
		if recover() != nil {
			ferr = &FieldError{Field: -1, Reason: reasonUnpack}
		}
	}()
	if !validMTI(frame) {
		return &FieldError{Field: 0, Reason: reasonMTI}
	}
	bm, ok := field.NewInstanceOf(spec.Fields[1]).(*field.Bitmap)
	if !ok {
		return &FieldError{Field: 1, Reason: "spec has no bitmap"}
	}
	n, err := bm.Unpack(frame[4:])
	if err != nil {
		return &FieldError{Field: 1, Reason: reasonBitmap}
	}
	off := 4 + n
	var first *FieldError
	for id := 2; id <= bm.Len(); id++ {
		if bm.IsBitmapPresenceBit(id) || !bm.IsSet(id) {
			continue
		}
		tmpl, ok := spec.Fields[id]
		if !ok {
			return firstOf(first, &FieldError{Field: id, Reason: reasonUndefined})
		}
		f := field.NewInstanceOf(tmpl)
		n, err := f.Unpack(frame[off:])
		if err != nil || n <= 0 || n > len(frame)-off {
			return firstOf(first, &FieldError{Field: id, Reason: reasonUnpack})
		}
		raw := frame[off : off+n]
		off += n
		if reason := visit(id, f, raw); reason != "" && first == nil {
			first = &FieldError{Field: id, Reason: reason}
		}
	}
	if off != len(frame) {
		return firstOf(first, &FieldError{Field: -1, Reason: reasonTrailing})
	}
	return first
}

func firstOf(a, b *FieldError) *FieldError {
	if a != nil {
		return a
	}
	return b
}

// interpreted is the set of data elements the package reads or echoes.
var interpreted = func() fieldSet {
	var s fieldSet
	for _, id := range [...]int{2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 32, 37, 38, 39, 41, 42, 43, 48, 49, 54, 70, 90, 95} {
		s.add(id)
	}
	return s
}()

// fieldText is the text of a data element. Fixed-length ASCII fields are
// taken from their raw bytes, which keeps the padding moov-io strips on
// unpacking (DE 4 "000000001000" would otherwise become "1000"), so checks
// and echoes see exactly what was sent. Variable-length fields are the
// unpacked value, without the length prefix.
func fieldText(f field.Field, raw []byte) string {
	if f.Spec().Pref.Inspect() == "ASCII.Fixed" {
		return string(raw)
	}
	s, err := f.String()
	if err != nil {
		return ""
	}
	return s
}

// decodeRequest decodes frame into d. It never fails: problems are recorded
// in d.err, and everything that parsed is kept for the reply.
func decodeRequest(spec *iso8583.MessageSpec, frame []byte, d *decoded) {
	d.reset(frame)
	if !validMTI(frame) {
		d.fail(0, reasonMTI)
		return
	}
	d.req.MTI = mtiString(frame[:4])
	d.present.add(0)
	if err := walkFields(spec, frame, d.visit); err != nil {
		d.fail(err.Field, err.Reason)
	}
}

// visit stores one data element of a request and checks it against the
// profile. A field that breaks a rule is still marked present and echoed,
// but the request is answered with "30" and never reaches the handler.
func (d *decoded) visit(id int, f field.Field, raw []byte) string {
	if !interpreted.has(id) {
		// Fields the profile does not use are unpacked (so the bitmap
		// walk can go on) but neither copied nor checked.
		d.present.add(id)
		return ""
	}
	return d.visitText(id, fieldText(f, raw))
}

// visitText records an interpreted data element from its text (see
// fieldText) and checks it. Both codecs call it, the moov-io walk above and
// the compiled one in fast.go, so the profile's rules exist once and the two
// cannot disagree on what a value means. It does not allocate for a value
// that passes, so the fast path can hand it text that aliases the frame.
func (d *decoded) visitText(id int, v string) string {
	d.present.add(id)
	r := &d.req
	if i := echoIndex(id); i >= 0 {
		d.echo[i] = v
	}
	switch id {
	case 2:
		if len(v) == 0 || !isDigitString(v) {
			return "must be 1 to 19 digits"
		}
		r.PAN = v
	case 3:
		if len(v) != 6 || !isDigitString(v) {
			return "must be 6 digits"
		}
		r.ProcessingCode = v
	case 4:
		amount, ok := parseAmount(v)
		if !ok {
			return "must be 12 digits"
		}
		r.AmountCents, r.HasAmount = amount, true
	case 7:
		return setDigits(&r.TransmissionDateTime, v, 10)
	case 11:
		return setDigits(&r.STAN, v, 6)
	case 12:
		return setDigits(&r.LocalTime, v, 6)
	case 13:
		return setDigits(&r.LocalDate, v, 4)
	case 14:
		return setDigits(&r.Expiry, v, 4)
	case 18:
		return setDigits(&r.MCC, v, 4)
	case 22:
		return setDigits(&r.POSEntryMode, v, 3)
	case 32:
		if len(v) == 0 || !isDigitString(v) {
			return "must be 1 to 11 digits"
		}
		r.AcquirerID = v
	case 37:
		r.RRN = v
	case 38:
		r.AuthCode = v
	case 41:
		r.TerminalID = v
	case 42:
		r.MerchantID = strings.TrimSpace(v)
	case 43:
		if len(v) != 40 {
			return "must be 40 characters"
		}
		r.MerchantName = strings.TrimSpace(v[:25])
		r.MerchantCity = strings.TrimSpace(v[25:38])
		r.MerchantCountry = v[38:40]
	case 48:
		cvv, has, partial, reason := parseDE48(v)
		if reason != "" {
			return reason
		}
		r.CVV2, r.HasCVV2, r.PartialOK = cvv, has, partial
	case 49:
		return setDigits(&r.CurrencyCode, v, 3)
	case 70:
		return setDigits(&r.NetworkCode, v, 3)
	case 90:
		r.OriginalData = v
	case 95:
		if len(v) != 42 {
			return "must be 42 characters"
		}
		amount, ok := parseAmount(v[:12])
		if !ok {
			return "positions 1-12 must be digits"
		}
		r.ReplacementAmountCents, r.HasReplacement = amount, true
	}
	return ""
}

func setDigits(dst *string, v string, n int) string {
	if len(v) != n || !isDigitString(v) {
		return "must be " + strconv.Itoa(n) + " digits"
	}
	*dst = v
	return ""
}

// parseAmount parses a 12-digit amount in minor units.
func parseAmount(s string) (int64, bool) {
	if len(s) != 12 {
		return 0, false
	}
	// Twelve digits cannot overflow an int64, so this is what
	// strconv.ParseInt would return, without its generality.
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	return n, true
}

// DE 48 sub-elements the profile reads.
const (
	cvv2Tag    = "92" // the CVV2
	partialTag = "61" // partial approval indicator: "1" first, the terminal takes one
)

// partialIndicator is sub-element 61 saying a partial approval is taken.
const partialIndicator = partialTag + "01" + "1"

// parseDE48 finds the CVV2 and the partial-approval indicator in DE 48:
// one transaction category code character, then sub-elements of a 2-digit
// tag, a 2-digit length and the value. The first sub-element 92 wins, and
// the first 61, which must hold at least one character, a digit first.
func parseDE48(v string) (cvv string, has, partial bool, reason string) {
	if len(v) < 1 {
		return "", false, false, "must start with a transaction category code"
	}
	rest := v[1:]
	seen61 := false
	for len(rest) > 0 {
		if len(rest) < 4 || !isDigitString(rest[:4]) {
			return "", false, false, "sub-element header must be a 2-digit tag and a 2-digit length"
		}
		n := int(rest[2]-'0')*10 + int(rest[3]-'0')
		if len(rest) < 4+n {
			return "", false, false, "sub-element longer than the field"
		}
		switch val := rest[4 : 4+n]; {
		case rest[:2] == cvv2Tag && !has:
			cvv, has = val, true
		case rest[:2] == partialTag && !seen61:
			if n == 0 || val[0] < '0' || val[0] > '9' {
				return "", false, false, "sub-element 61 must start with a digit (1: partial approval taken)"
			}
			seen61, partial = true, val[0] == '1'
		}
		rest = rest[4+n:]
	}
	return cvv, has, partial, ""
}

// DE 54 layout, one 20-character additional-amounts block.
const (
	de54AccountType    = "00"  // not specified
	de54AvailableType  = "02"  // available balance
	de54RequestedType  = "57"  // original amount: what a partial approval was asked for
	de54Currency       = "840" // the profile only settles US dollars
	de54BlockBytes     = 20
	de54AmountMaxCents = 999_999_999_999
)

// formatDE54 renders an available balance as the standard additional-amounts
// block: account type, amount type, currency, C or D, and 12 digits.
func formatDE54(cents int64) string { return formatDE54Block(de54AvailableType, cents) }

// formatDE54Block renders one block of amount type typ.
func formatDE54Block(typ string, cents int64) string {
	sign := byte('C')
	var mag uint64
	if cents < 0 {
		sign = 'D'
		mag = uint64(-(cents + 1)) + 1 // #nosec G115 -- -(MinInt64+1)+1 fits in uint64.
	} else {
		mag = uint64(cents)
	}
	mag = min(mag, de54AmountMaxCents)
	b := make([]byte, 0, de54BlockBytes)
	b = append(b, de54AccountType...)
	b = append(b, typ...)
	b = append(b, de54Currency...)
	b = append(b, sign)
	amt := strconv.FormatUint(mag, 10)
	for i := len(amt); i < 12; i++ {
		b = append(b, '0')
	}
	b = append(b, amt...)
	return string(b)
}

// appendDE54 appends formatDE54(cents) to b without allocating, for the
// fast reply encoder. TestAppendDE54MatchesFormat keeps the two equal.
func appendDE54(b []byte, cents int64) []byte {
	return appendDE54Type(b, de54AvailableType, cents)
}

// appendDE54Type appends one additional-amounts block of amount type typ.
func appendDE54Type(b []byte, typ string, cents int64) []byte {
	sign := byte('C')
	var mag uint64
	if cents < 0 {
		sign = 'D'
		mag = uint64(-(cents + 1)) + 1 // #nosec G115 -- -(MinInt64+1)+1 fits in uint64.
	} else {
		mag = uint64(cents)
	}
	mag = min(mag, de54AmountMaxCents)
	b = append(b, de54AccountType...)
	b = append(b, typ...)
	b = append(b, de54Currency...)
	b = append(b, sign)
	var digits [12]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + mag%10)
		mag /= 10
	}
	return append(b, digits[:]...)
}

// parseDE54 finds the available-balance block in DE 54.
func parseDE54(v string) (cents int64, has bool, reason string) {
	return parseDE54Type(v, de54AvailableType)
}

// parseDE54Type finds the first block of amount type typ in DE 54.
func parseDE54Type(v, typ string) (cents int64, has bool, reason string) {
	if len(v)%de54BlockBytes != 0 {
		return 0, false, "must be a whole number of 20-character blocks"
	}
	for ; len(v) > 0; v = v[de54BlockBytes:] {
		blk := v[:de54BlockBytes]
		amount, ok := parseAmount(blk[8:20])
		if !ok || (blk[7] != 'C' && blk[7] != 'D') {
			return 0, false, "malformed amount block"
		}
		if blk[2:4] != typ || has {
			continue
		}
		if blk[7] == 'D' {
			amount = -amount
		}
		cents, has = amount, true
	}
	return cents, has, ""
}

// setField sets one field of m and packs it on its own, so a value that does
// not fit the spec is reported with its field number and without its content.
func setField(m *iso8583.Message, id int, v string) error {
	if err := m.Field(id, v); err != nil {
		return &FieldError{Field: id, Reason: "does not fit the profile"}
	}
	if _, err := m.GetField(id).Pack(); err != nil {
		return &FieldError{Field: id, Reason: "does not fit the profile"}
	}
	return nil
}

// replyParts is everything a reply message is built from.
type replyParts struct {
	mti     string
	code    string
	resp    Response // AuthCode and balance; ignored unless code came from the handler
	network bool     // an 0810: echo DE 7, 11 and 70 only
}

// buildReply packs the reply to a decoded request. If the full reply cannot
// be packed (an echoed value moov-io refuses), it falls back to a reply with
// just the MTI, DE 11, DE 37 and DE 39, and then to the MTI and DE 39, so a
// request is answered whenever its MTI could be read.
func buildReply(spec *iso8583.MessageSpec, d *decoded, p replyParts) ([]byte, error) {
	if b, err := packReply(spec, d, p, false); err == nil {
		return b, nil
	}
	if b, err := packReply(spec, d, p, true); err == nil {
		return b, nil
	}
	m := iso8583.NewMessage(spec)
	m.MTI(p.mti)
	if err := setField(m, 39, p.code); err != nil {
		return nil, err
	}
	b, err := m.Pack()
	if err != nil {
		return nil, &FieldError{Field: -1, Reason: "reply cannot be packed"}
	}
	return b, nil
}

func packReply(spec *iso8583.MessageSpec, d *decoded, p replyParts, minimal bool) (b []byte, err error) {
	defer func() {
		if recover() != nil {
			err = &FieldError{Field: -1, Reason: "reply cannot be packed"}
		}
	}()
	m := iso8583.NewMessage(spec)
	m.MTI(p.mti)
	switch {
	case minimal:
		for i, id := range echoFields {
			if (id == 11 || id == 37) && d.present.has(id) {
				if err := setField(m, id, d.echo[i]); err != nil {
					return nil, err
				}
			}
		}
	case p.network:
		for _, id := range [...]int{7, 11} {
			if d.present.has(id) {
				if err := setField(m, id, d.echo[echoIndex(id)]); err != nil {
					return nil, err
				}
			}
		}
		// DE 70 is echoed only when it was well-formed; a malformed one
		// is the reason for the "30" this reply carries.
		if d.req.NetworkCode != "" {
			if err := setField(m, 70, d.req.NetworkCode); err != nil {
				return nil, err
			}
		}
	default:
		for i, id := range echoFields {
			if d.present.has(id) {
				v := d.echo[i]
				if id == 4 && p.resp.Partial {
					v = fmt.Sprintf("%012d", min(max(p.resp.ApprovedCents, 0), de54AmountMaxCents))
				}
				if err := setField(m, id, v); err != nil {
					return nil, err
				}
			}
		}
		if p.resp.AuthCode != "" {
			if err := setField(m, 38, p.resp.AuthCode); err != nil {
				return nil, err
			}
		}
		if de54 := replyDE54(&p.resp); de54 != "" {
			if err := setField(m, 54, de54); err != nil {
				return nil, err
			}
		}
	}
	if err := setField(m, 39, p.code); err != nil {
		return nil, err
	}
	b, err = m.Pack()
	if err != nil {
		return nil, &FieldError{Field: -1, Reason: "reply cannot be packed"}
	}
	return b, nil
}

// replyDE54 is DE 54 of a reply: the available balance, then a partial
// approval's requested amount; "" when it has neither.
func replyDE54(r *Response) string {
	var v string
	if r.HasBalance {
		v = formatDE54(r.AvailableCents)
	}
	if r.Partial {
		v += formatDE54Block(de54RequestedType, r.RequestedCents)
	}
	return v
}

// validCode reports whether a handler's response code can go into DE 39.
func validCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// validAuthCode reports whether a handler's approval code can go into DE 38.
func validAuthCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// transactionCategoryCode is the DE 48 category code PackRequest writes in
// front of the CVV2 sub-element ("R", retail).
const transactionCategoryCode = "R"

// PackRequest builds and packs a request message from r with the project's
// spec: it is the client side of the codec, for tests and load generators.
// Fields that are "" (or whose Has flag is false) are left out. DE 42 is
// padded with spaces to 15 characters, DE 43 is assembled from the merchant
// name, city and country padded to 25, 13 and 2 characters, DE 48 is "R"
// followed by sub-element 92 when HasCVV2 is set and sub-element 61
// ("61011") when PartialOK is set, and DE 95 is the 12-digit
// replacement amount followed by 30 zeros. r.Raw is ignored. Errors are
// *FieldError values and never contain field contents.
func PackRequest(r *Request) ([]byte, error) {
	if len(r.MTI) != 4 || !isDigitString(r.MTI) {
		return nil, &FieldError{Field: 0, Reason: "not 4 ASCII digits"}
	}
	spec := Spec()
	m := iso8583.NewMessage(spec)
	m.MTI(r.MTI)
	set := func(id int, v string) error {
		if v == "" {
			return nil
		}
		return setField(m, id, v)
	}
	amount := func(id int, cents int64) (string, error) {
		if cents < 0 || cents > de54AmountMaxCents {
			return "", &FieldError{Field: id, Reason: "amount out of range"}
		}
		return fmt.Sprintf("%012d", cents), nil
	}
	var de4, de42, de43, de48, de95 string
	if r.HasAmount {
		v, err := amount(4, r.AmountCents)
		if err != nil {
			return nil, err
		}
		de4 = v
	}
	if r.MerchantID != "" {
		if len(r.MerchantID) > 15 {
			return nil, &FieldError{Field: 42, Reason: "longer than 15 characters"}
		}
		de42 = fmt.Sprintf("%-15s", r.MerchantID)
	}
	if r.MerchantName != "" || r.MerchantCity != "" || r.MerchantCountry != "" {
		if len(r.MerchantName) > 25 || len(r.MerchantCity) > 13 || len(r.MerchantCountry) > 2 {
			return nil, &FieldError{Field: 43, Reason: "name, city or country too long"}
		}
		de43 = fmt.Sprintf("%-25s%-13s%-2s", r.MerchantName, r.MerchantCity, r.MerchantCountry)
	}
	if r.HasCVV2 {
		if len(r.CVV2) > 99 {
			return nil, &FieldError{Field: 48, Reason: "CVV2 longer than 99 characters"}
		}
		de48 = fmt.Sprintf("%s%s%02d%s", transactionCategoryCode, cvv2Tag, len(r.CVV2), r.CVV2)
	}
	if r.PartialOK {
		if de48 == "" {
			de48 = transactionCategoryCode
		}
		de48 += partialIndicator
	}
	if r.HasReplacement {
		v, err := amount(95, r.ReplacementAmountCents)
		if err != nil {
			return nil, err
		}
		de95 = v + strings.Repeat("0", 30)
	}
	fields := [...]struct {
		id int
		v  string
	}{
		{2, r.PAN}, {3, r.ProcessingCode}, {4, de4}, {7, r.TransmissionDateTime},
		{11, r.STAN}, {12, r.LocalTime}, {13, r.LocalDate}, {14, r.Expiry},
		{18, r.MCC}, {22, r.POSEntryMode}, {32, r.AcquirerID}, {37, r.RRN},
		{38, r.AuthCode}, {41, r.TerminalID}, {42, de42}, {43, de43},
		{48, de48}, {49, r.CurrencyCode}, {70, r.NetworkCode},
		{90, r.OriginalData}, {95, de95},
	}
	for _, f := range fields {
		if err := set(f.id, f.v); err != nil {
			return nil, err
		}
	}
	b, err := m.Pack()
	if err != nil {
		return nil, &FieldError{Field: -1, Reason: "cannot be packed"}
	}
	return b, nil
}

// UnpackResponse decodes a reply message (without its length header) for a
// client. DE 39 is required; DE 54, when present, must hold well-formed
// 20-character blocks. Other fields are taken as they are, because a reply
// echoes the request's fields even when they were malformed. Errors are *FieldError values and never contain field
// contents.
func UnpackResponse(b []byte) (*Reply, error) {
	rep := &Reply{}
	if !validMTI(b) {
		return nil, &FieldError{Field: 0, Reason: "not 4 ASCII digits"}
	}
	rep.MTI = mtiString(b[:4])
	hasCode := false
	err := walkFields(Spec(), b, func(id int, f field.Field, raw []byte) string {
		if !interpreted.has(id) {
			return ""
		}
		v := fieldText(f, raw)
		switch id {
		case 2:
			rep.PAN = v
		case 4:
			// A reply echoes DE 4 as the request sent it, so the
			// reply to a malformed amount carries that amount.
			rep.AmountCents, _ = parseAmount(v)
		case 11:
			rep.STAN = v
		case 37:
			rep.RRN = v
		case 38:
			rep.AuthCode = v
		case 39:
			rep.Code, hasCode = v, true
		case 54:
			cents, has, reason := parseDE54(v)
			if reason != "" {
				return reason
			}
			rep.AvailableCents, rep.HasBalance = cents, has
			rep.RequestedCents, rep.HasRequested, _ = parseDE54Type(v, de54RequestedType)
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	if !hasCode {
		return nil, &FieldError{Field: 39, Reason: "missing"}
	}
	return rep, nil
}
