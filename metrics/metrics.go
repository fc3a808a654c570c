package metrics

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledgersim/ledgersim/iso"
)

// MTIs whose message counts are resolved up front; anything else counts as
// "other", so a hostile peer cannot create label values.
var knownMTIs = []string{"0100", "0101", "0120", "0200", "0220", "0400", "0401", "0420", "0421", "0800", "other"}

// Response codes of the profile, plus "other".
var knownCodes = []string{"00", "05", "12", "13", "14", "25", "30", "51", "54", "57", "61", "62", "65", "82", "94", "96", "other"}

// Frame error reasons, created at zero so that the dashboard's panel shows
// 0 rather than "No data" before the first one.
var knownFrameReasons = []string{iso.ReasonOversize, iso.ReasonBadLength, iso.ReasonBadMTI, iso.ReasonTruncated,
	iso.ReasonReadTimeout, iso.ReasonFrameTimeout, iso.ReasonWriteTimeout, iso.ReasonShortTPDU}

// Webhook attempt outcomes (webhook.Attempt*), created at zero likewise.
var knownAttemptOutcomes = []string{"succeeded", "retrying", "exhausted", "gone"}

// Metrics holds every collector.
type Metrics struct {
	isoMessages   *prometheus.CounterVec
	isoByKey      [][]prometheus.Counter
	isoLatency    prometheus.Histogram
	isoInFlight   prometheus.Gauge
	isoConns      prometheus.Gauge
	isoConnsTotal prometheus.Counter
	isoFrameErrs  *prometheus.CounterVec
	isoRefused    prometheus.Counter

	commitLatency prometheus.Histogram
	commitBytes   prometheus.Histogram
	logSync       prometheus.Histogram
	logRecords    prometheus.Histogram

	matcher *prometheus.CounterVec

	webhookAttempts *prometheus.CounterVec
	webhookLatency  prometheus.Histogram
	webhookQueue    atomic.Pointer[func() int64]

	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec
	httpMu       sync.Mutex
	httpChildren map[httpKey]httpChild
}

type httpKey struct {
	route  string
	status int
}

