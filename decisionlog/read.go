package decisionlog

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// ReadDir reads the segment log in dir without opening it: it changes
// nothing on disk, takes no lock and may run beside the process that
// writes the log (a check reading a live data directory). It calls fn with
// every record from the first segment on, in order, up to upTo (0: to the
// end), and stops at the first frame that is not the next record, as Open
// would (a torn or still-unwritten tail). A segment that does not start
// where the one before it ended is reported as an error. It returns the
// LSN of the first record it read (0 when none).
func ReadDir(fs vfs.FS, dir string, upTo LSN, fn func(lsn LSN, rec []byte) error) (first LSN, err error) {
	names, err := fs.List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("decisionlog: list %s: %w", dir, err)
	}
	var segs []LSN
	for _, n := range names {
		if lsn, ok := parseSegmentName(n); ok {
			segs = append(segs, lsn)
		}
	}
	slices.Sort(segs)
	errDone := errors.New("done")
	next := LSN(0)
	for _, seg := range segs {
		if next != 0 && seg != next {
			if seg < next {
				continue // a recycled or stale segment name below what was read
			}
			return first, fmt.Errorf("decisionlog: %s: segment %s follows a segment that ended before LSN %d", dir, segmentName(seg), next)
		}
		f, err := fs.Open(fs.PathJoin(dir, segmentName(seg)))
		if err != nil {
			return first, fmt.Errorf("decisionlog: open %s: %w", segmentName(seg), err)
		}
		ended := seg
		err = readFrames(f, seg, func(lsn LSN, rec []byte, _ int64) error {
			if upTo != 0 && lsn > upTo {
				return errDone
			}
			if first == 0 {
				first = lsn
			}
			ended = lsn + 1
			return fn(lsn, rec)
		})
		_ = f.Close()
		if errors.Is(err, errDone) {
			return first, nil
		}
		if err != nil {
			return first, err
		}
		if ended == seg {
			// An empty segment (the newest, not yet written): the end.
			return first, nil
		}
		next = ended
	}
	return first, nil
}
