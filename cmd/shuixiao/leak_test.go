package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDataDir returns ../shared/data from the repository root.
func leakSharedData(t *testing.T, parts ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test data missing: %v", err)
	}
	return p
}

func TestLeakScoreCommand(t *testing.T) {
	bd := func(parts ...string) string {
		return leakSharedData(t, append([]string{"leak", "battledim"}, parts...)...)
	}
	tests := []struct{ submission, last string }{
		{"PERFECT_TEAM.txt", "TOTAL 523153.82 TP 23 FP 0 FN 0"},
		{"test_team.txt", "TOTAL 523153.82 TP 23 FP 0 FN 0"},
		{"test_team_multiple.txt", "TOTAL 9547.81 TP 1 FP 1 FN 22"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		// Positional argument first, flags after it.
		code := runLeakScore([]string{bd("scoring_fixtures", tc.submission),
			"--inp", leakSharedData(t, "networks", "L-TOWN.inp"),
			"--info", bd("battledim_2019_leak_info.csv"),
			"--outflow", bd("battledim_2019_leak_outflow_m3h.csv.gz")}, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != 0 || lines[len(lines)-1] != tc.last {
			t.Errorf("%s: exit %d, last line %q, want %q (stderr %s)", tc.submission, code, lines[len(lines)-1], tc.last, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := runLeakScore([]string{"missing.txt", "--inp", "x", "--info", "y", "--outflow", "z"}, &out, &errOut); code == 0 {
		t.Error("missing files accepted")
	}
}
