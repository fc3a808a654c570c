package signature_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ledgersim/ledgersim/webhook/signature"
)

// A receiver's handler: read the raw body (bounded), verify it against the
// endpoint's secret(s) before parsing it, and answer 2xx quickly.
func Example() {
	secrets := []string{"whsec_example"} // during a rotation, list both

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		err = signature.Verify(r.Header.Get(signature.Header), body, secrets, time.Now(), signature.DefaultTolerance)
		if err != nil {
			// Do not log the header or the body; the error names only the kind
			// of failure.
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified", r.Header.Get("X-Ledger-Event-Type"))
		w.WriteHeader(http.StatusNoContent)
	})

	// What ledgersim sends (simulated here with httptest).
	body := []byte(`{"id":"evt_01","object":"event","type":"card.created","createdAt":1750000000000,"data":{"cardId":"card_01"}}`)
	req := httptest.NewRequest("POST", "/webhooks/ledger", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ledger-Event-Type", "card.created")
	req.Header.Set(signature.Header, signature.Sign("whsec_example", time.Now(), body))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// A tampered body is refused.
	req = httptest.NewRequest("POST", "/webhooks/ledger", bytes.NewReader([]byte(`{"id":"evt_02"}`)))
	req.Header.Set(signature.Header, signature.Sign("whsec_example", time.Now(), body))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// Output:
	// verified card.created
	// 204
	// 401
}
