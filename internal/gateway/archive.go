package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// Archive is a gateway's append-only raw-frame archive (reading.FrameRecord
// lines in daily files). Append writes and syncs a record before it returns;
// concurrent appends share one write and one fsync (group commit), so the
// archive costs one sync per burst, not one per frame.
type Archive struct {
	dir string

	mu      sync.Mutex
	pending []*archiveWrite
	writing bool
	day     string
	f       *os.File
	closed  bool
}

type archiveWrite struct {
	rec  *reading.FrameRecord
	line []byte
	done chan error
}

// OpenArchive opens (creating it) the archive directory.
func OpenArchive(dir string) (*Archive, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("frame archive %s: %w", dir, err)
	}
	return &Archive{dir: dir}, nil
}

// Dir is the archive's directory.
func (a *Archive) Dir() string { return a.dir }

// Append adds a record and returns once it is synced to disk.
func (a *Archive) Append(rec *reading.FrameRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	w := &archiveWrite{rec: rec, line: append(line, '\n'), done: make(chan error, 1)}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("frame archive closed")
	}
	a.pending = append(a.pending, w)
	if !a.writing {
		a.writing = true
		go a.flush()
	}
	a.mu.Unlock()
	return <-w.done
}

// flush writes what is pending, one batch at a time, until nothing is.
func (a *Archive) flush() {
	for {
		a.mu.Lock()
		batch := a.pending
		a.pending = nil
		if len(batch) == 0 {
			a.writing = false
			a.mu.Unlock()
			return
		}
		err := a.writeBatch(batch)
		a.mu.Unlock()
		for _, w := range batch {
			w.done <- err
		}
	}
}

// writeBatch appends a batch to the file of its day (by receive time, UTC)
// and syncs it. It runs with a.mu held.
func (a *Archive) writeBatch(batch []*archiveWrite) error {
	byDay := map[string][]byte{}
	var days []string
	for _, w := range batch {
		d := w.rec.Received.UTC().Format(time.DateOnly)
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], w.line...)
	}
	for _, d := range days {
		if a.f == nil || a.day != d {
			if a.f != nil {
				a.f.Close()
			}
			f, err := os.OpenFile(filepath.Join(a.dir, "frames-"+d+".jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
			if err != nil {
				a.f = nil
				return fmt.Errorf("frame archive: %w", err)
			}
			a.f, a.day = f, d
		}
		if _, err := a.f.Write(byDay[d]); err != nil {
			return fmt.Errorf("frame archive: %w", err)
		}
		if err := a.f.Sync(); err != nil {
			return fmt.Errorf("frame archive: %w", err)
		}
	}
	return nil
}

// Close closes the archive's file; later appends fail.
func (a *Archive) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.f != nil {
		err := a.f.Close()
		a.f = nil
		return err
	}
	return nil
}

// ScanArchive calls fn for every record in an archive directory, in order
// (verify.ScanFrames: the auditor reads the archive with the same code).
func ScanArchive(dir string, fn func(*reading.FrameRecord) error) error {
	return verify.ScanFrames(os.DirFS(dir), fn)
}
