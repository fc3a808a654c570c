package api

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawPost sends a request's head on a new connection and returns the
// connection, for tests that write the body themselves.
func (e *idemEnv) rawPost(path, head string) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nApi-Key: %s\r\nContent-Type: application/json\r\n%s\r\n", path, whTestKey, head)
	require.NoError(e.t, err)
	return conn
}

func readReply(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res, string(raw)
}

// TestBodyReadStopsAtTheBound: a chunked body (no Content-Length to refuse
// it by) that goes past the bound is answered 413 as soon as the bound is
// passed, while the client is still sending: the server reads no further
// and closes the connection.
func TestBodyReadStopsAtTheBound(t *testing.T) {
	for _, path := range []string{"/v1/users", "/v1/simulate/reversal", "/v1/no/such/route"} {
		t.Run(path, func(t *testing.T) {
			e := newIdemEnv(t)
			conn := e.rawPost(path, "Transfer-Encoding: chunked\r\n")
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			// Past 1 MiB by one chunk, and the body never ends.
			for range MaxBodyBytes/len(chunk) + 1 {
				_, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
				require.NoError(t, err)
			}
			res, raw := readReply(t, conn)
			require.Equal(t, 413, res.StatusCode, raw)
			require.Contains(t, raw, `"code":"body_too_large"`)
			require.True(t, res.Close, "the connection is closed, not read to the body's end")
		})
	}
}

// TestBodyBoundFromContentLength: a declared length past the bound is
// refused before any of the body is read, on every route but the upload.
func TestBodyBoundFromContentLength(t *testing.T) {
	e := newIdemEnv(t)
	conn := e.rawPost("/v1/users", fmt.Sprintf("Content-Length: %d\r\n", MaxBodyBytes+1))
	res, raw := readReply(t, conn)
	require.Equal(t, 413, res.StatusCode, raw)
	require.Contains(t, raw, `"code":"body_too_large"`)
}

// TestBodyBoundsAreConfigurable: MaxBodyBytes bounds JSON routes and
// MaxUploadBytes the receipt upload, which alone reads past MaxBodyBytes.
func TestBodyBoundsAreConfigurable(t *testing.T) {
	e := newIdemEnvWith(t, func(c *Config) { c.MaxBodyBytes, c.MaxUploadBytes = 4<<10, 32<<10 })
	small := `{"firstName":"a","lastName":"b","email":"a@example.com"}`
	require.Equal(t, 201, e.do("POST", "/v1/users", small).status)
	big := `{"firstName":"` + strings.Repeat("x", 4<<10) + `","lastName":"b","email":"b@example.com"}`
	r := e.do("POST", "/v1/users", big)
	require.Equal(t, 413, r.status, "%s", r.raw)

	txn := e.authorization(300)
	upload := func(size int) *idemResp {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, err := w.CreateFormFile("file", "r.pdf")
		require.NoError(t, err)
		_, _ = part.Write(append([]byte("%PDF-"), bytes.Repeat([]byte("x"), size-5)...))
		require.NoError(t, w.Close())
		return e.do("PUT", "/v1/transactions/"+txn+"/receipt", body.String(), "Content-Type", w.FormDataContentType())
	}
	r = upload(16 << 10) // past MaxBodyBytes, within MaxUploadBytes
	require.Equal(t, 200, r.status, "%s", r.raw)
	require.EqualValues(t, 16<<10, r.json["receipt"].(map[string]any)["sizeBytes"])
	r = upload(32<<10 + 1)
	require.Equal(t, 413, r.status, "%s", r.raw)

	_, err := New(Config{Ledger: e.a.l, APIKeyHash: []byte("x"), MaxBodyBytes: 10})
	require.Error(t, err, "a bound below 1 KiB is refused")
}
