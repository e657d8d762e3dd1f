package ledger

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/verify"
)

// writeTo is a Backup put function that writes into dir.
func writeTo(dir string) func(string, []byte, fs.FileMode) error {
	return func(name string, data []byte, mode fs.FileMode) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, mode)
	}
}

// TestBackupUnderLoad: copies taken while entries are appended in small
// batches (so partial tiles are outgrown and garbage-collected during the
// copy) each audit clean against their checkpoint; a log opened on the last
// copy has exactly the copied entries, continues from there and publishes a
// checkpoint that audits clean.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, testOptions(dir))
	meters := newTestMeters(t, 6)
	var mu sync.Mutex
	all := populate(t, l, meters, 3)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var appended atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := meters[w] // one meter per appender keeps each chain in order
				batch := make([][]byte, 1+(i+w)%7)
				for j := range batch {
					batch[j] = m.next(t)
				}
				idx, err := l.Append(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for j, e := range batch {
					all[idx[j]] = e
				}
				mu.Unlock()
				appended.Add(int64(len(batch)))
			}
		}(w)
	}
	logKey, err := note.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	var last string
	var lastInfo BackupInfo
	for round := 0; round < 8; round++ {
		time.Sleep(150 * time.Millisecond)
		cp := t.TempDir()
		info, err := Backup(dir, writeTo(cp))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if info.CheckpointSize == 0 || info.TreeSize < info.CheckpointSize {
			t.Fatalf("round %d: %+v", round, info)
		}
		f, err := verify.NewFetcher(cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: logKey})
		if err != nil || rep.Failed(false) || rep.Entries != info.CheckpointSize {
			t.Fatalf("round %d (%+v): audit %v %+v", round, info, err, rep)
		}
		last, lastInfo = cp, info
	}
	close(stop)
	wg.Wait()
	if appended.Load() < 300 {
		t.Fatalf("only %d entries appended during the backups", appended.Load())
	}
	t.Logf("%d entries appended during 8 backups; last copy %+v", appended.Load(), lastInfo)

	r := openTestLog(t, testOptions(last))
	size, err := r.Size(ctx)
	if err != nil || size != lastInfo.TreeSize {
		t.Fatalf("restored size %d (%v), want %d", size, err, lastInfo.TreeSize)
	}
	mu.Lock()
	for i := uint64(0); i < size; i++ {
		e, err := r.Entry(ctx, i)
		if err != nil || string(e) != string(all[i]) {
			mu.Unlock()
			t.Fatalf("restored entry %d differs: %v", i, err)
		}
	}
	mu.Unlock()
	idx, err := r.Append(ctx, [][]byte{meters[0].next(t)})
	if err != nil || idx[0] != size {
		t.Fatalf("append to the restored log: %v %v", idx, err)
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.AwaitPublished(actx, idx[0]); err != nil {
		t.Fatal(err)
	}
	f, _ := verify.NewFetcher(last, nil)
	rep, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: logKey})
	// The source's meters went on past the copy, so the one new reading
	// skips seqs: a gap, not a problem.
	if err != nil || rep.ProblemCount != 0 || rep.Entries != size+1 {
		t.Fatalf("restored log after an append: %v %+v", err, rep)
	}
}

// TestBackupResources: the tiles and bundles of small trees, and cutting a
// wider bundle down.
func TestBackupResources(t *testing.T) {
	if n := len(resources(0)); n != 0 {
		t.Errorf("size 0: %d resources", n)
	}
	got := resources(513)
	want := []resource{{-1, 0, 0}, {-1, 1, 0}, {-1, 2, 1}, {0, 0, 0}, {0, 1, 0}, {0, 2, 1}, {1, 0, 2}}
	if len(got) != len(want) {
		t.Fatalf("size 513: %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("size 513 resource %d: %v, want %v", i, got[i], want[i])
		}
	}
	bundle := []byte{0, 1, 'a', 0, 2, 'b', 'c', 0, 0}
	b, err := resource{level: -1, p: 2}.prefix(bundle)
	if err != nil || string(b) != "\x00\x01a\x00\x02bc" {
		t.Errorf("bundle prefix %q %v", b, err)
	}
	if _, err := (resource{level: -1, p: 4}).prefix(bundle); err == nil {
		t.Error("a 3-entry bundle cut to 4 entries")
	}
	if _, err := (resource{level: 0, p: 2}).prefix(make([]byte, 40)); err == nil {
		t.Error("a 40-byte tile cut to 2 hashes")
	}
}

// TestBackupReadOutgrown: a partial bundle or tile that tessera has
// garbage-collected is cut from the full one, or from the widest partial
// when there is no full one yet.
func TestBackupReadOutgrown(t *testing.T) {
	root := t.TempDir()
	bundle := []byte{0, 1, 'a', 0, 2, 'b', 'c', 0, 1, 'd'}
	put := writeTo(root)
	if err := put("tile/entries/000", bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := put("tile/0/000.p/5", make([]byte, 5*32), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := put("tile/0/000.p/3", make([]byte, 3*32), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := resource{level: -1, p: 2}.read(root)
	if err != nil || string(b) != "\x00\x01a\x00\x02bc" {
		t.Errorf("bundle of 2 from the full one: %q %v", b, err)
	}
	b, err = resource{level: 0, p: 4}.read(root)
	if err != nil || len(b) != 4*32 {
		t.Errorf("tile of 4 from the partial of 5: %d bytes %v", len(b), err)
	}
	if _, err := (resource{level: 0, p: 6}).read(root); err == nil {
		t.Error("a tile of 6 made from partials of 5 and 3")
	}
	if _, err := (resource{level: 0, index: 1}).read(root); err == nil {
		t.Error("a missing full tile read")
	}
}
