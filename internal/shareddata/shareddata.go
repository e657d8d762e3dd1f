// Package shareddata locates the project's shared test data: the directory
// shared/data beside the repository checkout (../shared/data from the
// directory holding go.mod), which developers and CI have and which is never
// copied into the repository.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of parts under the shared data directory. A missing
// file fails the test: CI always has the data, so a skip would hide a
// broken set-up.
func Path(t testing.TB, parts ...string) string {
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
			t.Fatal("shareddata: no go.mod above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test data missing (expected ../shared/data beside the checkout): %v", err)
	}
	return p
}
