package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the browser test's screenshot to docs/dashboard.png")

// findChromium returns a Chromium or Chrome binary: LEDGERSIM_CHROMIUM when
// set, else the first of the usual names on PATH. .ci/run installs Debian's
// chromium package when none is there.
func findChromium() (string, error) {
	if p := os.Getenv("LEDGERSIM_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of chromium, chromium-browser, google-chrome, headless-shell is on PATH")
}

// browser starts a headless Chromium with a fresh profile. The flags keep it
// off the network: without them it looks up update, sync and field-trial
// servers and stalls on a machine that has no route out.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin, err := findChromium()
	if err != nil {
		t.Skipf("no Chromium to drive (%v); install Debian's chromium package (.ci/run does) or set LEDGERSIM_CHROMIUM", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1500),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// One bound for the whole run: a stalled browser fails the test rather
	// than hanging it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// until waits for a JavaScript condition on the page.
func until(cond string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", cond, err)
		}
		return chromedp.Void{}, nil
	}
}

// textOf is the JavaScript for the text of the first element matching sel.
func textOf(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? "")`, sel)
}

func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
}

// press clicks a button in a table row. The tables are redrawn every few
// seconds, so a node found by one protocol call may be gone by the next;
// finding and clicking it in one step of the page's own loop cannot miss.
func press(sel string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const b = document.querySelector(%q); if (!b) return false; b.click(); return true; })()`, sel))
}

func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), v)
}

