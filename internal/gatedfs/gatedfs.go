// Package gatedfs is an in-memory filesystem for tests whose WAL syncs can
// be held, or made to fail (Fail): while the gate is closed, a sync of a .log file waits for it to
// open, and each sync that starts waiting is announced on Waiting. It lets a
// test look at a server or ledger while a change is applied but not yet
// durable, and check that nothing is acknowledged before the sync.
//
//	fs := gatedfs.New()
//	open := fs.Hold()
//	... start a change; <-fs.Waiting: its sync has begun ...
//	open() // the sync completes
package gatedfs

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// FS is the gated filesystem. It is safe for concurrent use.
type FS struct {
	vfs.FS
	gate atomic.Pointer[chan struct{}]
	// fail, when set, is what syncs of the .log files under its directory
	// return from then on: a disk that stopped taking writes.
	fail atomic.Pointer[failure]
	// Waiting receives a value (without blocking the sync: it holds one)
	// when a sync starts waiting at the closed gate.
	Waiting chan struct{}
}

// New returns an open gate over an empty in-memory filesystem.
func New() *FS { return &FS{FS: vfs.NewMem(), Waiting: make(chan struct{}, 1)} }

// Hold closes the gate; the returned func opens it again (once, however
// often it is called).
func (g *FS) Hold() (open func()) {
	ch := make(chan struct{})
	g.gate.Store(&ch)
	return sync.OnceFunc(func() {
		g.gate.Store(nil)
		close(ch)
	})
}

type failure struct {
	dir string
	err error
}

// Fail makes every sync of a .log file under dir (a prefix of its path)
// return err from now on, as a disk that stopped taking writes would.
func (g *FS) Fail(dir string, err error) { g.fail.Store(&failure{dir: dir, err: err}) }

func (f *file) synced(err error) error {
	if fl := f.fs.fail.Load(); fl != nil && strings.HasPrefix(f.name, fl.dir) {
		return fl.err
	}
	return err
}

func (g *FS) wait() {
	if ch := g.gate.Load(); ch != nil {
		select {
		case g.Waiting <- struct{}{}:
		default:
		}
		<-*ch
	}
}

func (g *FS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &file{File: f, fs: g, name: name}, nil
}

// Create implements vfs.FS.
func (g *FS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.Create(name, c)
	return g.wrap(name, f, err)
}

// ReuseForWrite implements vfs.FS.
func (g *FS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := g.FS.ReuseForWrite(oldname, newname, c)
	return g.wrap(newname, f, err)
}

// OpenReadWrite implements vfs.FS.
func (g *FS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name, c, opts...)
	return g.wrap(name, f, err)
}

type file struct {
	vfs.File
	fs   *FS
	name string
}

func (f *file) Sync() error     { f.fs.wait(); return f.synced(f.File.Sync()) }
func (f *file) SyncData() error { f.fs.wait(); return f.synced(f.File.SyncData()) }
func (f *file) SyncTo(length int64) (bool, error) {
	f.fs.wait()
	full, err := f.File.SyncTo(length)
	return full, f.synced(err)
}
