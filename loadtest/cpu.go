package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPUSource reads one process's cumulative CPU time, user and system.
// Run reads it when the measured period starts and when the schedule
// ends, and reports the difference per request sent (Result.ServerCPU).
type CPUSource interface {
	// CPU returns the process's CPU time so far.
	CPU(ctx context.Context) (time.Duration, error)
	// String names the source in reports.
	String() string
}

// userHz is the unit of the CPU times in /proc/<pid>/stat. The kernel
// reports them in USER_HZ, which is 100 on every Linux architecture Go
// runs on (it is part of the ABI, whatever the kernel's own HZ).
const userHz = 100

// ProcCPU reads process pid's CPU time from /proc/<pid>/stat: the server
// under test when it runs on the same host.
func ProcCPU(pid int) CPUSource { return procCPU{root: "/proc", pid: pid} }

type procCPU struct {
	root string
	pid  int
}

func (p procCPU) String() string { return fmt.Sprintf("pid %d (/proc)", p.pid) }

func (p procCPU) CPU(context.Context) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("loadtest: cpu of pid %d: %w", p.pid, err)
	}
	d, err := parseProcStat(b)
	if err != nil {
		return 0, fmt.Errorf("loadtest: cpu of pid %d: %w", p.pid, err)
	}
	return d, nil
}

// parseProcStat returns utime + stime from the contents of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so fields are counted from the last
// closing parenthesis: after it come state (field 3) and, eleven fields
// on, utime (14) and stime (15).
func parseProcStat(b []byte) (time.Duration, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat: too few fields")
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("malformed /proc stat: cpu time %q", v)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / userHz), nil
}

// MetricsCPU reads process_cpu_seconds_total from a Prometheus text
// exposition at url (a server's /metrics), for a server whose /proc the
// generator cannot see. client nil means a client with a 5 s timeout.
func MetricsCPU(url string, client *http.Client) CPUSource {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return metricsCPU{url: url, client: client}
}

type metricsCPU struct {
	url    string
	client *http.Client
}

func (m metricsCPU) String() string { return m.url + " (process_cpu_seconds_total)" }

func (m metricsCPU) CPU(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return 0, fmt.Errorf("loadtest: cpu from %s: %w", m.url, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("loadtest: cpu from metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("loadtest: cpu from %s: status %d", m.url, resp.StatusCode)
	}
	secs, err := parseProcessCPUSeconds(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, fmt.Errorf("loadtest: cpu from %s: %w", m.url, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseProcessCPUSeconds finds process_cpu_seconds_total in a Prometheus
// text exposition.
func parseProcessCPUSeconds(r io.Reader) (float64, error) {
	const name = "process_cpu_seconds_total"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{' && rest[0] != '\t') {
			continue
		}
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return 0, errors.New("malformed " + name + " line")
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, errors.New("malformed " + name + " line")
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("malformed %s value %q", name, f[0])
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no " + name + " in the metrics")
}

// ListenerPID finds the process on this host that listens on addr's TCP
// port, from /proc/net/tcp and /proc/net/tcp6 (the listening socket's
// inode) and /proc/*/fd (which process holds it). It sees only processes
// whose descriptors this user may read. An address whose host is not this
// machine's is refused: its listener is elsewhere.
func ListenerPID(addr string) (int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("loadtest: find listener: %w", err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("loadtest: find listener: port %q", portStr)
	}
	if !isLocalHost(host) {
		return 0, fmt.Errorf("loadtest: find listener: %s is not this host", host)
	}
	return findListenerPID("/proc", uint16(port))
}

func findListenerPID(root string, port uint16) (int, error) {
	var inodes []string
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(root, "net", name))
		if err != nil {
			continue
		}
		inodes = append(inodes, listenInodes(b, port)...)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("loadtest: find listener: nothing listens on port %d", port)
	}
	want := map[string]bool{}
	for _, in := range inodes {
		want["socket:["+in+"]"] = true
	}
	procs, err := os.ReadDir(root)
	if err != nil {
		return 0, fmt.Errorf("loadtest: find listener: %w", err)
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(root, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && want[link] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("loadtest: find listener: no readable process holds the socket listening on port %d", port)
}

// tcpListen is the state column's value for a listening socket.
const tcpListen = "0A"

// listenInodes returns the inodes of the sockets listening on port in
// the contents of /proc/net/tcp or /proc/net/tcp6. Each line after the
// header reads "sl local rem st tx:rx tr:when retrnsmt uid timeout inode
// ...", the local address as hex IP:hex port.
func listenInodes(b []byte, port uint16) []string {
	var out []string
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[min(1, len(lines)):] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil || uint16(p) != port {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// isLocalHost reports whether host names this machine: a loopback or
// unspecified address, "localhost", or an address of one of its
// interfaces.
func isLocalHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
