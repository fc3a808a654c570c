package client_test

import (
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/webhook/signature"
)

func signHeader(t *testing.T, secret string, at time.Time, body []byte) string {
	t.Helper()
	return signature.Sign(secret, at, body)
}
