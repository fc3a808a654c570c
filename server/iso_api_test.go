package server_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583/specs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/server"
)

// TestISOSpecEndpoint: GET /v1/iso/spec is a moov-io JSON spec that
// specs.ImportJSON loads, and messages packed with it are understood.
func TestISOSpecEndpoint(t *testing.T) {
	h := startISO(t, server.Config{})
	r := h.Must(200, "GET", "/v1/iso/spec", nil)
	require.Contains(t, r.Header.Get("Content-Type"), "json")
	spec, err := specs.ImportJSON(r.Body)
	require.NoError(t, err)
	for _, id := range []int{2, 3, 4, 7, 11, 14, 18, 37, 38, 39, 41, 42, 43, 48, 49, 54, 70, 90, 95} {
		require.Contains(t, spec.Fields, id, "DE %d is defined", id)
	}
	h.Must(401, "GET", "/v1/iso/spec", nil, "Api-Key", "")

	c := h.fundedCard(10_000, nil)
	f := h.purchase(c, 1250)
	// The imported spec packs exactly as the server's own.
	imported, err := isoBuild(spec, "0100", f)
	require.NoError(t, err)
	own, err := isoBuild(iso.Spec(), "0100", f)
	require.NoError(t, err)
	a, err := imported.Pack()
	require.NoError(t, err)
	b, err := own.Pack()
	require.NoError(t, err)
	require.Equal(t, string(b), string(a))
	require.Equal(t, "0100", string(a[:4]))
	require.Equal(t, "723C440108E18000", string(a[4:20]), "a 16-character primary bitmap, no secondary one")

	// A client that knows only the published spec talks to the server.
	conn, err := connection.New(h.Server.ISOAddr(), spec, isoLengthReader, isoLengthWriter,
		connection.SendTimeout(isoHangTimeout), connection.ConnectTimeout(isoHangTimeout),
		connection.SetRequestIDGenerator(stanRRNMatcher{}))
	require.NoError(t, err)
	require.NoError(t, conn.Connect())
	defer conn.Close()
	rep, err := isoExchangeMsg(conn, imported)
	require.NoError(t, err)
	h.requireApproved(rep, "0110")
	stan, _ := h.next()
	echo, err := isoBuild(spec, "0800", isoFields{7: isoDE7, 11: stan, 70: "301"})
	require.NoError(t, err)
	packed, err := echo.Pack()
	require.NoError(t, err)
	require.Equal(t, "08008220000000000000"+"0400000000000000", string(packed[:36]), "DE 70 brings the secondary bitmap")
	rep, err = isoExchangeMsg(conn, echo)
	require.NoError(t, err)
	require.Equal(t, "0810", rep.MTI)
	require.Equal(t, "00", rep.Code)
}

