package loadtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	tail := " S 1 1234 1234 0 -1 4194560 1432 0 0 0 %d %d 0 0 20 0 9 0 123 456789 1234 18446744073709551615\n"
	cases := []struct {
		name string
		stat string
		want time.Duration
		bad  bool
	}{
		{"plain", "1234 (ledgersim)" + fmt.Sprintf(tail, 250, 50), 3 * time.Second, false},
		{"spaces and parentheses in the name", "1234 (a b) (c) d)" + fmt.Sprintf(tail, 7, 3), 100 * time.Millisecond, false},
		{"zero", "1 (x)" + fmt.Sprintf(tail, 0, 0), 0, false},
		{"no name", "1234 ledgersim S 1 2 3", 0, true},
		{"too short", "1234 (x) S 1 2 3 4 5", 0, true},
		{"not a number", "1 (x)" + strings.Replace(fmt.Sprintf(tail, 1, 2), " 1 2 0 0 20", " one 2 0 0 20", 1), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(c.stat))
			if c.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestProcCPUReadsThisProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	src := ProcCPU(os.Getpid())
	a, err := src.CPU(context.Background())
	require.NoError(t, err)
	// Burn some CPU so that the second reading, in 10 ms ticks, moves.
	deadline := time.Now().Add(100 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	b, err := src.CPU(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, b, a)
	assert.Contains(t, src.String(), fmt.Sprint(os.Getpid()))

	_, err = ProcCPU(1 << 30).CPU(context.Background())
	require.Error(t, err, "a process that does not exist")
}

func TestListenInodes(t *testing.T) {
	t.Parallel()
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2113 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2113 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 00000000:2114 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`
	assert.Equal(t, []string{"111"}, listenInodes([]byte(table), 0x2113), "only the listening socket, not the connection")
	assert.Equal(t, []string{"333"}, listenInodes([]byte(table), 0x2114))
	assert.Empty(t, listenInodes([]byte(table), 80))
	assert.Empty(t, listenInodes(nil, 80))
}

func TestListenerPIDFindsThisProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/net/tcp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	pid, err := ListenerPID(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)

	addr := ln.Addr().String()
	ln.Close()
	_, err = ListenerPID(addr)
	require.ErrorContains(t, err, "nothing listens")
	_, err = ListenerPID("192.0.2.1:8583")
	require.ErrorContains(t, err, "not this host")
	_, err = ListenerPID("no port")
	require.Error(t, err)
}

func TestParseProcessCPUSeconds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text string
		want       float64
		bad        bool
	}{
		{"plain", "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.34\n", 12.34, false},
		{"after other metrics", "go_goroutines 9\nprocess_cpu_seconds_total_other 1\nprocess_cpu_seconds_total 3e+00\n", 3, false},
		{"labels and timestamp", `process_cpu_seconds_total{instance="a"} 7.5 1700000000000` + "\n", 7.5, false},
		{"missing", "go_goroutines 9\n", 0, true},
		{"not a number", "process_cpu_seconds_total abc\n", 0, true},
		{"negative", "process_cpu_seconds_total -1\n", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseProcessCPUSeconds(strings.NewReader(c.text))
			if c.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, c.want, got, 1e-9)
		})
	}
}

func TestMetricsCPU(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 42.5\n")
	}))
	defer srv.Close()
	got, err := MetricsCPU(srv.URL+"/metrics", nil).CPU(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 42500*time.Millisecond, got)
	_, err = MetricsCPU(srv.URL+"/nothing", nil).CPU(context.Background())
	require.ErrorContains(t, err, "404")
}

// TestRunReportsCPU runs against an in-process sink with the server's CPU
// read from /proc: both figures are reported, per message sent, and
// shown in the text and HTML reports.
func TestRunReportsCPU(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	pid, err := ListenerPID(sink.Addr())
	require.NoError(t, err)
	res, err := Run(context.Background(), Config{
		Target: sink.Addr(), Conns: 2, Rate: 2000, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Cards: SyntheticCards(10, 1), ServerCPU: ProcCPU(pid),
	}, nil)
	require.NoError(t, err)
	require.Positive(t, res.Sent)
	for _, u := range []CPUUse{res.GeneratorCPU, res.ServerCPU} {
		assert.NotEmpty(t, u.Source)
		assert.Empty(t, u.Error)
		assert.GreaterOrEqual(t, u.Seconds, 0.0)
		assert.InDelta(t, u.Seconds*1e6/float64(res.Sent), u.MicrosPerMessage, 1e-6)
	}
	assert.Positive(t, res.GeneratorCPU.Seconds, "getrusage counts in microseconds; sending a thousand requests takes some")
	assert.Contains(t, res.ServerCPU.Source, fmt.Sprintf("pid %d", pid))

	var text strings.Builder
	res.WriteText(&text)
	assert.Contains(t, text.String(), "CPU per message sent: generator ")
	assert.Contains(t, text.String(), fmt.Sprintf("pid %d (/proc)", pid))
	var html strings.Builder
	require.NoError(t, WriteHTML(&html, res))
	assert.Contains(t, html.String(), "µs per message sent")

	// Without a server source, the server's figure says so.
	res.ServerCPU = CPUUse{}
	text.Reset()
	res.WriteText(&text)
	assert.Contains(t, text.String(), "server not measured")
}