// TestDashboardInBrowser drives the page in a real Chromium: a wrong key
// shows the API's 401, the API key opens the dashboard, and a purchase is
// made with its buttons (approve KYC, deposit, declare an intent, read the
// card details, authorize, see the intent matched, clear, advance the
// clock), with an API error shown on the page along the way. The card number
// appears only in the card-details view.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	e := testenv.Start(t, server.Config{Clock: "virtual"})

	// A wrong key: the API's 401 message on the sign-in form, nothing kept.
	do(ctx, t,
		chromedp.Navigate(e.Base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#key"), chromedp.NodeVisible),
		setValue("#key", "lk_test_this_is_not_the_key"),
		click("#login-btn"),
		until(textOf("#login-error")+` === "401 invalid_api_key: Invalid API key."`),
		until(`document.querySelector("#app").hidden && sessionStorage.getItem("ledgersim.apiKey") === null`),
	)

	// The API key; the user starts unverified.
	user := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}).Str("id")
	row := func(table, id string) string { return fmt.Sprintf(`%s tbody tr[data-id=%q]`, table, id) }
	do(ctx, t,
		setValue("#key", testenv.APIKey),
		click("#login-btn"),
		chromedp.WaitVisible(chromedp.CSS("#app"), chromedp.NodeVisible),
		until(`sessionStorage.getItem("ledgersim.apiKey") !== null`),
		until(textOf(row("#users", user)+` [data-field=status]`)+` === "pending"`),
		press(row("#users", user)+` button[data-action=kyc]`),
		until(textOf(row("#users", user)+` [data-field=status]`)+` === "approved"`),
		setValue("#deposit-amount", "500"),
		press(row("#users", user)+` button[data-action=deposit]`),
		until(textOf(row("#users", user)+` [data-field=available]`)+` === "$500.00"`),
	)

	// A receiver for webhooks, so the delivery log has something to show.
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer rcv.Close()
	hook := e.Must(201, "POST", "/v1/webhooks", map[string]any{"url": rcv.URL + "/hooks", "events": []string{"transaction.authorized", "transaction.declined"}}).Str("id")

	// Agents and cards need an approved user; the dashboard shows them.
	reg := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": user, "name": "checkout-bot"})
	agent, token := reg.Str("id"), reg.Str("token")
	card := e.Must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "Buy headphones", "type": "single",
		"maxAmount": 20_000, "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}).Str("id")
	do(ctx, t,
		until(`document.querySelector(`+fmt.Sprintf("%q", row("#agents", agent))+`) !== null`),
		until(textOf(row("#cards", card)+` [data-field=status]`)+` === "active"`),
		press(row("#cards", card)+` button[data-action=open]`),
		chromedp.WaitVisible(chromedp.CSS("#card"), chromedp.NodeVisible),
		until(`!document.querySelector("#details-form").hidden`),
		// Declare what the card is for, then read its details.
		setValue("#intent-summary", "Sony WH-1000XM5"),
		setValue("#intent-amount", "149.99"),
		setValue("#intent-merchant", "Amazon"),
		click("#intent-btn"),
		until(textOf("#intents tbody tr [data-field=status]")+` === "pending"`),
	)
	// No card number anywhere before the explicit details read.
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotRegexp(t, `\d{13,19}`, html)

	do(ctx, t,
		setValue("#details-summary", "Buy Sony WH-1000XM5 headphones"),
		click("#details-btn"),
		chromedp.WaitVisible(chromedp.CSS("#details-view"), chromedp.NodeVisible),
		until(`/^\d{4}( \d{4}){3}$/.test(`+textOf("#details-pan")+`) && /^\d{3}$/.test(`+textOf("#details-cvv")+`)`),
	)
	pan, err := chromedp.Run(ctx, chromedp.Evaluate[string](textOf("#details-pan")))
	require.NoError(t, err)
	pan = strings.ReplaceAll(pan, " ", "")
	do(ctx, t, click("#details-hide"),
		until(`document.querySelector("#details-view").hidden && `+textOf("#details-pan")+` === ""`))
	html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, pan, "the number is gone once the view is hidden")
	require.NotContains(t, html, pan[len(pan)-8:])

	// The purchase: authorize at the merchant, the intent matches, clear.
	do(ctx, t,
		setValue("#auth-amount", "149.99"),
		setValue("#auth-merchant", "AMZN Mktp US"),
		click("#authorize-btn"),
		until(textOf("#txns tbody tr [data-field=status]")+` === "authorized"`),
		until(textOf("#intents tbody tr [data-field=status]")+` === "matched"`),
		until(textOf("#intents tbody tr [data-field=match]")+`.startsWith("amount ✓")`),
		until(textOf("#messages")+`.includes("approved ($149.99)")`),
		// The counters saw it.
		until(textOf("#auth-total")+` === "1"`),
		until(textOf(`#deliveries tbody tr td:nth-child(3)`)+` === "transaction.authorized"`),
		until(textOf(`#deliveries tbody tr td:nth-child(5)`)+` === "succeeded"`),
		until(`document.querySelector(`+fmt.Sprintf("%q", row("#endpoints", hook))+`) !== null`),
		press("#txns tbody tr button[data-action=clear]"),
		until(textOf("#txns tbody tr [data-field=status]")+` === "completed"`),
		until(textOf(row("#users", user)+` [data-field=available]`)+` === "$350.01"`),
	)

	// A second authorization on the used single-use card is declined, and
	// the counters show why.
	do(ctx, t,
		click("#authorize-btn"),
		until(textOf("#messages")+`.includes(" declined: ")`),
		until(textOf("#decline-total")+` === "1"`),
		until(`document.querySelectorAll("#reasons tbody tr[data-reason]").length === 1`),
	)

	// An API error is a message on the page; then the clock moves.
	do(ctx, t,
		setValue("#advance-minutes", "0"),
		click("#advance-btn"),
		until(textOf("#messages")+`.includes("400 parameter_invalid")`),
		setValue("#advance-minutes", "90"),
		click("#advance-btn"),
		until(textOf("#messages")+`.includes("The clock is now")`),
	)
	html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, pan)

	if *updateScreenshot {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile("../docs/dashboard.png", shot, 0o644))
	}

	// The agent's own token: its cards and transactions, none of the
	// organization's users, agents, counters or simulate buttons.
	do(ctx, t,
		click("#signout"),
		chromedp.WaitVisible(chromedp.CSS("#key"), chromedp.NodeVisible),
		setValue("#key", token),
		click("#login-btn"),
		until(textOf("#mode")+` === "agent token"`),
		until(`document.querySelector("#stats").hidden && document.querySelector("#users").hidden && document.querySelector("#webhooks").hidden`),
		until(textOf("#transactions tbody tr td:nth-child(2)")+` === `+fmt.Sprintf("%q", card)),
		until(textOf(row("#cards", card)+` [data-field=status]`)+` !== ""`),
		press(row("#cards", card)+` button[data-action=open]`),
		until(`document.querySelectorAll("#txns tbody tr[data-id]").length === 2`),
		until(`document.querySelector("#authorize-form").hidden && document.querySelectorAll("#txns button").length === 0`),
	)
	html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, pan)
}

// do runs steps and, when one fails, reports what the page was saying.
func do(ctx context.Context, t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	err := chromedp.Do(ctx, steps...)
	if err == nil {
		return
	}
	said, _ := chromedp.Run(ctx, chromedp.Evaluate[string](textOf("#messages")+` + " | " + `+textOf("#login-error")))
	t.Fatalf("%v\npage messages: %s", err, said)
}
