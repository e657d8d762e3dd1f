// Package testfiles gives tests and benchmarks the reference data kept in the
// repository's top-level testdata directory (networks, EPANET and PHREEQC
// results, leak-detection data sets, protocol samples; provenance in
// testdata/README.md). Large text files are stored gzip-compressed as NAME.gz;
// callers name the uncompressed file and get its content either way.
//
// Every function fails the test when a file is missing: the data are part of
// the checkout, so a missing file is a broken checkout, never a reason to skip.
package testfiles

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Dir returns the repository's testdata directory: testdata beside the
// go.mod found in the test's working directory or above it.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testfiles: no go.mod above the test's directory")
		}
		dir = parent
	}
	td := filepath.Join(dir, "testdata")
	if fi, err := os.Stat(td); err != nil || !fi.IsDir() {
		t.Fatalf("testfiles: no testdata directory at the repository root %s", dir)
	}
	return td
}

// stored returns the path of parts as stored under Dir and whether it is
// stored compressed (as the named path plus ".gz"). A name that itself ends
// in ".gz" is the compressed file, as stored.
func stored(t testing.TB, parts []string) (path string, gz bool) {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, parts...)...)
	if _, err := os.Stat(p); err == nil {
		return p, false
	}
	if _, err := os.Stat(p + ".gz"); err == nil {
		return p + ".gz", true
	}
	t.Fatalf("testfiles: %s missing (neither it nor %s.gz is in the repository)", p, filepath.Base(p))
	return "", false
}

// Open returns the content of the file parts under testdata, decompressed
// when it is stored as parts.gz. It is closed when the test ends.
func Open(t testing.TB, parts ...string) io.Reader {
	t.Helper()
	p, gz := stored(t, parts)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if !gz {
		return f
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("testfiles: %s: %v", p, err)
	}
	return zr
}

// ReadFile returns the whole content of the file parts under testdata.
func ReadFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := io.ReadAll(Open(t, parts...))
	if err != nil {
		t.Fatalf("testfiles: %s: %v", filepath.Join(parts...), err)
	}
	return b
}

// Path returns a path at which the file parts under testdata can be read
// as it is named: the stored file itself, or, when it is stored as
// parts.gz, a decompressed copy with the same base name in a directory
// removed when the test ends. For code under test that takes a file name.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	p, gz := stored(t, parts)
	if !gz {
		return p
	}
	out := filepath.Join(t.TempDir(), parts[len(parts)-1])
	if err := os.WriteFile(out, ReadFile(t, parts...), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Names lists the files of the directory parts under testdata by the names
// Open and Path accept (".gz" of compressed files removed), sorted.
func Names(t testing.TB, parts ...string) []string {
	t.Helper()
	dir := filepath.Join(append([]string{Dir(t)}, parts...)...)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("testfiles: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, strings.TrimSuffix(e.Name(), ".gz"))
		}
	}
	sort.Strings(names)
	return names
}