type httpChild struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		isoMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgersim_iso_messages_total", Help: "ISO 8583 messages answered, by request MTI and response code (DE 39).",
		}, []string{"mti", "code"}),
		isoLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_iso_decision_duration_seconds", Help: "Time from reading an ISO 8583 request to writing its reply, durable sync included.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), // 50 µs .. 1.6 s
		}),
		isoInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledgersim_iso_inflight_requests", Help: "ISO 8583 requests read and not yet answered.",
		}),
		isoConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledgersim_iso_connections", Help: "Open ISO 8583 connections.",
		}),
		isoConnsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledgersim_iso_connections_total", Help: "ISO 8583 connections accepted.",
		}),
		isoFrameErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgersim_iso_frame_errors_total", Help: "ISO 8583 connections closed because of what the peer sent, did not send or did not read, by reason.",
		}, []string{"reason"}),
		isoRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledgersim_iso_connections_refused_total", Help: "ISO 8583 connections closed on accept because the connection limit was reached.",
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_store_commit_duration_seconds", Help: "Time from applying a batch to the WAL to its sync.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 16),
		}),
		commitBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_store_batch_size_bytes", Help: "Size of each synced batch.",
			Buckets: prometheus.ExponentialBuckets(64, 2, 14),
		}),
		logSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_decisionlog_sync_duration_seconds", Help: "Time each write and sync of the decision log took.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 16),
		}),
		logRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_decisionlog_sync_records", Help: "Decision records made durable by each sync of the decision log (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		matcher: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgersim_matcher_outcomes_total", Help: "Authorizations matched against pending intents, by outcome (matched, mismatched, none).",
		}, []string{"outcome"}),
		webhookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgersim_webhook_attempts_total", Help: "Webhook delivery attempts, by outcome (succeeded, retrying, exhausted, gone).",
		}, []string{"outcome"}),
		webhookLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgersim_webhook_attempt_duration_seconds", Help: "Time of one webhook delivery attempt, from connecting to reading the response.",
			Buckets: prometheus.ExponentialBuckets(1e-3, 2, 16), // 1 ms .. 33 s (attempts time out at 30 s)
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgersim_http_requests_total", Help: "HTTP API requests, by route pattern and status.",
		}, []string{"route", "status"}),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ledgersim_http_request_duration_seconds", Help: "HTTP API request time, by route pattern.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 2, 16),
		}, []string{"route"}),
		httpChildren: map[httpKey]httpChild{},
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledgersim_webhook_queue_depth", Help: "Webhook deliveries still to make, all endpoints together.",
	}, func() float64 {
		if f := m.webhookQueue.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	for _, c := range []prometheus.Collector{m.isoMessages, m.isoLatency, m.isoInFlight, m.isoConns, m.isoConnsTotal,
		m.isoFrameErrs, m.isoRefused, m.commitLatency, m.commitBytes, m.logSync, m.logRecords, m.matcher, m.webhookAttempts, m.webhookLatency, queue,
		m.httpRequests, m.httpLatency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.isoByKey = make([][]prometheus.Counter, len(knownMTIs))
	for i, mti := range knownMTIs {
		m.isoByKey[i] = make([]prometheus.Counter, len(knownCodes))
		for j, code := range knownCodes {
			m.isoByKey[i][j] = m.isoMessages.WithLabelValues(mti, code)
		}
	}
	// Every reason is there from the start, at zero, so a dashboard
	// shows 0 rather than no data.
	for _, r := range iso.CloseReasons() {
		m.isoFrameErrs.WithLabelValues(r)
	}
	for _, o := range []string{"matched", "mismatched", "none"} {
		m.matcher.WithLabelValues(o)
	}
	for _, r := range knownFrameReasons {
		m.isoFrameErrs.WithLabelValues(r)
	}
	for _, o := range knownAttemptOutcomes {
		m.webhookAttempts.WithLabelValues(o)
	}
	return m, nil
}

// WebhookAttempt counts one recorded webhook delivery attempt (for
// webhook.Config.OnAttempt).
func (m *Metrics) WebhookAttempt(outcome string, latency time.Duration) {
	m.webhookAttempts.WithLabelValues(outcome).Inc()
	m.webhookLatency.Observe(latency.Seconds())
}

// WebhookQueue sets where the queue depth gauge reads from.
func (m *Metrics) WebhookQueue(depth func() int64) { m.webhookQueue.Store(&depth) }

// HTTPRoutes creates the latency series of every route (method and
// pattern) at zero, and the request count of every GET route's 200, so
// that the dashboard lists them before any traffic.
func (m *Metrics) HTTPRoutes(routes []string) {
	for _, r := range routes {
		m.httpLatency.WithLabelValues(r)
		if strings.HasPrefix(r, "GET ") {
			m.httpRequests.WithLabelValues(r, "200")
		}
	}
}

func index(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return len(list) - 1 // "other"
}

// ISO returns the observer for the ISO 8583 listener.
func (m *Metrics) ISO() *ISOObserver { return &ISOObserver{m: m} }

// ISOObserver implements iso.Observer.
type ISOObserver struct{ m *Metrics }

// Message counts one reply and its latency.
func (o *ISOObserver) Message(mti, code string, elapsed time.Duration) {
	o.m.isoByKey[index(knownMTIs, mti)][index(knownCodes, code)].Inc()
	o.m.isoLatency.Observe(elapsed.Seconds())
}

// ConnOpened counts a connection.
func (o *ISOObserver) ConnOpened() { o.m.isoConns.Inc(); o.m.isoConnsTotal.Inc() }

// ConnClosed uncounts a connection.
func (o *ISOObserver) ConnClosed() { o.m.isoConns.Dec() }

// ConnRefused counts a connection refused at the connection limit.
func (o *ISOObserver) ConnRefused() { o.m.isoRefused.Inc() }

// FrameError counts a connection closed because of its peer.
func (o *ISOObserver) FrameError(reason string) { o.m.isoFrameErrs.WithLabelValues(reason).Inc() }

// InFlight moves the in-flight gauge.
func (o *ISOObserver) InFlight(delta int) { o.m.isoInFlight.Add(float64(delta)) }

// Commit records one synced store batch.
func (m *Metrics) Commit(elapsed time.Duration, bytes int) {
	m.commitLatency.Observe(elapsed.Seconds())
	m.commitBytes.Observe(float64(bytes))
}

// LogSync records one sync of the decision log and how many records it
// made durable.
func (m *Metrics) LogSync(elapsed time.Duration, records int) {
	m.logSync.Observe(elapsed.Seconds())
	m.logRecords.Observe(float64(records))
}

// IntentOutcome counts a matcher outcome: "matched", "mismatched" or
// "none" (the card had no pending intent).
func (m *Metrics) IntentOutcome(outcome string) { m.matcher.WithLabelValues(outcome).Inc() }

// HTTP records one API request by its route pattern (never its raw path,
// which would carry IDs).
func (m *Metrics) HTTP(route string, status int, elapsed time.Duration) {
	k := httpKey{route, status}
	m.httpMu.Lock()
	ch, ok := m.httpChildren[k]
	if !ok {
		ch = httpChild{m.httpRequests.WithLabelValues(route, strconv.Itoa(status)), m.httpLatency.WithLabelValues(route)}
		m.httpChildren[k] = ch
	}
	m.httpMu.Unlock()
	ch.count.Inc()
	ch.latency.Observe(elapsed.Seconds())
}
