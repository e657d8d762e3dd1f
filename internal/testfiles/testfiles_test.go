package testfiles

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A file stored gzipped reads the same through Open, ReadFile and Path as
// the decompressed stored bytes; a file stored plain is returned as is.
func TestCompressedAndPlain(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(Dir(t), "networks", "L-TOWN.inp.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(want, []byte("[TITLE]")) {
		t.Fatalf("L-TOWN.inp starts %q", want[:20])
	}
	if got := ReadFile(t, "networks", "L-TOWN.inp"); !bytes.Equal(got, want) {
		t.Errorf("ReadFile: %d bytes, want %d", len(got), len(want))
	}
	p := Path(t, "networks", "L-TOWN.inp")
	if filepath.Base(p) != "L-TOWN.inp" {
		t.Errorf("Path base %q", filepath.Base(p))
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Path copy: %d bytes (%v), want %d", len(got), err, len(want))
	}
	// Asking for the .gz name gives the stored, compressed file.
	if got := ReadFile(t, "networks", "L-TOWN.inp.gz"); !bytes.Equal(got, raw) {
		t.Error("the .gz name did not give the stored bytes")
	}
	plain := filepath.Join(Dir(t), "networks", "Net1.inp")
	if p := Path(t, "networks", "Net1.inp"); p != plain {
		t.Errorf("Path of a plain file = %s, want %s", p, plain)
	}
}

func TestNames(t *testing.T) {
	names := Names(t, "networks")
	for _, want := range []string{"L-TOWN.inp", "Net1.inp", "SOURCES.md"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names(networks) lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".gz") {
			t.Errorf("Names gives stored name %s", n)
		}
	}
}

// fatalTB records the first Fatal and ends its goroutine, as testing does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A missing file fails the test (never a skip), naming the file.
func TestMissingFails(t *testing.T) {
	for name, call := range map[string]func(testing.TB){
		"Open":     func(tb testing.TB) { Open(tb, "networks", "nowhere.inp") },
		"Path":     func(tb testing.TB) { Path(tb, "networks", "nowhere.inp") },
		"ReadFile": func(tb testing.TB) { ReadFile(tb, "networks", "nowhere.inp") },
		"Names":    func(tb testing.TB) { Names(tb, "nowhere") },
	} {
		f := &fatalTB{TB: t}
		var wg sync.WaitGroup
		wg.Go(func() { call(f) })
		wg.Wait()
		if !strings.Contains(f.msg, "nowhere") {
			t.Errorf("%s of a missing file: fatal message %q", name, f.msg)
		}
	}
}
