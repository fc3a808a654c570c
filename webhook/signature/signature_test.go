package signature_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/webhook/signature"
)

var (
	t0   = time.Unix(1_750_000_000, 0)
	body = []byte(`{"id":"evt_1","object":"event","type":"card.created","createdAt":1750000000000,"data":{}}`)
)

func TestSignMatchesTheDocumentedScheme(t *testing.T) {
	// A fixed vector, also checkable with
	//   printf '1750000000.{}' | openssl dgst -sha256 -hmac whsec_test
	// so receivers in other languages can test their code against it.
	h := signature.Sign("whsec_test", t0, []byte("{}"))
	require.Equal(t, "t=1750000000,v1=1624ed6eb073685be5cae1bcf200d57c2051b23aad907b6a2d9e045e2b2951da", h)
	require.NoError(t, signature.Verify(h, []byte("{}"), []string{"whsec_test"}, t0, time.Minute))
}

func TestVerify(t *testing.T) {
	good := signature.Sign("whsec_a", t0, body)
	rotation := signature.SignAll([]string{"whsec_new", "whsec_old"}, t0, body)
	cases := []struct {
		name    string
		header  string
		body    []byte
		secrets []string
		now     time.Time
		want    error
	}{
		{"valid", good, body, []string{"whsec_a"}, t0, nil},
		{"valid with skew inside tolerance", good, body, []string{"whsec_a"}, t0.Add(4 * time.Minute), nil},
		{"receiver clock behind", good, body, []string{"whsec_a"}, t0.Add(-4 * time.Minute), nil},
		{"second of two secrets", good, body, []string{"whsec_other", "whsec_a"}, t0, nil},
		{"rotation: old secret", rotation, body, []string{"whsec_old"}, t0, nil},
		{"rotation: new secret", rotation, body, []string{"whsec_new"}, t0, nil},
		{"spaces around parts", strings.ReplaceAll(good, ",", " , "), body, []string{"whsec_a"}, t0, nil},
		{"unknown scheme ignored", good + ",v0=zz", body, []string{"whsec_a"}, t0, nil},
		{"empty header", "", body, []string{"whsec_a"}, t0, signature.ErrNoSignature},
		{"no v1", "t=1750000000", body, []string{"whsec_a"}, t0, signature.ErrNoSignature},
		{"only other schemes", "t=1750000000,v0=abc", body, []string{"whsec_a"}, t0, signature.ErrNoSignature},
		{"no t", "v1=" + strings.Repeat("a", 64), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"two t", "t=1,t=2,v1=" + strings.Repeat("a", 64), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"t not a number", "t=abc,v1=" + strings.Repeat("a", 64), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"negative t", "t=-5,v1=" + strings.Repeat("a", 64), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"v1 not hex", "t=1750000000,v1=" + strings.Repeat("z", 64), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"v1 short", "t=1750000000,v1=abcd", body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"part without =", "t=1750000000,v1", body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"too many v1", "t=1750000000" + strings.Repeat(",v1="+strings.Repeat("a", 64), signature.MaxSignatures+1), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"too long", "t=1750000000,x=" + strings.Repeat("a", signature.MaxHeaderBytes), body, []string{"whsec_a"}, t0, signature.ErrBadFormat},
		{"too old", good, body, []string{"whsec_a"}, t0.Add(6 * time.Minute), signature.ErrTooOld},
		{"too far ahead", good, body, []string{"whsec_a"}, t0.Add(-6 * time.Minute), signature.ErrTooOld},
		{"wrong secret", good, body, []string{"whsec_b"}, t0, signature.ErrMismatch},
		{"no secrets", good, body, nil, t0, signature.ErrMismatch},
		{"body changed", good, append([]byte{' '}, body...), []string{"whsec_a"}, t0, signature.ErrMismatch},
		{"timestamp changed", strings.Replace(good, "t=1750000000", "t=1750000001", 1), body, []string{"whsec_a"}, t0, signature.ErrMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := signature.Verify(c.header, c.body, c.secrets, c.now, signature.DefaultTolerance)
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, c.want)
		})
	}
}

func TestVerifyWithoutTolerance(t *testing.T) {
	h := signature.Sign("whsec_a", t0, body)
	require.NoError(t, signature.Verify(h, body, []string{"whsec_a"}, t0.Add(1000*time.Hour), 0))
}

func TestErrorsDoNotEchoInputs(t *testing.T) {
	secret := "whsec_supersecretvalue"
	h := signature.Sign(secret, t0, body)
	for _, hdr := range []string{h, "t=1,v1=" + strings.Repeat("f", 64), "garbage=" + secret} {
		err := signature.Verify(hdr, body, []string{"whsec_wrong"}, t0, time.Minute)
		require.Error(t, err)
		for _, leak := range []string{secret, "whsec_wrong", string(body), hdr} {
			require.NotContains(t, err.Error(), leak)
		}
		require.True(t, errors.Is(err, signature.ErrMismatch) || errors.Is(err, signature.ErrTooOld) || errors.Is(err, signature.ErrBadFormat))
	}
}
