package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Report file names inside the --out directory.
const (
	ReportJSON    = "report.json"
	ReportHTML    = "report.html"
	ApprovalsJSON = "approvals.json"
)

// WriteReport writes a result into dir (created if needed): report.json
// (the Result without its approvals), approvals.json (the approvals, which
// can run to hundreds of thousands) and report.html, a self-contained page
// with the latency and throughput charts.
func WriteReport(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	summary := *res
	summary.Approvals = nil
	if err := writeJSONFile(filepath.Join(dir, ReportJSON), &summary); err != nil {
		return err
	}
	approvals := res.Approvals
	if approvals == nil {
		approvals = []Approval{}
	}
	if err := writeJSONFile(filepath.Join(dir, ApprovalsJSON), approvals); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, ReportHTML))
	if err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	if err := WriteHTML(f, res); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("loadtest: report: encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	return nil
}

// Chart geometry, in SVG user units.
const (
	chartW     = 900
	chartH     = 300
	chartLeft  = 70
	chartRight = 20
	chartTop   = 20
	chartBot   = 40
)

type chartLine struct {
	Name   string
	Color  string
	Points string
}

type chartTick struct {
	Pos   float64
	Label string
}

type chartView struct {
	Title        string
	YLabel       string
	W, H         int
	Left, Top    int
	PlotW, PlotH int
	Bottom       int // y of the x axis
	Lines        []chartLine
	XTicks       []chartTick
	YTicks       []chartTick
	WarmupW      float64 // width of the shaded warmup band
}

