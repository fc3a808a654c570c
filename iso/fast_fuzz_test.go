package iso

import (
	"bytes"
	"testing"
)

// fuzzSeeds are the fuzzers' starting points: the packed seed messages and
// every message of the profile table, valid and malformed.
func fuzzSeeds(f *testing.F) [][]byte {
	return append(seedMessages(f), profileMessages()...)
}

// FuzzFastDecodeMatchesMoov holds the compiled decoder to moov-io's on
// arbitrary frames: the same Request, the same fields present and echo
// texts, the same first FieldError (so the same "30" or "12"), the same
// replies built from the decoded form, and the same reply bytes from a
// server running each codec.
func FuzzFastDecodeMatchesMoov(f *testing.F) {
	for _, m := range fuzzSeeds(f) {
		f.Add(m)
	}
	fastSrv, moovSrv := newCodecServer(f, CodecFast), newCodecServer(f, CodecMoov)
	f.Fuzz(func(t *testing.T, frame []byte) {
		compareCodecs(t, frame, fastSrv, moovSrv)
	})
}

// FuzzFastReplyMatchesMoov holds the compiled reply encoder to moov-io's
// buildReply for arbitrary requests and arbitrary reply parts, including
// codes, approval codes and MTIs that do not fit the spec. When the
// encoder declines (and buildReply is used instead) it must be for one of
// the reasons fastFallbackExplained lists.
func FuzzFastReplyMatchesMoov(f *testing.F) {
	for i, m := range fuzzSeeds(f) {
		f.Add(m, "0110", "00", "A00042", int64(i)*1000-5000, i%3 == 0, i%7 == 0)
	}
	f.Add([]byte("0800822000000000000004000000000000001121095500000001301"), "0810", "00", "", int64(0), false, true)
	f.Add([]byte("0100"), "011", "0", "A0004", int64(-1), true, false)
	c := defaultFastCodec()
	f.Fuzz(func(t *testing.T, frame []byte, mti, code, auth string, cents int64, hasBalance, network bool) {
		var fast, slow decoded
		c.decode(frame, &fast)
		decodeRequest(Spec(), frame, &slow)
		p := replyParts{mti: mti, code: code, network: network,
			resp: Response{Code: code, AuthCode: auth, AvailableCents: cents, HasBalance: hasBalance}}
		want, wantErr := buildReply(Spec(), &slow, p)

		// appendReply appends to what dst holds and leaves it alone when
		// it declines.
		prefix := []byte("prefix")
		got, ok := c.appendReply(bytes.Clone(prefix), &fast, p)
		switch {
		case !bytes.HasPrefix(got, prefix):
			t.Fatalf("appendReply lost the bytes already in dst")
		case ok && (wantErr != nil || !bytes.Equal(got[len(prefix):], want)):
			t.Fatalf("reply %+v to %q:\nfast %q\nmoov %q (%v)", p, frame, got[len(prefix):], want, wantErr)
		case !ok && len(got) != len(prefix):
			t.Fatalf("appendReply declined but wrote %q", got[len(prefix):])
		case !ok && !fastFallbackExplained(&fast, p):
			t.Fatalf("the compiled encoder declined reply %+v to %q", p, frame)
		}
		got, err := encodeWith(c, make([]byte, 0, 4), &fast, p)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeReply %+v to %q:\nfast %q (%v)\nmoov %q (%v)", p, frame, got, err, want, wantErr)
		}
	})
}
