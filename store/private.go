package store

import (
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Modes of everything the store writes on disk: its files hold webhook
// secrets and personal data, so they are the owner's alone.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// privateFS is the real filesystem with the modes of what Pebble creates
// forced to FileMode and DirMode. Pebble creates files 0666 and directories
// as asked, minus the umask; with umask 000 that leaves them readable by
// everyone, so the mode is set after creation, whatever the umask.
type privateFS struct{ vfs.FS }

func (p privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.Create(name, category)
	return p.private(f, name, err)
}

func (p privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := p.FS.OpenReadWrite(name, category, opts...)
	return p.private(f, name, err)
}

func (p privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.ReuseForWrite(oldname, newname, category)
	return p.private(f, newname, err)
}

func (p privateFS) Lock(name string) (io.Closer, error) {
	c, err := p.FS.Lock(name)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, FileMode); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error {
	if err := p.FS.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return os.Chmod(dir, DirMode)
}

func (p privateFS) private(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, FileMode); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