// buildChart scales series of values (one per second) into SVG polylines.
func buildChart(title, ylabel string, secs []int, warmupSecs int, lines []chartLine, values [][]float64, yfmt func(float64) string) chartView {
	cv := chartView{Title: title, YLabel: ylabel, W: chartW, H: chartH, Left: chartLeft, Top: chartTop,
		PlotW: chartW - chartLeft - chartRight, PlotH: chartH - chartTop - chartBot, Bottom: chartH - chartBot}
	ymax := 0.0
	for _, vs := range values {
		for _, v := range vs {
			ymax = max(ymax, v)
		}
	}
	ymax = niceCeil(ymax)
	// The x axis runs from the start of the run to the end of its last
	// whole second; each value is drawn in the middle of its second.
	span := 1.0
	if n := len(secs); n > 0 {
		span = float64(secs[n-1] + 1)
	}
	xOf := func(t float64) float64 { return float64(cv.Left) + t/span*float64(cv.PlotW) }
	yOf := func(v float64) float64 { return float64(cv.Bottom) - v/ymax*float64(cv.PlotH) }
	for li := range lines {
		var b strings.Builder
		for i, v := range values[li] {
			fmt.Fprintf(&b, "%.1f,%.1f ", xOf(float64(secs[i])+0.5), yOf(v))
		}
		lines[li].Points = strings.TrimSpace(b.String())
	}
	cv.Lines = lines
	for k := 0; k <= 4; k++ {
		v := ymax * float64(k) / 4
		cv.YTicks = append(cv.YTicks, chartTick{Pos: yOf(v), Label: yfmt(v)})
	}
	step := max(1, int(span)/10)
	for t := 0; t <= int(span); t += step {
		cv.XTicks = append(cv.XTicks, chartTick{Pos: xOf(float64(t)), Label: fmt.Sprintf("%ds", t)})
	}
	if warmupSecs > 0 {
		cv.WarmupW = min(xOf(float64(warmupSecs))-float64(cv.Left), float64(cv.PlotW))
	}
	return cv
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so axis labels are
// round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for p > v {
		p /= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

type reportView struct {
	R          *Result
	Generated  string
	Latency    chartView
	Throughput chartView
	Rows       []SecondStats
	Codes      []kv
	Kinds      []kindRow
	SeriesJSON template.JS
}

type kv struct {
	K string
	V int64
}

type kindRow struct {
	Name  string
	K     KindResult
	Codes string
}

// WriteHTML writes the self-contained HTML report: inline CSS and SVG, the
// series embedded as JSON, no external resources.
func WriteHTML(w io.Writer, res *Result) error {
	// A partial last second would show as a drop in throughput that did
	// not happen; the charts leave it out (the table keeps it).
	var secs []int
	var p50, p99, offered, achieved, failed []float64
	warmup := 0
	for _, s := range res.Series {
		if s.Partial {
			continue
		}
		secs = append(secs, s.Second)
		p50 = append(p50, float64(s.P50)/1e6)
		p99 = append(p99, float64(s.P99)/1e6)
		offered = append(offered, float64(s.Offered))
		achieved = append(achieved, float64(s.Replies))
		failed = append(failed, float64(s.Timeouts+s.Errors))
		if s.Warmup {
			warmup++
		}
	}
	msFmt := func(v float64) string { return fmt.Sprintf("%.3g ms", v) }
	rateFmt := func(v float64) string { return fmt.Sprintf("%.0f/s", v) }
	seriesJSON, err := json.Marshal(res.Series)
	if err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	view := reportView{
		R:         res,
		Generated: time.Now().UTC().Format(time.RFC3339),
		Latency: buildChart("Latency from due time, per second", "ms", secs, warmup,
			[]chartLine{{Name: "p50", Color: "#1f77b4"}, {Name: "p99", Color: "#d62728"}}, [][]float64{p50, p99}, msFmt),
		Throughput: buildChart("Throughput, per second", "requests/s", secs, warmup,
			[]chartLine{{Name: "offered", Color: "#7f7f7f"}, {Name: "achieved (replies)", Color: "#2ca02c"}, {Name: "timeouts + errors", Color: "#d62728"}},
			[][]float64{offered, achieved, failed}, rateFmt),
		Rows: res.Series,
		// encoding/json escapes <, > and &, so the JSON cannot end the
		// script element it sits in.
		SeriesJSON: template.JS(seriesJSON), // #nosec G203 -- JSON from encoding/json, HTML-safe.
	}
	for k, v := range res.Codes {
		view.Codes = append(view.Codes, kv{k, v})
	}
	sort.Slice(view.Codes, func(i, j int) bool { return view.Codes[i].K < view.Codes[j].K })
	for _, name := range kindNames {
		if k, ok := res.Kinds[name]; ok && k.Offered > 0 {
			view.Kinds = append(view.Kinds, kindRow{Name: name, K: k, Codes: formatCodes(k.Codes)})
		}
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, view); err != nil {
		return fmt.Errorf("loadtest: report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) },
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2": func(v float64) string { return fmt.Sprintf("%.2f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ledgersim load test {{.R.RunID}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
.legend span { display: inline-block; margin-right: 16px; } .sw { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
details { margin-top: 16px; }
.warn { color: #8a1c00; font-weight: 600; }
</style>
</head>
<body>
<h1>ledgersim load test {{.R.RunID}}</h1>
<p>Target {{.R.Target}} ({{.R.Framing}}), {{.R.Conns}} connections, {{f0 .R.RatePerSec}}/s {{.R.Arrivals}} arrivals,
{{.R.Duration}} measured after {{.R.Warmup}} warmup, timeout {{.R.Timeout}}, {{.R.Cards}} cards, seed {{.R.Seed}}.<br>
Mix {{.R.Mix}}{{if .R.IntentsAsAuth}} (no intents: the intent share was sent as auth){{end}}. Started {{.R.StartedAt.Format "2006-01-02 15:04:05 UTC"}}; report generated {{.Generated}}.</p>

<h2>Summary</h2>
<table>
<tr><th>offered</th><th>sent</th><th>replies</th><th>throughput</th><th>timeouts</th><th>errors</th><th>unexpected codes</th><th>late replies</th><th>reconnects</th></tr>
<tr><td>{{.R.Offered}} ({{f0 .R.OfferedPerSec}}/s)</td><td>{{.R.Sent}}</td><td>{{.R.Replies}}</td><td>{{f0 .R.ThroughputPerSec}}/s</td>
<td>{{.R.Timeouts}} (unsent {{.R.TimeoutsUnsent}})</td><td>{{.R.Errors}}</td><td>{{.R.Unexpected}}</td><td>{{.R.LateReplies}}</td><td>{{.R.Reconnects}}</td></tr>
</table>
<h2>Latency from due time (ms)</h2>
<table>
<tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th><th>count</th></tr>
<tr><td>reply</td><td>{{ms .R.Latency.P50}}</td><td>{{ms .R.Latency.P90}}</td><td>{{ms .R.Latency.P99}}</td><td>{{ms .R.Latency.P999}}</td><td>{{ms .R.Latency.Max}}</td><td>{{ms .R.Latency.Mean}}</td><td>{{.R.Latency.Count}}</td></tr>
<tr><td>send to reply (ignores queueing; comparison only)</td><td>{{ms .R.ServiceTime.P50}}</td><td>{{ms .R.ServiceTime.P90}}</td><td>{{ms .R.ServiceTime.P99}}</td><td>{{ms .R.ServiceTime.P999}}</td><td>{{ms .R.ServiceTime.Max}}</td><td>{{ms .R.ServiceTime.Mean}}</td><td>{{.R.ServiceTime.Count}}</td></tr>
<tr><td>generator send lag</td><td>{{ms .R.SendLag.P50}}</td><td>{{ms .R.SendLag.P90}}</td><td>{{ms .R.SendLag.P99}}</td><td>{{ms .R.SendLag.P999}}</td><td>{{ms .R.SendLag.Max}}</td><td>{{ms .R.SendLag.Mean}}</td><td>{{.R.SendLag.Count}}</td></tr>
<tr><td>generator clock lag (per wake-up; the generator's own)</td><td>{{ms .R.PacerLag.P50}}</td><td>{{ms .R.PacerLag.P90}}</td><td>{{ms .R.PacerLag.P99}}</td><td>{{ms .R.PacerLag.P999}}</td><td>{{ms .R.PacerLag.Max}}</td><td>{{ms .R.PacerLag.Mean}}</td><td>{{.R.PacerLag.Count}}</td></tr>
</table>
{{with .R.PauseWarning}}<p class="warn">Warning: {{.}}.</p>{{end}}

<h2>CPU over the measured period</h2>
<table>
<tr><th></th><th>µs per message sent</th><th>cores</th><th>seconds</th><th>source</th></tr>
<tr><td>generator</td>{{template "cpu" .R.GeneratorCPU}}</tr>
<tr><td>server</td>{{template "cpu" .R.ServerCPU}}</tr>
</table>

{{template "chart" .Latency}}
{{template "chart" .Throughput}}

<h2>Response codes</h2>
<table><tr>{{range .Codes}}<th>{{.K}}</th>{{end}}</tr><tr>{{range .Codes}}<td>{{.V}}</td>{{end}}</tr></table>

<h2>By kind</h2>
<table>
<tr><th>kind</th><th>offered</th><th>replies</th><th>timeouts</th><th>errors</th><th>expected</th><th>unexpected</th><th>codes</th></tr>
{{range .Kinds}}<tr><td>{{.Name}}</td><td>{{.K.Offered}}</td><td>{{.K.Replies}}</td><td>{{.K.Timeouts}}</td><td>{{.K.Errors}}</td><td>{{.K.Expected}}</td><td>{{.K.Unexpected}}</td><td>{{.Codes}}</td></tr>
{{end}}</table>

<details><summary>Per-second series</summary>
<table>
<tr><th>second</th><th>offered</th><th>sent</th><th>replies</th><th>timeouts</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>send lag max ms</th></tr>
{{range .Rows}}<tr><td>{{.Second}}{{if .Warmup}} (warmup){{end}}{{if .Partial}} (partial){{end}}</td><td>{{.Offered}}</td><td>{{.Sent}}</td><td>{{.Replies}}</td><td>{{.Timeouts}}</td><td>{{.Errors}}</td><td>{{ms .P50}}</td><td>{{ms .P99}}</td><td>{{ms .Max}}</td><td>{{ms .SendLagMax}}</td></tr>
{{end}}</table>
</details>
<script type="application/json" id="series">{{.SeriesJSON}}</script>
</body>
</html>
{{define "cpu"}}{{if and .Source (not .Error)}}<td>{{f1 .MicrosPerMessage}}</td><td>{{f2 .Cores}}</td><td>{{f2 .Seconds}}</td><td>{{.Source}}</td>{{else}}<td colspan="4">not measured{{with .Error}}: {{.}}{{end}}</td>{{end}}{{end}}
{{define "chart"}}
<h2>{{.Title}}</h2>
<div class="legend">{{range .Lines}}<span><span class="sw" style="background: {{.Color}}"></span>{{.Name}}</span>{{end}}</div>
<svg width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}">
{{if .WarmupW}}<rect x="{{.Left}}" y="{{.Top}}" width="{{.WarmupW}}" height="{{.PlotH}}" fill="#f2f2f2"></rect><text x="{{.Left}}" y="{{.Top}}" dy="-4">warmup</text>{{end}}
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.W}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#e5e5e5"></line><text x="{{$.Left}}" y="{{.Pos}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$.Bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>
{{end}}<line x1="{{.Left}}" x2="{{.Left}}" y1="{{.Top}}" y2="{{.Bottom}}" stroke="#888"></line>
<line x1="{{.Left}}" x2="{{.W}}" y1="{{.Bottom}}" y2="{{.Bottom}}" stroke="#888"></line>
{{range .Lines}}<polyline fill="none" stroke="{{.Color}}" stroke-width="1.5" points="{{.Points}}"></polyline>
{{end}}</svg>
{{end}}`))
