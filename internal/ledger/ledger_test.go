package ledger

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

func TestAppendReadBackAndReceipts(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := testOptions(t.TempDir())
	opts.Registerer = reg
	l := openTestLog(t, opts)
	ctx := context.Background()
	meters := newTestMeters(t, 4)
	all := populate(t, l, meters, 5)

	// Concurrent appends: every index is distinct and the whole range is dense.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(m *testMeter) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				e := m.next(t)
				idx, err := l.Append(ctx, [][]byte{e})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := all[idx[0]]; dup {
					t.Errorf("index %d returned twice", idx[0])
				}
				all[idx[0]] = e
				mu.Unlock()
			}
		}(meters[g%len(meters)])
	}
	wg.Wait()
	size, err := l.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if size != uint64(len(all)) {
		t.Fatalf("Size %d, appended %d", size, len(all))
	}
	got := 0
	err = l.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		if !bytes.Equal(e, all[i]) {
			t.Errorf("entry %d differs from what was appended", i)
		}
		got++
		return nil
	})
	if err != nil || got != len(all) {
		t.Fatalf("Entries: %d entries, err %v", got, err)
	}
	if err := l.Entries(ctx, 0, size+1, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrBeyondSize) {
		t.Fatalf("Entries beyond size: %v", err)
	}

	cp := awaitSize(t, l, size)
	logKey := mustVerifier(t, l.VerifierKey())
	c, err := verify.OpenCheckpoint(cp, logKey, nil, time.Now())
	if err != nil || c.Size < size {
		t.Fatalf("published checkpoint: %v (size %v)", err, c)
	}

	// A receipt for each kind of entry verifies with only public keys.
	byMeter := map[string]*testMeter{}
	for _, m := range meters {
		byMeter[m.id] = m
	}
	for _, i := range []uint64{0, 3, 4, size / 2, size - 1} {
		receipt, err := l.Proof(ctx, i)
		if err != nil {
			t.Fatalf("Proof(%d): %v", i, err)
		}
		keys := verify.ReceiptKeys{Log: logKey}
		if reading.Kind(all[i]) == reading.Header {
			r, _ := reading.Parse(all[i])
			keys.Meter = mustVerifier(t, byMeter[r.Meter].vkey)
		}
		rec, err := verify.VerifyReceipt(receipt, keys)
		if err != nil {
			t.Fatalf("receipt %d: %v\n%s", i, err, receipt)
		}
		if rec.Index != i || !bytes.Equal(rec.Entry, all[i]) {
			t.Fatalf("receipt %d carries index %d", i, rec.Index)
		}
	}
	if _, err := l.Proof(ctx, c.Size); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("Proof beyond the checkpoint: %v", err)
	}
	if n := gathered(t, reg, "shuixiao_ledger_append_entries_total"); n != float64(len(all)) {
		t.Errorf("append_entries_total %v, want %d", n, len(all))
	}
	if n := gathered(t, reg, "shuixiao_ledger_published_size"); n < float64(size) {
		t.Errorf("published_size %v, want at least %d", n, size)
	}
}

func TestAppendOrderAndValidation(t *testing.T) {
	l := openTestLog(t, testOptions(t.TempDir()))
	ctx := context.Background()
	m := newTestMeter(t, "HN-1")
	batch := make([][]byte, 300) // crosses an entry-bundle boundary
	for i := range batch {
		batch[i] = m.next(t)
	}
	idx, err := l.Append(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if !sort.SliceIsSorted(idx, func(i, j int) bool { return idx[i] < idx[j] }) || idx[len(idx)-1]-idx[0] != uint64(len(idx)-1) {
		t.Fatalf("indices of one Append are not consecutive and in order: %v…", idx[:5])
	}
	for _, tc := range []struct {
		name    string
		entries [][]byte
	}{
		{"empty entry", [][]byte{[]byte("x"), {}}},
		{"oversize entry", [][]byte{make([]byte, MaxEntrySize+1)}},
	} {
		if _, err := l.Append(ctx, tc.entries); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if idx, err := l.Append(ctx, nil); idx != nil || err != nil {
		t.Errorf("empty Append: %v %v", idx, err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, [][]byte{[]byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
}

func TestReopenKeepsKeyAndEntries(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := testOptions(dir)
	l, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, opts); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open of the same directory: %v", err)
	}
	vkey := l.VerifierKey()
	idx, err := l.Append(ctx, [][]byte{[]byte("one"), []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	cp1 := awaitSize(t, l, 2)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "log.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("log.key mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "log.vkey"))
	if strings.TrimSpace(string(pub)) != vkey {
		t.Fatalf("log.vkey %q, want %q", pub, vkey)
	}

	opts.Origin = "" // later starts may omit it
	l2 := openTestLog(t, opts)
	if l2.VerifierKey() != vkey || l2.Origin() != "test.shuixiao.local/ledger" {
		t.Fatalf("reopened with key %q origin %q", l2.VerifierKey(), l2.Origin())
	}
	e, err := l2.Entry(ctx, idx[1])
	if err != nil || string(e) != "two" {
		t.Fatalf("Entry after reopen: %q %v", e, err)
	}
	// Finding 6 of issue 13: the largest index wrapped to an empty read.
	for _, i := range []uint64{2, math.MaxUint64 - 1, math.MaxUint64} {
		if e, err := l2.Entry(ctx, i); !errors.Is(err, ErrBeyondSize) || e != nil {
			t.Errorf("Entry(%d) beyond the log: %q %v", i, e, err)
		}
	}
	cp2, err := l2.Checkpoint(ctx)
	if err != nil || !bytes.Equal(cp1, cp2) {
		t.Fatalf("checkpoint after reopen: %v\n%s\n%s", err, cp1, cp2)
	}
	l2.Close(ctx)

	bad := testOptions(dir)
	bad.Origin = "other.origin/v1"
	if _, err := Open(ctx, bad); err == nil || !strings.Contains(err.Error(), "cannot change") {
		t.Fatalf("Open with another origin: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, "log.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, testOptions(dir)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open with a world-readable key: %v", err)
	}
}

func TestSignNoteRefusesCheckpoints(t *testing.T) {
	l := openTestLog(t, testOptions(t.TempDir()))
	for _, text := range []string{
		"",
		"no newline",
		l.Origin() + "\n5\nAAAA\n",
		"other.origin\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	} {
		if _, err := l.SignNote(text); err == nil {
			t.Errorf("SignNote(%q) signed", text)
		}
	}
	msg, err := l.SignNote(reading.KeyHeader + "\naction revoke\n")
	if err != nil || !bytes.HasPrefix(msg, []byte(reading.KeyHeader)) {
		t.Fatalf("SignNote: %v", err)
	}
}

// gathered returns the value of a counter or gauge in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
