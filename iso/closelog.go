package iso

import (
	"log/slog"
	"sync"
	"time"
)

// closeLog logs why connections are closed or refused at most once per
// reason per interval, so a flood of bad connections costs one line per
// reason, not one each. The first occurrence of a reason is logged at
// once; later ones within the interval are counted, and the next line
// for that reason says how many were left out. The Observer counts every
// occurrence regardless.
type closeLog struct {
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	reasons map[string]closeLogState // bounded: the reasons are constants
}

type closeLogState struct {
	logged     time.Time // when the last line for the reason was written
	suppressed int       // occurrences since then that were not logged
}

func newCloseLog(log *slog.Logger, every time.Duration) *closeLog {
	return &closeLog{log: log, every: every, reasons: make(map[string]closeLogState)}
}

// note logs msg for reason unless a line for the same reason was written
// less than an interval ago. args are extra attributes for the line.
func (l *closeLog) note(msg, reason, remote string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	st := l.reasons[reason]
	if !st.logged.IsZero() && now.Sub(st.logged) < l.every {
		st.suppressed++
		l.reasons[reason] = st
		l.mu.Unlock()
		return
	}
	l.reasons[reason] = closeLogState{logged: now}
	l.mu.Unlock()
	attrs := append([]any{"reason", reason, "remote", remote, "suppressed", st.suppressed, "log_interval", l.every}, args...)
	l.log.Warn(msg, attrs...)
}