func multipartFile(t *testing.T, name string, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = part.Write(content)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// TestISOTransactionsAPI reads, filters, pages and annotates transactions
// created over ISO 8583.
func TestISOTransactionsAPI(t *testing.T) {
	h := startISO(t, server.Config{})
	userID, agentID := h.newAgent(100_000)
	c := h.newCard(agentID, nil)
	other := h.newCard(agentID, map[string]any{"maxAmount": 100})

	orig := h.purchase(c, 1250)
	auth := h.send("0100", orig)
	h.requireApproved(auth, "0110")
	authID := isoStr(h.lastTxn(c.ID), "id")
	h.requireReply(h.send("0100", h.purchase(other, 101)), "0110", "61")
	declID := isoStr(h.lastTxn(other.ID), "id")
	h.requireApproved(h.send("0100", h.purchase(other, 50)), "0110")
	openID := isoStr(h.lastTxn(other.ID), "id")
	rev := h.purchase(other, 60)
	h.requireApproved(h.send("0100", rev), "0110")
	revID := isoStr(h.lastTxn(other.ID), "id")
	h.requireApproved(h.send("0400", h.followUp(rev, 60)), "0410")

	h.run(t, "fields of an authorization and of its clearing", func(t *testing.T) {
		tx := h.txn(authID)
		want := map[string]any{
			"object": "transaction", "id": authID, "cardId": c.ID, "userId": userID, "agentId": agentID,
			"type": "purchase", "status": "authorized", "amount": 1250.0, "authorizedAmount": 1250.0,
			"pendingAmount": 1250.0, "currency": "USD", "merchantName": "ACME GROCERY", "merchantId": "MERCHANT0000001",
			"merchantCity": "SPRINGFIELD", "merchantCountry": "US", "merchantCategoryCode": "5411",
			"merchantCategory": "5411", "merchantCategoryName": "Grocery Stores", "responseCode": "00",
			"authorizationCode": auth.AuthCode, "source": "iso", "stan": orig[11], "rrn": orig[37],
			"settledAt": nil, "notes": nil, "category": nil, "receiptUrl": nil,
		}
		for k, v := range want {
			require.Equal(t, v, tx[k], k)
		}
		require.NotContains(t, tx, "declinedReason")
		require.NotNil(t, tx["authorizedAt"])
		require.Equal(t, []any{}, tx["tags"])
		for k := range tx {
			require.NotContains(t, strings.ToLower(k), "pan", "no card data in a transaction")
		}
		require.NotContains(t, string(h.Must(200, "GET", "/v1/transactions/"+authID, nil).Body), c.PAN)

		h.requireApproved(h.send("0220", h.followUp(orig, 1300)), "0230")
		tx = h.txn(authID)
		require.Equal(t, "completed", tx["status"])
		require.EqualValues(t, 1300, tx["amount"])
		require.EqualValues(t, 1250, tx["authorizedAmount"])
		require.EqualValues(t, 0, tx["pendingAmount"])
		require.NotNil(t, tx["settledAt"])
		require.Equal(t, tx["settledAt"], tx["postedAt"])
	})
	h.run(t, "a decline carries its declinedReason and no approval code", func(t *testing.T) {
		tx := h.txn(declID)
		require.Equal(t, "declined", tx["status"])
		require.Equal(t, "61", tx["responseCode"])
		require.Equal(t, "spending_limit_exceeded", tx["declinedReason"])
		require.Nil(t, tx["authorizationCode"])
		require.EqualValues(t, 0, tx["pendingAmount"])
	})
	h.run(t, "filters", func(t *testing.T) {
		ids := func(query string) []string {
			var out []string
			for _, tx := range h.txns(query) {
				out = append(out, isoStr(tx, "id"))
			}
			return out
		}
		require.Equal(t, []string{authID}, ids("cardId="+c.ID))
		require.Equal(t, []string{revID, openID, declID}, ids("cardId="+other.ID), "newest first")
		require.ElementsMatch(t, []string{authID, declID, openID, revID}, ids("userId="+userID))
		require.ElementsMatch(t, []string{authID, declID, openID, revID}, ids("agentId="+agentID))
		require.Equal(t, []string{openID}, ids("userId="+userID+"&status=authorized"))
		require.Equal(t, []string{openID}, ids("agentId="+agentID+"&status=pending"), "pending is authorized")
		require.Equal(t, []string{authID}, ids("userId="+userID+"&status=completed"))
		require.Equal(t, []string{declID}, ids("cardId="+other.ID+"&status=declined"))
		require.Equal(t, []string{revID}, ids("userId="+userID+"&status=reversed"))
		require.Equal(t, "status", h.Must(400, "GET", "/v1/transactions?status=settled", nil).ErrParam())
		var cardTxns []string
		for _, tx := range h.Must(200, "GET", "/v1/cards/"+other.ID+"/transactions", nil).Data() {
			cardTxns = append(cardTxns, isoStr(tx, "id"))
		}
		require.Equal(t, []string{revID, openID, declID}, cardTxns)
		h.Must(404, "GET", "/v1/cards/card_unknown/transactions", nil)
	})
	h.run(t, "pagination", func(t *testing.T) {
		p := h.newCard(agentID, nil)
		var want []string
		for i := 0; i < 5; i++ {
			h.requireApproved(h.send("0100", h.purchase(p, int64(10+i))), "0110")
			want = append([]string{isoStr(h.lastTxn(p.ID), "id")}, want...)
		}
		var got []string
		cursor := ""
		pages := 0
		for {
			path := "/v1/transactions?limit=2&cardId=" + p.ID
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := h.Must(200, "GET", path, nil)
			pages++
			require.LessOrEqual(t, len(r.Data()), 2)
			for _, tx := range r.Data() {
				got = append(got, isoStr(tx, "id"))
			}
			if r.JSON["hasMore"] != true {
				require.Nil(t, r.JSON["cursor"])
				break
			}
			cursor = r.Str("cursor")
			require.NotEmpty(t, cursor)
		}
		require.Equal(t, want, got)
		require.Equal(t, 3, pages)
		require.Equal(t, "limit", h.Must(400, "GET", "/v1/transactions?limit=101", nil).ErrParam())
		require.Equal(t, "limit", h.Must(400, "GET", "/v1/transactions?limit=0", nil).ErrParam())
	})
	h.run(t, "PATCH notes, tags and category; null removes", func(t *testing.T) {
		r := h.Must(200, "PATCH", "/v1/transactions/"+openID, map[string]any{"notes": "team lunch", "tags": []string{"food", "q3"}, "category": "meals"})
		require.Equal(t, "team lunch", r.Str("notes"))
		require.Equal(t, []any{"food", "q3"}, r.JSON["tags"])
		require.Equal(t, "meals", r.Str("category"))
		got := h.txn(openID)
		require.Equal(t, "team lunch", got["notes"])
		require.Equal(t, "authorized", got["status"], "metadata leaves the money alone")
		require.EqualValues(t, 50, got["pendingAmount"])
		r = h.Must(200, "PATCH", "/v1/transactions/"+openID, map[string]any{"notes": nil, "tags": nil})
		require.Nil(t, r.JSON["notes"])
		require.Equal(t, []any{}, r.JSON["tags"])
		require.Equal(t, "meals", r.Str("category"), "fields not sent are unchanged")
		r = h.Must(200, "PATCH", "/v1/transactions/"+openID, map[string]any{"category": nil})
		require.Nil(t, r.JSON["category"])
		require.Equal(t, "amount", h.Must(400, "PATCH", "/v1/transactions/"+openID, map[string]any{"amount": 1}).ErrParam())
		h.Must(404, "PATCH", "/v1/transactions/txn_unknown", map[string]any{"notes": "x"})
	})
	h.run(t, "receipts", func(t *testing.T) {
		path := "/v1/transactions/" + declID + "/receipt"
		files := []struct {
			name, mime string
			content    []byte
		}{
			{"r.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)},
			{"r.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj\n")},
			{"r.jpg", "image/jpeg", append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{2}, 50)...)},
		}
		for _, f := range files {
			body, ct := multipartFile(t, f.name, f.content)
			r := h.Must(200, "PUT", path, body, "Content-Type", ct)
			rec, _ := r.JSON["receipt"].(map[string]any)
			require.Equal(t, true, rec["hasReceipt"], f.name)
			require.Equal(t, f.mime, rec["mimeType"])
			require.EqualValues(t, len(f.content), rec["sizeBytes"])
			require.Equal(t, f.name, rec["fileName"])
			require.Equal(t, path, r.Str("receiptUrl"))
			g := h.Must(200, "GET", path, nil)
			require.Equal(t, f.mime, g.Header.Get("Content-Type"))
			require.Equal(t, f.content, g.Body)
		}
		body, ct := multipartFile(t, "notes.txt", []byte("just some text"))
		require.Equal(t, "file", h.Must(400, "PUT", path, body, "Content-Type", ct).ErrParam())

		png := []byte("\x89PNG\r\n\x1a\n")
		max := append(append([]byte{}, png...), make([]byte, 10<<20-len(png))...)
		body, ct = multipartFile(t, "max.png", max)
		r := h.Must(200, "PUT", path, body, "Content-Type", ct)
		require.EqualValues(t, 10<<20, r.JSON["receipt"].(map[string]any)["sizeBytes"], "10 MiB is allowed")
		body, ct = multipartFile(t, "big.png", append(max, 0))
		require.Equal(t, "body_too_large", h.Must(413, "PUT", path, body, "Content-Type", ct).ErrCode())

		r = h.Must(200, "PUT", path, map[string]any{"url": "https://receipts.example.com/r/1"})
		require.Equal(t, "https://receipts.example.com/r/1", r.Str("receiptUrl"))
		g := h.Must(200, "GET", path, nil)
		require.Equal(t, "receipt", g.Str("object"))
		require.Equal(t, "https://receipts.example.com/r/1", g.Str("url"))
		require.Equal(t, declID, g.Str("transactionId"))
		require.Equal(t, "url", h.Must(400, "PUT", path, map[string]any{"url": "ftp://x"}).ErrParam())

		r = h.Must(200, "DELETE", path, nil)
		require.Equal(t, false, r.JSON["receipt"].(map[string]any)["hasReceipt"])
		require.Nil(t, r.JSON["receiptUrl"])
		h.Must(404, "GET", path, nil)
		h.Must(404, "PUT", "/v1/transactions/txn_unknown/receipt", map[string]any{"url": "https://x.example.com"})
	})
	h.run(t, "notes survive a clearing", func(t *testing.T) {
		o := h.purchase(other, 40)
		h.requireApproved(h.send("0100", o), "0110")
		id := isoStr(h.lastTxn(other.ID), "id")
		h.Must(200, "PATCH", "/v1/transactions/"+id, map[string]any{"notes": fmt.Sprintf("n-%s", id)})
		h.requireApproved(h.send("0220", h.followUp(o, 40)), "0230")
		tx := h.txn(id)
		require.Equal(t, "completed", tx["status"])
		require.Equal(t, "n-"+id, tx["notes"])
	})
}
