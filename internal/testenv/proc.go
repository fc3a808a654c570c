package testenv

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BuildBinary builds the ledgersim binary once per test process.
func BuildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledgersim-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		builtPath = filepath.Join(dir, "ledgersim")
		out, err := exec.Command("go", "build", "-o", builtPath, "github.com/ledgersim/ledgersim/cmd/ledgersim").CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	require.NoError(t, buildErr)
	return builtPath
}

var (
	buildOnce sync.Once
	builtDir  string
	builtPath string
	buildErr  error
)

// RemoveBinary deletes what BuildBinary built. The binary is shared by
// every test of the process, so no single test can remove it: a package
// that builds it calls this from TestMain after m.Run.
func RemoveBinary() {
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Proc is a ledgersim server running as its own process.
type Proc struct {
	Cmd      *exec.Cmd
	HTTPAddr string
	ISOAddr  string
	logs     chan string
	// readDone closes when stderr reaches EOF. exec.Cmd.Wait closes the
	// pipe as soon as the process exits, so waiting before the reader is
	// done can drop the last log lines (the orderly-stop line among them).
	readDone chan struct{}
}

// StartProc runs `ledgersim serve` with args (plus loopback addresses) and
// waits for it to report its listeners.
func StartProc(t testing.TB, bin, dataDir string, args ...string) *Proc {
	t.Helper()
	all := append([]string{"serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--iso-addr", "127.0.0.1:0", "--api-key", APIKey}, args...)
	cmd := exec.Command(bin, all...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &Proc{Cmd: cmd, logs: make(chan string, 1024), readDone: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "ledgersim serving" {
				p.HTTPAddr, _ = rec["http"].(string)
				p.ISOAddr, _ = rec["iso"].(string)
				once.Do(func() { close(ready) })
			}
			select {
			case p.logs <- sc.Text():
			default:
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("server process did not report ready")
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// Kill sends SIGKILL and reaps the process.
func (p *Proc) Kill() {
	if p.Cmd.ProcessState != nil {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	_ = p.Wait()
}

// Wait reads the process's log to its end and then reaps the process, so
// Logs afterwards holds every line it wrote.
func (p *Proc) Wait() error {
	<-p.readDone
	return p.Cmd.Wait()
}

// Logs returns the log lines read so far (up to the buffer's size).
func (p *Proc) Logs() []string {
	var out []string
	for {
		select {
		case l := <-p.logs:
			out = append(out, l)
		default:
			return out
		}
	}
}
