package signature_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/webhook/signature"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, must return nil or one of the four sentinels, and must accept a
// header that Sign made for the same body.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_750_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"card.created"}`)
	f.Add(signature.Sign("whsec_a", now, body), body, int64(0))
	f.Add(signature.SignAll([]string{"whsec_a", "whsec_b"}, now, body), body, int64(-30))
	f.Add("t=1750000000,v1=00", []byte("{}"), int64(400))
	f.Add("t=,v1=", []byte(nil), int64(0))
	f.Add(",,,", []byte("x"), int64(1))
	f.Add("t=99999999999999999999,v1=zz", []byte("x"), int64(0))
	f.Fuzz(func(t *testing.T, header string, b []byte, skewSec int64) {
		at := now.Add(time.Duration(skewSec%86400) * time.Second)
		err := signature.Verify(header, b, []string{"whsec_a", "whsec_b"}, at, signature.DefaultTolerance)
		if err != nil && !errors.Is(err, signature.ErrNoSignature) && !errors.Is(err, signature.ErrBadFormat) &&
			!errors.Is(err, signature.ErrTooOld) && !errors.Is(err, signature.ErrMismatch) {
			t.Fatalf("unexpected error type: %v", err)
		}
		signed := signature.Sign("whsec_b", at, b)
		if err := signature.Verify(signed, b, []string{"whsec_a", "whsec_b"}, at, signature.DefaultTolerance); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
	})
}
