package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// The CSVs have exactly the layout of the EPANET reference dumps: same
// header lines (but the source path), same rows in the same order, same
// IDs and types; values are compared by network's parity tests.
func TestHydraulicsCSVFormat(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "Net1")
	if code := runHydraulics([]string{testfiles.Path(t, "networks", "Net1.inp"), "--out", prefix}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, kind := range []string{"nodes", "links", "steps"} {
		ref := readLines(t, testfiles.Path(t, "epanet-ref", "eps", "Net1_"+kind+".csv"))
		got := readLines(t, prefix+"_"+kind+".csv")
		if len(got) != len(ref) {
			t.Fatalf("%s: %d lines, reference %d", kind, len(got), len(ref))
		}
		for i := range ref {
			r, g := ref[i], got[i]
			if strings.HasPrefix(r, "#") {
				cut := func(s string) string { return s[strings.Index(s, " flow_units="):] }
				if cut(r) != cut(g) {
					t.Errorf("%s header:\n got %s\nwant %s", kind, g, r)
				}
				continue
			}
			rf, gf := strings.Split(r, ","), strings.Split(g, ",")
			const keys = 3 // t_s, ID, type (steps: t_s, step length, trials)
			if len(rf) != len(gf) || strings.Join(rf[:keys], ",") != strings.Join(gf[:keys], ",") {
				t.Fatalf("%s line %d:\n got %s\nwant %s", kind, i+1, g, r)
			}
		}
	}
}

func TestHydraulicsUsage(t *testing.T) {
	if code := runHydraulics(nil); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if code := runHydraulics([]string{"missing.inp", "--out", filepath.Join(t.TempDir(), "x")}); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}

// An unbalanced run under UNBALANCED STOP writes what was computed and
// exits non-zero; the halted step has no length, as in EPANET's dumps.
func TestHydraulicsHalt(t *testing.T) {
	b := testfiles.ReadFile(t, "networks", "Net1.inp")
	inp := strings.Replace(string(b), " Trials             \t40", " Trials 2", 1)
	inp = strings.Replace(inp, " Unbalanced         \tContinue 10", " Unbalanced Stop", 1)
	if inp == string(b) {
		t.Fatal("Net1 options not found")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "halt.inp")
	if err := os.WriteFile(path, []byte(inp), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runHydraulics([]string{path, "--out", filepath.Join(dir, "h")}); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	steps := readLines(t, filepath.Join(dir, "h_steps.csv"))
	if len(steps) != 2 || !strings.HasPrefix(steps[1], "0,0,3,") {
		t.Fatalf("steps %q, want one halted step at 0 s with 3 trials", steps)
	}
}
